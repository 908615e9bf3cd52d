"""A scripted chat model: replays prepared completions, for control-flow tests of the router."""

from __future__ import annotations

from typing import Any

from delegate.accounting import Usage
from delegate.models import Completion, ToolCall


def reply(text: str = "", *calls: tuple[str, str], tokens: tuple[int, int] = (10, 5)) -> Completion:
    """A completion with ``text`` and tool calls given as (name, raw JSON arguments)."""
    return Completion(
        text=text,
        usage=Usage(input_tokens=tokens[0], output_tokens=tokens[1], calls=1),
        latency_s=0.01,
        tool_calls=tuple(ToolCall(f"call_{i}", n, a) for i, (n, a) in enumerate(calls)),
    )


class ScriptedModel:
    """Returns (or raises) the next scripted item per call and records what it was sent."""

    def __init__(
        self,
        *script: Completion | Exception,
        name: str = "scripted",
        identity: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.script = list(script)
        self.calls: list[dict[str, Any]] = []
        self._identity = identity or {"backend": "scripted", "model": name}

    def identity(self) -> dict[str, Any]:
        return dict(self._identity)

    async def prepare(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def continues_prefix(self) -> bool:
        return True

    def forces_tool_calls(self) -> bool:
        return True

    def prompt_token_counter(self) -> None:
        return None

    async def complete(self, messages: list[dict[str, Any]], **options: Any) -> Completion:
        self.calls.append({"messages": [dict(m) for m in messages], **options})
        if not self.script:
            raise AssertionError("the scripted model ran out of replies")
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


class ScriptedProvider:
    """A ``ModelProvider`` over scripted models, for building strategies with their real
    builders; records which roles were built."""

    def __init__(
        self, llm: ScriptedModel | None = None, slm: ScriptedModel | None = None, seed: int = 123
    ) -> None:
        self._models = {"llm": llm or ScriptedModel(name="llm"), "slm": slm or ScriptedModel()}
        self.seed = seed
        self.built: set[str] = set()

    def llm(self) -> Any:
        self.built.add("llm")
        return self._models["llm"]

    def slm(self) -> Any:
        self.built.add("slm")
        return self._models["slm"]

    def check_can_force_tool_call(self, role: str) -> None:
        return None
