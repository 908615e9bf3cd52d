"""``router``: the large model answers, and may delegate questions to the small model via a tool.

The loop: the large model gets the problem and one tool (``prompt.tool_name``). Each tool call sends
its ``question`` to the small model; the result goes back to the large model, which may call again
(at most ``router.max_tool_calls`` times; after that the tool is withdrawn) and finally answers.

The router speaks native tool calling only; a model configured with ``tool_protocol: text`` is
wrapped by the model layer (``models.text_tools``) so that it looks the same. A malformed call, an
unknown tool or a failing small model is recorded on the tool call and reported back to the large
model; with ``router.on_tool_error=fail`` a failing small model fails the problem instead. The
router never quietly becomes another strategy.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from delegate import tracing
from delegate.accounting import Usage
from delegate.data import Problem
from delegate.errors import ConfigError, DelegateError
from delegate.models import ChatModel, Message, ToolCall
from delegate.prompts import PromptSet
from delegate.scoring import last_boxed
from delegate.strategies.base import (
    STRATEGIES,
    ModelProvider,
    StrategySpec,
    ToolCallRecord,
    Trace,
)


class ToolError(DelegateError):
    """The small model failed inside a tool call and ``router.on_tool_error`` is ``fail``."""


def _choice(value: str, allowed: tuple[str, ...], key: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{key} must be one of {', '.join(allowed)}, got {value!r} <{key}>")
    return value


@dataclass(frozen=True)
class RouterSettings:
    """The ``router:`` config section; its defaults are written in ``conf/config.yaml``."""

    max_tool_calls: int  # tool calls per problem; after that the tool is withdrawn
    tool_choice: str  # auto: the large model decides | required: must call on turn 1
    tool_result: str  # boxed: the small model's \boxed{} answer only | full: its whole reply
    on_tool_error: str  # report: tell the large model and go on | fail: the problem fails

    def __post_init__(self) -> None:
        n = self.max_tool_calls
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ConfigError(
                f"router.max_tool_calls must be an integer >= 0, got {n!r} <router.max_tool_calls>"
            )
        _choice(self.tool_choice, ("auto", "required"), "router.tool_choice")
        _choice(self.tool_result, ("boxed", "full"), "router.tool_result")
        _choice(self.on_tool_error, ("report", "fail"), "router.on_tool_error")


class RouterStrategy:
    name = "router"

    def __init__(
        self, llm: ChatModel, slm: ChatModel, prompts: PromptSet, settings: RouterSettings
    ) -> None:
        self.llm, self.slm, self.prompts, self.settings = llm, slm, prompts, settings
        self.tools = [prompts.tool_schema()]

    async def solve(self, problem: Problem, trace: Trace) -> str:
        cap = self.settings.max_tool_calls
        messages = self.prompts.messages(
            self.prompts.router_system, self.prompts.user, problem.question
        )
        calls_made, turn = 0, 0
        while True:
            can_call = calls_made < cap
            tool_choice: Any = "auto" if can_call else "none"
            if turn == 0 and can_call and self.settings.tool_choice == "required":
                tool_choice = {"type": "function", "function": {"name": self.prompts.tool_name}}
            completion = await self.llm.complete(
                messages, tools=self.tools, tool_choice=tool_choice
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
                    record = ToolCallRecord(
                        call.name, call.arguments, None, None, None, Usage(), 0.0, error
                    )
                    result = f"Error: {error}; answer without the tool."
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
        def failed(error: str, question: str | None = None) -> tuple[str, ToolCallRecord]:
            record = ToolCallRecord(
                call.name, call.arguments, question, None, None, Usage(), 0.0, error
            )
            return f"Error: {error}", record

        if not call.name:
            return failed("malformed tool call: no tool name could be read from it")
        if call.name != self.prompts.tool_name:
            return failed(
                f"unknown tool {call.name!r}; the only tool is {self.prompts.tool_name!r}"
            )
        try:
            args = json.loads(call.arguments)
        except json.JSONDecodeError as e:
            return failed(f"malformed tool arguments (not JSON: {e.msg})")
        question = args.get("question") if isinstance(args, dict) else None
        if not isinstance(question, str) or not question.strip():
            return failed("malformed tool arguments: a non-empty 'question' string is required")

        start = time.perf_counter()
        try:
            messages = self.prompts.messages(
                self.prompts.tool_system, self.prompts.tool_user, question
            )
            completion = await self.slm.complete(messages)
        except Exception as e:  # recorded on the call whatever it was; policy decides what next
            failure = f"small model failed: {type(e).__name__}: {e}"
            record = ToolCallRecord(
                call.name,
                call.arguments,
                question,
                None,
                None,
                Usage(),
                time.perf_counter() - start,
                failure,
            )
            if self.settings.on_tool_error == "fail":
                trace.tool_calls.append(record)
                raise ToolError(failure) from e
            return f"Error: {failure}", record
        trace.add("slm", completion)
        answer: str | None = completion.text
        error: str | None = None
        if self.settings.tool_result == "boxed":
            answer = last_boxed(completion.text)
            if answer is None:
                error = "no \\boxed{} answer in the small model's reply"
        result = answer if answer is not None else "The small model gave no final answer."
        record = ToolCallRecord(
            call.name,
            call.arguments,
            question,
            answer,
            completion.text,
            completion.usage,
            time.perf_counter() - start,
            error,
        )
        return result, record


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
    return RouterStrategy(models.llm(), models.slm(), prompts, settings)


ROUTER_PROMPTS = (
    "router_system",
    "user",
    "tool_name",
    "tool_description",
    "tool_argument_description",
    "tool_system",
    "tool_user",
)
STRATEGIES.register("router")(
    StrategySpec(_build, ("llm", "slm"), ROUTER_PROMPTS, RouterSettings, tool_roles=("llm",))
)
