"""``calculator``: the large model evaluates an arithmetic expression exactly, at no cost.

The language and its limits are ``calculator``'s; a refused expression's one-line reason goes back
to the large model as the call's result, so it can correct the expression.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from delegate.tools import calculator
from delegate.tools.base import (
    BadArguments,
    ToolCallRecord,
    ToolContext,
    failed,
    read_argument,
)

if TYPE_CHECKING:
    from delegate.models import ToolCall
    from delegate.prompts import PromptSet
    from delegate.strategies.base import Trace

KIND = "calculator"
ARGUMENT = "expression"


class CalculatorTool:
    kind = KIND

    def __init__(self, prompts: PromptSet) -> None:
        self.prompts = prompts
        self.name = prompts.calculator_name

    def schema(self) -> dict[str, Any]:
        return calculator.tool_schema(
            self.name,
            self.prompts.calculator_description,
            ARGUMENT,
            self.prompts.calculator_argument_description,
        )

    def guidance(self) -> str:
        return self.prompts.calculator_guidance

    async def run(self, call: ToolCall, trace: Trace) -> tuple[str, ToolCallRecord]:
        try:
            expression = read_argument(call.arguments, ARGUMENT)
        except BadArguments as e:
            return failed(call, KIND, str(e))
        start = time.perf_counter()
        try:
            value = calculator.evaluate(expression)
        except calculator.CalculatorError as e:
            return failed(call, KIND, str(e), expression, time.perf_counter() - start)
        latency = time.perf_counter() - start
        return value, ToolCallRecord.of(call, KIND, expression, value, value, latency)


def build(context: ToolContext) -> CalculatorTool:
    return CalculatorTool(context.prompts)
