"""``router``: the large model answers, and may call tools: the small model, a calculator.

The loop: the large model gets the problem and the tools named in ``router.tools`` (see
``delegate.tools``). Each tool call is dispatched by the name the model wrote to the tool that
owns it; the result goes back to the large model, which may call again (at most
``router.max_tool_calls`` times in all; after that the tools are withdrawn) and finally answers.

The router speaks native tool calling only; a model configured with ``tool_protocol: text`` is
wrapped by the model layer (``models.text_tools``) so that it looks the same. A malformed call, an
unknown tool or a failing small model is recorded on the tool call and reported back to the large
model; with ``router.on_tool_error=fail`` a failing small model fails the problem instead. The
router never quietly becomes another strategy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from delegate import tracing
from delegate.accounting import Usage
from delegate.config.fields import bounds
from delegate.data import Problem
from delegate.errors import ConfigError
from delegate.models import ChatModel, Message, ToolCall
from delegate.prompts import PromptSet
from delegate.strategies.base import (
    STRATEGIES,
    ModelProvider,
    StrategySpec,
    ToolCallRecord,
    Trace,
)
from delegate.tools import TOOLS, Tool, ToolContext
from delegate.tools.base import failed
from delegate.tools.small_model import ANSWER_TYPE, ToolError

__all__ = ["RouterSettings", "RouterStrategy", "ToolError"]


@dataclass(frozen=True)
class RouterSettings:
    """The ``router:`` config section; its defaults are written in ``conf/config.yaml``. Types,
    choices and ranges are checked from these annotations when the section is read
    (``delegate.config.fields``); ``__post_init__`` checks what they cannot say."""

    # tool calls per problem, all tools together; then they are withdrawn
    max_tool_calls: int = field(metadata=bounds(0))
    # auto: the large model decides | required: must call a tool on turn 1
    tool_choice: Literal["auto", "required"] = "auto"
    # boxed: the small model's answer as the problem's grader reads it (its \boxed{} answer; a
    # code problem's program) | full: its whole reply
    tool_result: Literal["boxed", "full"] = "boxed"
    # report: tell the large model and go on | fail: the problem fails
    on_tool_error: Literal["report", "fail"] = "report"
    tools: tuple[str, ...] = ("small_model",)  # the tools offered, by registry name

    def __post_init__(self) -> None:
        tools = self.tools
        if isinstance(tools, str) or not all(isinstance(t, str) for t in tools or ()):
            raise ConfigError(
                f"router.tools must be a list of tool names, got {tools!r} <router.tools>"
            )
        if not tools:
            raise ConfigError(
                f"router.tools is empty: offer at least one of {', '.join(TOOLS.names())} "
                "(strategy=llm is the large model without tools) <router.tools>"
            )
        if len(set(tools)) < len(tools):
            raise ConfigError(f"router.tools names a tool twice: {list(tools)} <router.tools>")
        for name in tools:
            TOOLS.get(name)  # an unknown name fails here, listing the known ones
        object.__setattr__(self, "tools", tuple(tools))  # a list from YAML, a tuple from here on


class RouterStrategy:
    name = "router"

    def __init__(
        self, llm: ChatModel, tools: list[Tool], prompts: PromptSet, cap: int, tool_choice: str
    ) -> None:
        self.llm, self.prompts, self.cap, self.tool_choice = llm, prompts, cap, tool_choice
        self.tools = {tool.name: tool for tool in tools}
        if len(self.tools) < len(tools):
            raise ConfigError(
                "two offered tools share one name; give them different names in the prompt set "
                "<prompt.tool_name>"
            )
        self.schemas = [tool.schema() for tool in tools]
        self.system = prompts.router_system_for(tool.guidance() for tool in tools)

    def _forced(self) -> Any:
        """The first turn's tool_choice with ``router.tool_choice=required``: the one tool by
        name, or any of several."""
        if len(self.tools) == 1:
            return {"type": "function", "function": {"name": next(iter(self.tools))}}
        return "required"

    async def solve(self, problem: Problem, trace: Trace) -> str:
        ANSWER_TYPE.set(problem.answer_type)  # how the small model's answers are read
        cap = self.cap
        messages = self.prompts.messages(self.system, self.prompts.user, problem.question)
        calls_made, turn = 0, 0
        while True:
            can_call = calls_made < cap
            tool_choice: Any = "auto" if can_call else "none"
            if turn == 0 and can_call and self.tool_choice == "required":
                tool_choice = self._forced()
            completion = await self.llm.complete(
                messages, tools=self.schemas, tool_choice=tool_choice
            )
            trace.add("llm", completion)
            turn += 1
            if not completion.tool_calls:
                return trace.answer(completion)
            if not can_call:
                trace.notes.append(f"tool call after the cap of {cap} ignored; its text is final")
                return trace.answer(completion)
            messages.append(_assistant_message(completion.text, completion.tool_calls))
            for call in completion.tool_calls:
                if calls_made >= cap:
                    error = f"tool call cap of {cap} reached"
                    tool = self.tools.get(call.name)
                    record = ToolCallRecord(
                        call.name,
                        call.arguments,
                        None,
                        None,
                        None,
                        Usage(),
                        0.0,
                        error,
                        tool.kind if tool else None,
                        f"Error: {error}; answer without the tool.",
                    )
                    result = record.result or ""
                else:
                    result, record = await self._call_tool(call, trace)
                calls_made += 1
                trace.tool_calls.append(record)
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})

    async def _call_tool(self, call: ToolCall, trace: Trace) -> tuple[str, ToolCallRecord]:
        inputs = {"name": call.name, "arguments": call.arguments}
        with tracing.span(f"tool: {call.name or '?'}", "TOOL", inputs) as span:
            try:
                result, record = await self._run_tool(call, trace)
            except ToolError:  # on_tool_error=fail: the failed call is already on the trace
                record = trace.tool_calls[-1]
                span.set_attributes(
                    {"error": record.error or "", "question": record.question or ""}
                )
                raise
            span.set_outputs({"returned": result, "slm_text": record.slm_text})
            span.set_attributes({"error": record.error or "", "question": record.question or ""})
            return result, record

    async def _run_tool(self, call: ToolCall, trace: Trace) -> tuple[str, ToolCallRecord]:
        if not call.name:
            return failed(call, None, "malformed tool call: no tool name could be read from it")
        tool = self.tools.get(call.name)
        if tool is None:
            offered = ", ".join(repr(name) for name in self.tools)
            return failed(call, None, f"unknown tool {call.name!r}; the tools are {offered}")
        return await tool.run(call, trace)


def _assistant_message(text: str, calls: tuple[ToolCall, ...]) -> Message:
    return {
        "role": "assistant",
        "content": text,  # "" rather than null: some servers reject null
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in calls
        ],
    }


def _build(models: ModelProvider, prompts: PromptSet, settings: RouterSettings) -> RouterStrategy:
    if settings.tool_choice == "required":
        models.check_can_force_tool_call("llm")
    context = ToolContext(models, prompts, settings)
    tools = [TOOLS.get(name)(context) for name in settings.tools]
    return RouterStrategy(
        models.llm(), tools, prompts, settings.max_tool_calls, settings.tool_choice
    )


ROUTER_PROMPTS = (
    "router_system",
    "user",
    "tool_name",
    "tool_description",
    "tool_argument_description",
    "tool_guidance",
    "tool_system",
    "tool_user",
    "calculator_name",
    "calculator_description",
    "calculator_argument_description",
    "calculator_guidance",
)
STRATEGIES.register("router")(
    StrategySpec(
        _build,
        ("llm", "slm"),
        ROUTER_PROMPTS,
        RouterSettings,
        tool_roles=("llm",),
        batchable=False,  # each turn waits on the last one's answer
    )
)
