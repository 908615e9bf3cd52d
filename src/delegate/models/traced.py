"""A span per model call (see ``delegate.tracing``): what was sent, what came back, what it cost."""

from __future__ import annotations

from typing import Any

from delegate import tracing
from delegate.models.base import ChatModel, Completion, Message, ModelWrapper


class TracedChatModel(ModelWrapper):
    """Wraps a model so each call is a CHAT_MODEL span named after its role and model."""

    def __init__(self, inner: ChatModel, role: str) -> None:
        super().__init__(inner)
        self.role = role

    async def complete(self, messages: list[Message], **options: Any) -> Completion:
        inputs = self.request(messages, options)
        inputs["tools"] = [t["function"]["name"] for t in inputs["tools"] or []]
        with tracing.span(f"{self.role}: {self.name}", "CHAT_MODEL", inputs) as span:
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
                }
            )
            return completion
