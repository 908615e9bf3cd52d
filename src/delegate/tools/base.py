"""What a tool is to the router: a schema the large model sees, a sentence for its system prompt,
and a coroutine that runs one call; plus the record every call leaves and the registry of tools.

The router offers the tools named in ``router.tools`` and dispatches calls by the name the model
wrote; it never branches on which tool it is. A tool records its own call (``ToolCallRecord``) and
adds any model completion it spent to the problem's trace.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from delegate.accounting import Usage
from delegate.registry import Registry

if TYPE_CHECKING:  # the strategies import this module; these are for annotations only
    from delegate.models import ToolCall
    from delegate.prompts import PromptSet
    from delegate.strategies.base import ModelProvider, Trace


@dataclass(frozen=True)
class ToolCallRecord:
    """One tool call: what the large model asked, what came back, and what it cost.

    ``tool`` is the registry name of the tool that handled the call (None when no offered tool
    has the name the model wrote), ``question`` the call's input (a question for the small model,
    an expression for the calculator), ``answer`` the tool's answer, ``result`` the text that went
    back to the large model. ``slm_text`` and ``slm_usage`` are the small model's reply and tokens.
    """

    name: str
    arguments: str
    question: str | None
    answer: str | None
    slm_text: str | None
    slm_usage: Usage
    latency_s: float
    error: str | None = None
    tool: str | None = None
    result: str | None = None

    @classmethod
    def of(
        cls,
        call: ToolCall,
        tool: str,
        question: str,
        answer: str | None,
        result: str,
        latency_s: float,
        slm_text: str | None = None,
        slm_usage: Usage | None = None,
        error: str | None = None,
    ) -> ToolCallRecord:
        """The record of a call that a tool handled and answered (``error``: why the answer is
        not usable, when it is not)."""
        usage = slm_usage or Usage()
        return cls(
            call.name,
            call.arguments,
            question,
            answer,
            slm_text,
            usage,
            latency_s,
            error,
            tool,
            result,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tool": self.tool,
            "arguments": self.arguments,
            "question": self.question,
            "answer": self.answer,
            "result": self.result,
            "slm_text": self.slm_text,
            "slm_input_tokens": self.slm_usage.input_tokens,
            "slm_output_tokens": self.slm_usage.output_tokens,
            "latency_s": round(self.latency_s, 4),
            "error": self.error,
        }


class Tool(Protocol):
    """A tool the large model may call."""

    kind: str  # its registry name, as ``router.tools`` lists it
    name: str  # the function name the large model calls

    def schema(self) -> dict[str, Any]:
        """The tool as an OpenAI function schema."""
        ...

    def guidance(self) -> str:
        """The sentence of the router's system prompt that says when to use the tool."""
        ...

    async def run(self, call: ToolCall, trace: Trace) -> tuple[str, ToolCallRecord]:
        """Run one call addressed to this tool: the text for the large model, and the record."""
        ...


@dataclass(frozen=True)
class ToolContext:
    """What a tool may be built from: the models (built on demand), the prompt set, the router's
    settings."""

    models: ModelProvider
    prompts: PromptSet
    settings: Any


ToolFactory = Callable[[ToolContext], Tool]
# Each tool's module is imported when a run first offers it; none of them imports this registry.
TOOLS: Registry[ToolFactory] = Registry(
    "tool",
    "router.tools",
    lazy={
        "small_model": "delegate.tools.small_model:build",
        "calculator": "delegate.tools.calculator_tool:build",
    },
)


class BadArguments(ValueError):
    """A call's arguments are not what the tool takes; the message is meant for the model."""


def read_argument(arguments: str, key: str) -> str:
    """The non-empty string argument ``key`` of a call's raw JSON arguments."""
    try:
        args = json.loads(arguments)
    except json.JSONDecodeError as e:
        raise BadArguments(f"malformed tool arguments (not JSON: {e.msg})") from None
    value = args.get(key) if isinstance(args, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise BadArguments(f"malformed tool arguments: a non-empty {key!r} string is required")
    return value


def failed(
    call: ToolCall,
    kind: str | None,
    error: str,
    question: str | None = None,
    latency_s: float = 0.0,
) -> tuple[str, ToolCallRecord]:
    """A call that produced no answer: the error goes back to the large model and is recorded."""
    result = f"Error: {error}"
    record = ToolCallRecord(
        call.name, call.arguments, question, None, None, Usage(), latency_s, error, kind, result
    )
    return result, record
