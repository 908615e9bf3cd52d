"""``router``: the large model answers, and may delegate questions to the small model via a tool.

The loop: the large model gets the problem and one tool (``prompt.tool_name``). Each tool call sends
its ``question`` to the small model; the result goes back to the large model, which may call again
(at most ``strategy.max_tool_calls`` times; after that the tool is withdrawn) and finally answers.

Tool calls travel natively (OpenAI ``tools``; vLLM and llama.cpp's server too) or, for local models
whose chat template has no tools, in the text format of ``models.tool_format``
(``llm.tool_protocol``). A malformed call, an unknown tool or a failing small model is recorded on
the tool call and reported back to the large model; with ``strategy.on_tool_error=fail`` a failing
small model fails the problem instead. The router never quietly becomes another strategy.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from delegate import tracing
from delegate.accounting import Usage
from delegate.data import Problem
from delegate.errors import ConfigError, DelegateError
from delegate.models import ChatModel, Completion, Message, ToolCall, tool_format
from delegate.prompts import PromptSet
from delegate.scoring import last_boxed
from delegate.strategies.base import STRATEGIES, ModelProvider, ToolCallRecord, Trace


class ToolError(DelegateError):
    """The small model failed inside a tool call and ``strategy.on_tool_error`` is ``fail``."""


def _choice(value: str, allowed: tuple[str, ...], key: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{key} must be one of {', '.join(allowed)}, got {value!r} <{key}>")
    return value


class RouterStrategy:
    name = "router"

    def __init__(
        self,
        llm: ChatModel,
        slm: ChatModel,
        prompts: PromptSet,
        protocol: Literal["native", "text"],
        max_tool_calls: int = 3,
        tool_choice: str = "auto",
        tool_result: str = "boxed",
        on_tool_error: str = "report",
    ) -> None:
        if isinstance(max_tool_calls, bool) or not isinstance(max_tool_calls, int):
            raise ConfigError(
                "strategy.max_tool_calls must be an integer <strategy.max_tool_calls>"
            )
        if max_tool_calls < 0:
            raise ConfigError(
                "strategy.max_tool_calls cannot be negative <strategy.max_tool_calls>"
            )
        self.llm, self.slm, self.prompts = llm, slm, prompts
        self.protocol = _choice(protocol, ("native", "text"), "llm.tool_protocol")
        self.max_tool_calls = max_tool_calls
        self.tool_choice = _choice(tool_choice, ("auto", "required"), "strategy.tool_choice")
        self.tool_result = _choice(tool_result, ("boxed", "full"), "strategy.tool_result")
        self.on_tool_error = _choice(on_tool_error, ("report", "fail"), "strategy.on_tool_error")
        self.tools = [prompts.tool_schema()]
        system = prompts.router_system.strip()
        if self.protocol == "text":
            system += "\n\n" + tool_format.describe_tools(self.tools)
        self.system = system

    async def solve(self, problem: Problem, trace: Trace) -> str:
        messages = self.prompts.messages(self.system, self.prompts.user, problem.question)
        calls_made, turn = 0, 0
        while True:
            can_call = calls_made < self.max_tool_calls
            forced = turn == 0 and can_call and self.tool_choice == "required"
            completion, raw = await self._llm_turn(messages, can_call, forced)
            trace.add("llm", completion)
            turn += 1
            if not completion.tool_calls:
                return completion.text
            if not can_call:
                trace.notes.append(
                    f"tool call after the cap of {self.max_tool_calls} ignored; its text is final"
                )
                return completion.text
            messages.append(self._assistant_message(completion, raw))
            results: list[tuple[ToolCall, str]] = []
            for call in completion.tool_calls:
                if calls_made >= self.max_tool_calls:
                    error = f"tool call cap of {self.max_tool_calls} reached"
                    record = ToolCallRecord(
                        call.name, call.arguments, None, None, None, Usage(), 0.0, error
                    )
                    result = f"Error: {error}; answer without the tool."
                else:
                    result, record = await self._call_tool(call, trace)
                calls_made += 1
                trace.tool_calls.append(record)
                results.append((call, result))
            messages.extend(self._result_messages(results))

    async def _llm_turn(
        self, messages: list[Message], can_call: bool, forced: bool
    ) -> tuple[Completion, str]:
        if self.protocol == "native":
            tool_choice: Any = "auto" if can_call else "none"
            if forced:
                tool_choice = {"type": "function", "function": {"name": self.prompts.tool_name}}
            c = await self.llm.complete(messages, tools=self.tools, tool_choice=tool_choice)
            return c, c.text
        if forced:
            prefix = tool_format.forced_prefix(self.prompts.tool_name, "question")
            c = await self.llm.complete(
                messages, stop=tool_format.FORCED_STOP, assistant_prefix=prefix
            )
            raw = tool_format.close_forced(c.text, self.prompts.tool_name, "question")
        else:
            c = await self.llm.complete(messages, stop=tool_format.STOP)
            raw = c.text
        prose, calls = tool_format.parse_tool_calls(raw)
        return Completion(prose, c.usage, c.latency_s, calls, c.finish_reason), raw

    def _assistant_message(self, completion: Completion, raw: str) -> Message:
        if self.protocol == "text":
            return {"role": "assistant", "content": raw}
        return {
            "role": "assistant",
            "content": completion.text,  # "" rather than null: some servers reject null
            "tool_calls": [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in completion.tool_calls
            ],
        }

    def _result_messages(self, results: list[tuple[ToolCall, str]]) -> list[Message]:
        if self.protocol == "text":
            body = "\n".join(tool_format.format_result(r) for _, r in results)
            return [{"role": "user", "content": body}]
        return [{"role": "tool", "tool_call_id": c.id, "content": r} for c, r in results]

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
            if self.on_tool_error == "fail":
                trace.tool_calls.append(record)
                raise ToolError(failure) from e
            return f"Error: {failure}", record
        trace.add("slm", completion)
        answer: str | None = completion.text
        error: str | None = None
        if self.tool_result == "boxed":
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


@STRATEGIES.register("router")
def build_router(models: ModelProvider, prompts: PromptSet, cfg: Any) -> RouterStrategy:
    """The router, with its settings from the top-level ``router:`` config section."""
    from delegate.build import bind

    def make(
        max_tool_calls: int = 3,
        tool_choice: str = "auto",
        tool_result: str = "boxed",
        on_tool_error: str = "report",
    ) -> RouterStrategy:
        return RouterStrategy(
            models.llm(),
            models.slm(),
            prompts,
            protocol=models.tool_protocol("llm"),  # type: ignore[arg-type]
            max_tool_calls=max_tool_calls,
            tool_choice=tool_choice,
            tool_result=tool_result,
            on_tool_error=on_tool_error,
        )

    result: RouterStrategy = bind(make, dict(cfg.get("router") or {}), where="router")
    return result
