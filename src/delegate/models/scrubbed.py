"""Answers scrubbed of secrets as they leave the backend, before anything stores or forwards them.

A model can quote a key in an ordinary reply (an endpoint that echoes its ``Authorization``
header into the completion, a prompt that holds one). This wrapper sits directly on the backend,
so the budget, the response cache, the traces, the records and the large model that reads a tool
result all see the reply with registered secrets masked and URLs' ``user:pass@`` removed
(``delegate.secrets.scrub``), as error texts already are.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from delegate.models.base import Completion, Message, ModelWrapper
from delegate.secrets import scrub


class ScrubbedChatModel(ModelWrapper):
    """The wrapped model, its completions' text and tool-call arguments scrubbed."""

    async def complete(self, messages: list[Message], **options: Any) -> Completion:
        completion = await self.inner.complete(messages, **options)
        calls = tuple(replace(c, arguments=scrub(c.arguments)) for c in completion.tool_calls)
        return replace(completion, text=scrub(completion.text), tool_calls=calls)
