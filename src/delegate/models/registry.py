"""The backend registry; importing a backend module registers it without importing its SDK."""

from __future__ import annotations

from typing import Any

from delegate.registry import Registry

BACKENDS: Registry[Any] = Registry("model backend", "llm.backend / slm.backend")


def _register_builtin() -> None:
    # Imported here so that the registry module itself has no dependencies; these modules are
    # cheap: they import openai / torch inside their methods.
    from delegate.models import llama_cpp_chat, openai_chat, transformers_chat  # noqa: F401


_register_builtin()
