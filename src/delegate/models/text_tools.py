"""Native tool calling for models that can only write text (``tool_protocol: text``).

``TextToolModel`` wraps such a model and speaks the OpenAI tool-calling interface to strategies:
it takes ``tools`` and ``tool_choice``, teaches the text format of ``tool_format`` in the system
prompt, renders earlier tool calls and ``tool`` results as text, forces a call with a prefix when
``tool_choice`` demands one, and parses the reply back into ``tool_calls``. Strategies never branch
on the protocol.
"""

from __future__ import annotations

from typing import Any

from delegate.errors import ConfigError
from delegate.models import tool_format
from delegate.models.base import ChatModel, Completion, Message, ModelWrapper, TokenCounter


def _forced_tool(
    tools: list[dict[str, Any]], tool_choice: str | dict[str, Any] | None
) -> tuple[str, str] | None:
    """(tool name, its first required argument) when ``tool_choice`` forces a call, else None."""
    if tool_choice in (None, "auto", "none"):
        return None
    if isinstance(tool_choice, dict):
        name = tool_choice.get("function", {}).get("name")
        matches = [t for t in tools if t["function"]["name"] == name]
    else:  # "required": the format can force one tool only
        matches = tools[:1]
    if not matches:
        raise ConfigError(f"tool_choice names a tool that is not offered: {tool_choice!r}")
    function = matches[0]["function"]
    required = function.get("parameters", {}).get("required") or [""]
    return function["name"], required[0]


def _as_text(messages: list[Message], tools: list[dict[str, Any]] | None) -> list[Message]:
    """The conversation as a text-only model sees it: tool descriptions in the system prompt,
    calls as ``<tool_call>`` blocks, results as one user turn of ``<tool_result>`` blocks, and
    the protocol's tags quoted in every text inserted into it (``tool_format.quote``)."""
    out: list[Message] = []
    for m in messages:
        role = m["role"]
        if role == "system" and tools:
            content = f"{m['content'].rstrip()}\n\n{tool_format.describe_tools(tools)}"
            out.append({"role": "system", "content": content})
        elif role == "assistant" and m.get("tool_calls"):
            blocks = [tool_format.format_call(c["function"]) for c in m["tool_calls"]]
            prose = tool_format.quote(m["content"] or "")
            out.append({"role": "assistant", "content": "\n".join([prose, *blocks])})
        elif role == "tool":
            result = tool_format.format_result(str(m["content"]))
            if out and out[-1].get("tool_results"):  # results of one turn share one user turn
                out[-1]["content"] += "\n" + result
            else:
                out.append({"role": "user", "content": result, "tool_results": True})
        elif role in ("user", "assistant") and isinstance(m.get("content"), str):
            out.append({**m, "content": tool_format.quote(m["content"])})  # a question, a reply
        else:
            out.append(m)
    return [{k: v for k, v in m.items() if k != "tool_results"} for m in out]


def check_can_force_tool_call(model: ChatModel, where: str, protocol: str) -> None:
    """Raise ConfigError before any work when ``model`` (of config section ``where``, speaking
    tool protocol ``protocol``) cannot be made to call a tool."""
    if model.forces_tool_calls():
        return
    if protocol == "text":
        raise ConfigError(
            "a forced tool call in the text format needs a backend that continues an "
            f"assistant prefix; use tool_protocol=native <{where}.tool_protocol>"
        )
    raise ConfigError(
        f"{where}'s backend cannot force a tool call natively; use tool_protocol=text "
        f"<{where}.tool_protocol>"
    )


class TextToolModel(ModelWrapper):
    """Wraps a text-only model so that it takes and returns tool calls like a native one."""

    def __init__(self, inner: ChatModel, where: str) -> None:
        super().__init__(inner)
        self.where = where

    def forces_tool_calls(self) -> bool:
        return self.inner.continues_prefix()  # a forced call is a forced prefix here

    def prompt_token_counter(self) -> TokenCounter | None:
        """The wrapped model's counter, on the conversation as this wrapper sends it."""
        counter = self.inner.prompt_token_counter()
        if counter is None:
            return None
        inner = counter.count

        def count(
            messages: list[Message], tools: list[dict[str, Any]] | None, prefix: str | None
        ) -> int:
            return inner(_as_text(messages, tools) if tools else messages, None, prefix)

        return TokenCounter(count, counter.how)

    async def complete(self, messages: list[Message], **options: Any) -> Completion:
        request = self.request(messages, options)
        tools = request["tools"]
        if not tools:
            return await self.inner.complete(messages, **options)
        text_messages = _as_text(messages, tools)
        sampling = {k: options[k] for k in ("temperature", "seed") if k in options}
        forced = _forced_tool(tools, request["tool_choice"])
        if forced is not None:
            name, argument = forced
            prefix = tool_format.forced_prefix(name, argument)
            reply = await self.inner.complete(
                text_messages, stop=tool_format.FORCED_STOP, assistant_prefix=prefix, **sampling
            )
            raw = tool_format.close_forced(reply.text, name, argument)
        else:
            stop = tool_format.STOP + list(request["stop"] or [])
            reply = await self.inner.complete(
                text_messages, stop=stop, assistant_prefix=request["assistant_prefix"], **sampling
            )
            raw = reply.text
        prose, calls = tool_format.parse_tool_calls(raw)
        return Completion(
            text=prose,
            usage=reply.usage,
            latency_s=reply.latency_s,
            tool_calls=calls,
            finish_reason=tool_format.finish_reason(reply.finish_reason, calls),
            cache_hit=reply.cache_hit,
        )
