"""``small_model``: the large model sends a self-contained question to the small model.

The tool's name, descriptions and the small model's brief come from the prompt set (``tool_*``);
what goes back is set by ``router.tool_result``: the whole reply (``full``), or (``boxed``) the
answer as the problem's grader reads it: its ``\\boxed{}`` answer, or for a code problem its
program (the last fenced python block, else the whole reply when it is code). The router says
which problem it solves (``ANSWER_TYPE``). A failing small model is reported back or fails the
problem as ``router.on_tool_error`` says.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from delegate.errors import DelegateError
from delegate.scoring import last_boxed
from delegate.scoring.code import extract_code
from delegate.tools.base import (
    BadArguments,
    ToolCallRecord,
    ToolContext,
    failed,
    read_argument,
)

if TYPE_CHECKING:
    from delegate.models import ChatModel, ToolCall
    from delegate.prompts import PromptSet
    from delegate.strategies.base import Trace

KIND = "small_model"
# The answer type of the problem being solved, set by the router for each problem: how a reply is
# read under ``router.tool_result=boxed``.
ANSWER_TYPE: ContextVar[str] = ContextVar("delegate_small_model_answer_type", default="number")


def read_answer(text: str, answer_type: str) -> tuple[str | None, str | None]:
    """The small model's answer as ``answer_type``'s grader reads it, and the error when it gave
    none: a code problem's program, else the last ``\\boxed{}``."""
    if answer_type == "code":
        program = extract_code(text)
        return program, None if program is not None else "no program in the small model's reply"
    boxed = last_boxed(text)
    return boxed, None if boxed is not None else "no \\boxed{} answer in the small model's reply"


class ToolError(DelegateError):
    """The small model failed inside a tool call and ``router.on_tool_error`` is ``fail``."""


class SmallModelTool:
    kind = KIND

    def __init__(
        self, slm: ChatModel, prompts: PromptSet, tool_result: str, on_tool_error: str
    ) -> None:
        self.slm, self.prompts = slm, prompts
        self.tool_result, self.on_tool_error = tool_result, on_tool_error
        self.name = prompts.tool_name

    def schema(self) -> dict[str, Any]:
        return self.prompts.tool_schema()

    def guidance(self) -> str:
        return self.prompts.tool_guidance

    async def run(self, call: ToolCall, trace: Trace) -> tuple[str, ToolCallRecord]:
        try:
            question = read_argument(call.arguments, "question")
        except BadArguments as e:
            return failed(call, KIND, str(e))
        start = time.perf_counter()
        try:
            messages = self.prompts.messages(
                self.prompts.tool_system, self.prompts.tool_user, question
            )
            completion = await self.slm.complete(messages)
        except Exception as e:  # recorded on the call whatever it was; policy decides what next
            failure = f"small model failed: {type(e).__name__}: {e}"
            result, record = failed(call, KIND, failure, question, time.perf_counter() - start)
            if self.on_tool_error == "fail":
                trace.tool_calls.append(record)
                raise ToolError(failure) from e
            return result, record
        trace.add("slm", completion)
        answer: str | None = completion.text
        error: str | None = None
        if self.tool_result == "boxed":
            answer, error = read_answer(completion.text, ANSWER_TYPE.get())
        result = answer if answer is not None else "The small model gave no final answer."
        latency = time.perf_counter() - start
        record = ToolCallRecord.of(
            call, KIND, question, answer, result, latency, completion.text, completion.usage, error
        )
        return result, record


def build(context: ToolContext) -> SmallModelTool:
    settings = context.settings
    return SmallModelTool(
        context.models.slm(), context.prompts, settings.tool_result, settings.on_tool_error
    )
