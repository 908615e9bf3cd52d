"""What token usage one model call can report: the one check every backend's usage passes.

A count a model reports becomes a cost, a budget's spend and, through the response cache, the
same cost again on every replay. So a call whose usage no real call could have fails as that call
(``ModelResponseError``): it is not cached, not billed and not counted. Impossible means a count
that is not a non-negative integer, more cached than prompt tokens, more output tokens than the
request's ``max_tokens``, or more prompt tokens than ``prompt_tokens_bound`` (the prompt's UTF-8
bytes plus the chat template's tokens, which no byte-level tokenizer exceeds; the same bound the
budget reserves, so a call that passes this check never bills more than it reserved).

Backends build their ``Usage`` with ``reported_usage`` (the checks that need no request);
``BudgetedChatModel``, which wraps every backend a run builds, runs ``check_usage`` (all of them)
on every completion before it is billed or cached.
"""

from __future__ import annotations

import json
from typing import Any

from delegate.accounting import Usage
from delegate.models.base import Message
from delegate.models.call_error import ModelResponseError

# Tokens a chat template adds around each message (role markers, separators), and around the
# whole prompt, beyond the text itself: generous for every template in use.
TEMPLATE_TOKENS_PER_MESSAGE = 16
TEMPLATE_TOKENS_PER_PROMPT = 16


def prompt_tokens_bound(
    messages: list[Message], tools: list[dict[str, Any]] | None, prefix: str | None = None
) -> int:
    """An upper bound on the prompt's tokens: its UTF-8 bytes as JSON (a byte-level tokenizer
    never makes more tokens than bytes, and the JSON keys and quotes only add), plus the
    template's tokens around each message, plus a forced assistant prefix's bytes."""
    text = json.dumps(messages, ensure_ascii=False) + json.dumps(tools or [], ensure_ascii=False)
    return (
        len(text.encode())
        + len((prefix or "").encode())
        + TEMPLATE_TOKENS_PER_MESSAGE * len(messages)
        + TEMPLATE_TOKENS_PER_PROMPT
    )


def _impossible(what: str) -> ModelResponseError:
    return ModelResponseError(f"the model reported impossible usage: {what}")


def _count(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _impossible(f"{field}={value!r}")
    return value


def reported_usage(prompt: Any, completion: Any, cached: Any = 0) -> Usage:
    """One call's ``Usage`` from the counts its engine reported (OpenAI's names in errors:
    ``prompt_tokens``, ``completion_tokens``, ``cached_tokens``), or ModelResponseError."""
    usage = Usage(
        input_tokens=_count("prompt_tokens", prompt),
        cached_input_tokens=_count("cached_tokens", cached),
        output_tokens=_count("completion_tokens", completion),
        calls=1,
    )
    if usage.cached_input_tokens > usage.input_tokens:
        raise _impossible(f"cached_tokens={cached} > prompt_tokens={prompt}")
    return usage


def check_usage(usage: Usage, prompt_bound: int, max_tokens: int | None, where: str) -> None:
    """Raise ModelResponseError unless ``usage`` is possible for a request whose prompt has at
    most ``prompt_bound`` tokens and whose output at most ``max_tokens`` (None: unbounded),
    sent by config section ``where``."""
    reported_usage(usage.input_tokens, usage.output_tokens, usage.cached_input_tokens)
    if usage.input_tokens > prompt_bound:
        raise _impossible(
            f"prompt_tokens={usage.input_tokens} for a prompt of at most {prompt_bound} tokens"
        )
    if max_tokens is not None and usage.output_tokens > max_tokens:
        raise _impossible(
            f"completion_tokens={usage.output_tokens} > max_tokens={max_tokens} "
            f"<{where}.max_tokens>"
        )
