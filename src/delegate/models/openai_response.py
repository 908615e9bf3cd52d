"""An OpenAI-compatible chat response read into a ``Completion``, or the reason it cannot be.

Servers differ from the API they imitate, so nothing in a body is trusted: a 200 that carries an
``error`` object, a body without choices or usage, and impossible token counts fail the call
(``ModelResponseError``, see ``usage_check``). Tool calls are read leniently but never dropped: a
call whose ``arguments`` is a JSON object (not the JSON text the API specifies) is taken as that
object's JSON text, which is what it means; a call with any other arguments (an array, a number,
null), with no readable name or that is not an object at all is kept with what could be read, so
the router records it as a malformed call instead of failing the problem.
"""

from __future__ import annotations

import json
from typing import Any

from delegate.models.base import Completion, ToolCall
from delegate.models.call_error import ModelResponseError
from delegate.models.usage_check import reported_usage


def to_completion(response: Any, latency: float) -> Completion:
    """The completion in ``response`` (the SDK's object), or ModelResponseError."""
    if isinstance(response, str | bytes):  # the SDK hands back a body that is not JSON as text
        raise ModelResponseError(f"the endpoint answered with {_describe_text(response)}")
    error = getattr(response, "error", None)
    if error is not None:  # some servers answer 200 with an error object instead of a completion
        message = error.get("message") if isinstance(error, dict) else None
        raise ModelResponseError(f"the endpoint answered with an error: {message or error}")
    usage = getattr(response, "usage", None)
    if usage is None:
        raise ModelResponseError("the endpoint reported no token usage; tokens cannot be counted")
    if not getattr(response, "choices", None):
        raise ModelResponseError("the completion has no choices")
    details = getattr(usage, "prompt_tokens_details", None)
    counts = reported_usage(
        _reported(usage, "prompt_tokens"),
        _reported(usage, "completion_tokens"),
        _reported(details, "cached_tokens", required=False),
    )
    choice = response.choices[0]
    message = choice.message
    return Completion(
        text=message.content or "",
        usage=counts,
        latency_s=latency,
        tool_calls=tool_calls(message.tool_calls),
        finish_reason=choice.finish_reason,
    )


def _describe_text(body: str | bytes) -> str:
    """What a body that is not a JSON completion looks like, for the error."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    start = text.lstrip()[:200]
    if start.startswith(("data:", "event:")):
        kind = "a server-sent event stream (streaming), not a JSON chat completion"
    elif start.startswith("<"):
        kind = "an HTML or XML page, not a JSON chat completion (a proxy or login page?)"
    else:
        kind = "text that is not a JSON chat completion"
    return f"{kind}: {start[:120]!r}"


def _reported(usage: Any, field: str, required: bool = True) -> Any:
    value = _get(usage, field)
    if value is None:
        if required:
            raise ModelResponseError(f"the endpoint's token usage has no {field}")
        return 0
    return value


def _get(obj: Any, key: str) -> Any:
    """``obj``'s field ``key``: an SDK object's attribute or, where the SDK left a body part it
    could not type as a plain dict, its key."""
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def tool_calls(raw: Any) -> tuple[ToolCall, ...]:
    """The message's ``tool_calls``, each read as well as it can be (see the module's doc)."""
    if not raw:
        return ()
    if not isinstance(raw, list):  # one malformed entry rather than its keys or characters
        raw = [raw]
    return tuple(_tool_call(i, c) for i, c in enumerate(raw))


def _tool_call(index: int, raw: Any) -> ToolCall:
    call_id = _get(raw, "id") if not isinstance(raw, str) else None
    if not isinstance(call_id, str) or not call_id:
        call_id = f"call_{index}"
    function = None if isinstance(raw, str) else _get(raw, "function")
    if function is None or isinstance(function, str | int | float | list):
        return ToolCall(call_id, "", _as_text(raw))  # no function to read a name from
    name = _get(function, "name")
    return ToolCall(
        call_id, name if isinstance(name, str) else "", _arguments(_get(function, "arguments"))
    )


def _arguments(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""  # read as "not JSON" by the tool
    return json.dumps(value, ensure_ascii=False)  # an object is accepted; anything else is not


def _as_text(raw: Any) -> str:
    if hasattr(raw, "model_dump"):
        raw = raw.model_dump()
    return json.dumps(raw, ensure_ascii=False, default=str)
