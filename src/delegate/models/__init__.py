"""Chat models: one protocol (``base.ChatModel``) and one module per backend.

Backends are registered by the name used in ``llm.backend`` / ``slm.backend``. Their vendor SDKs
(openai, torch, transformers) are imported on first use, so an API-only run never loads torch.
"""

from delegate.models.base import ChatModel, Completion, Message, ToolCall
from delegate.models.registry import BACKENDS

__all__ = ["BACKENDS", "ChatModel", "Completion", "Message", "ToolCall"]
