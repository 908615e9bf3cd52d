"""Chat models: one protocol (``base.ChatModel``) and one module per backend.

Backends are registered by the name used in ``llm.backend`` / ``slm.backend`` (``registry``); a
backend's module is imported when a config first names it, and its vendor SDK (openai, torch,
transformers, llama.cpp) when it is first used, so an API-only run never loads torch.
"""

from delegate.models.base import ChatModel, Completion, Message, ToolCall
from delegate.models.registry import BACKENDS

__all__ = ["BACKENDS", "ChatModel", "Completion", "Message", "ToolCall"]
