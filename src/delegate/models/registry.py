"""The backend registry: each ``llm.backend`` / ``slm.backend`` name and the class it names.

The backend modules are imported when a config first names them (and each imports its SDK only
when it is used), so an API-only run loads neither torch nor llama.cpp, and no backend module
imports this one.
"""

from __future__ import annotations

from typing import Any

from delegate.registry import Registry

BACKENDS: Registry[Any] = Registry(
    "model backend",
    "llm.backend / slm.backend",
    lazy={
        "openai": "delegate.models.openai_chat:OpenAIChatModel",
        "transformers": "delegate.models.transformers_chat:TransformersChatModel",
        "llama_cpp": "delegate.models.llama_cpp_chat:LlamaCppChatModel",
    },
)
