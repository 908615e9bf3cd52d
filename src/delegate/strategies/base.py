"""The strategy protocol, and the trace a strategy fills in while it solves a problem.

The trace is mutable and owned by the runner, so the tokens and tool calls of a problem that fails
half-way are still counted: money spent on a failed problem is money spent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from delegate.accounting import Usage
from delegate.data import Problem
from delegate.models import ChatModel, Completion
from delegate.prompts import PromptSet
from delegate.registry import Registry
from delegate.tools.base import ToolCallRecord

__all__ = ["STRATEGIES", "ModelProvider", "Role", "Strategy", "StrategySpec", "ToolCallRecord"]

Role = Literal["llm", "slm"]


@dataclass
class Trace:
    """What happened while solving one problem, filled in as it happens."""

    llm_usage: Usage = field(default_factory=Usage)
    slm_usage: Usage = field(default_factory=Usage)
    # What this run paid for: usage minus completions replayed from the response cache.
    llm_billed: Usage = field(default_factory=Usage)
    slm_billed: Usage = field(default_factory=Usage)
    cache_hits: int = 0
    replayed_latency_s: float = 0.0  # the original latency of completions replayed from cache
    llm_latency_s: float = 0.0
    slm_latency_s: float = 0.0
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    finish_reasons: list[str] = field(default_factory=list)  # "<role>:<reason>", call by call
    truncated: bool = False  # the final answer was cut off by max_tokens
    # The cascade's small-model verdict: each sample's extracted answer, the majority's share,
    # and whether the problem went to the large model. None/False for other strategies.
    slm_answers: list[str | None] | None = None
    slm_answer: str | None = None
    confidence: float | None = None
    escalated: bool = False

    def add(self, role: Role, completion: Completion) -> None:
        self.finish_reasons.append(f"{role}:{completion.finish_reason or 'unknown'}")
        billed = Usage() if completion.cache_hit else completion.usage
        if completion.cache_hit:
            self.cache_hits += 1
            self.replayed_latency_s += completion.latency_s
        if role == "llm":
            self.llm_usage += completion.usage
            self.llm_billed += billed
            self.llm_latency_s += completion.latency_s
        else:
            self.slm_usage += completion.usage
            self.slm_billed += billed
            self.slm_latency_s += completion.latency_s

    def answer(self, completion: Completion) -> str:
        """Mark ``completion`` as the one holding the final answer; return its text."""
        self.truncated = completion.finish_reason == "length"
        return completion.text


class Strategy(Protocol):
    """Answers one problem; returns the final text to grade."""

    name: str

    async def solve(self, problem: Problem, trace: Trace) -> str: ...


class ModelProvider(Protocol):
    """Builds the configured models on demand, so a strategy builds only what it uses."""

    def llm(self) -> ChatModel: ...

    def slm(self) -> ChatModel: ...

    @property
    def seed(self) -> int:
        """The run's seed (``seed``), from which sampled calls derive their own."""
        ...

    def check_can_force_tool_call(self, role: Role) -> None:
        """Raise ConfigError if ``role``'s model cannot be made to call a tool."""


@dataclass(frozen=True)
class StrategySpec:
    """A strategy's builder and what of the config it reads, which is what its runs'
    configuration identity (``delegate.identity``) covers.

    ``settings`` is the typed form of the strategy's own config section (the top-level key named
    after the strategy, such as ``router:``), or None when it has no settings; ``build`` gets the
    bound settings object.
    """

    build: Callable[[ModelProvider, PromptSet, Any], Strategy]
    roles: tuple[Role, ...]
    prompt_fields: tuple[str, ...]
    settings: type | None = None
    tool_roles: tuple[Role, ...] = ()  # roles offered tools: their tool protocol matters
    # Whether each call stands alone (no call waits on another's answer), so a Batch API can
    # serve the run's calls together (``<role>.batch=true``).
    batchable: bool = True


STRATEGIES: Registry[StrategySpec] = Registry("strategy", "strategy.name")
