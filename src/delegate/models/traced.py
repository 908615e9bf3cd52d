"""A span per model call (see ``delegate.tracing``): what was sent, what came back, what it cost.

The span's inputs are a copy of the messages taken when the call is made: a strategy goes on
appending to the list it passed (the router adds the tool call and its result), and the span is
written later, so a live reference would show a turn messages it never saw.
"""

from __future__ import annotations

from typing import Any

from delegate import tracing
from delegate.models.base import ChatModel, Completion, Message, ModelWrapper


def sent(messages: list[Message]) -> list[Message]:
    """The messages as they are at call time: a copy of the list and of each message."""
    return [dict(m) for m in messages]


class TracedChatModel(ModelWrapper):
    """Wraps a model so each call is a CHAT_MODEL span named after its role and model."""

    def __init__(self, inner: ChatModel, role: str) -> None:
        super().__init__(inner)
        self.role = role

    def _span_name(self, options: dict[str, Any]) -> str:
        """``<role>: <model>``, and for a sampled call its number in the problem and its
        temperature: a cascade's samples share their messages, and only this tells them apart."""
        name = f"{self.role}: {self.name}"
        temperature = options.get("temperature")
        if temperature is None:
            return name
        return f"{name} [sample {tracing.call_number(self.role)}, temperature {temperature:g}]"

    async def complete(self, messages: list[Message], **options: Any) -> Completion:
        inputs = self.request(sent(messages), options)
        inputs["tools"] = [t["function"]["name"] for t in inputs["tools"] or []]
        with tracing.span(self._span_name(options), "CHAT_MODEL", inputs) as span:
            completion = await self.inner.complete(messages, **options)
            span.set_outputs(
                {
                    "text": completion.text,
                    "tool_calls": [
                        {"name": c.name, "arguments": c.arguments} for c in completion.tool_calls
                    ],
                }
            )
            span.set_attributes(
                {
                    "input_tokens": completion.usage.input_tokens,
                    "cached_input_tokens": completion.usage.cached_input_tokens,
                    "output_tokens": completion.usage.output_tokens,
                    "latency_s": completion.latency_s,
                    "cache_hit": completion.cache_hit,
                    "model": self.name,
                    "role": self.role,  # priced by the problem loop (``tracing.model_calls``)
                }
            )
            return completion
