"""The router's tools: offered by name from the registry, the calculator as a tool call, the system
prompt naming only what is offered, and how tool calls are counted."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from delegate.accounting import Price
from delegate.errors import ConfigError
from delegate.metrics import aggregate
from delegate.records import ProblemRecord, make_record
from delegate.strategies import STRATEGIES, Trace
from delegate.strategies.router import RouterSettings, RouterStrategy
from delegate.tools import TOOLS

from .scripted import ScriptedModel, ScriptedProvider, reply
from .test_router import PROBLEM, PROMPTS, SETTINGS

ASK, CALC = PROMPTS.tool_name, PROMPTS.calculator_name


def expr(expression: str) -> str:
    return json.dumps({"expression": expression})


def make(llm: ScriptedModel, slm: ScriptedModel | None = None, **kw: Any) -> RouterStrategy:
    provider = ScriptedProvider(llm, slm)
    router = STRATEGIES.get("router").build(provider, PROMPTS, RouterSettings(**{**SETTINGS, **kw}))
    assert isinstance(router, RouterStrategy)
    return router


def solve(router: RouterStrategy) -> tuple[str, Trace]:
    trace = Trace()
    return asyncio.run(router.solve(PROBLEM, trace)), trace


def record(trace: Trace, text: str = r"\boxed{12}") -> ProblemRecord:
    return make_record(PROBLEM, text, trace, 1.0, Price(), Price(), None)


def test_the_registry_holds_both_tools() -> None:
    assert TOOLS.names() == ["calculator", "small_model"]


def test_a_calculator_call_is_exact_free_and_recorded() -> None:
    llm = ScriptedModel(reply("", (CALC, expr("3 * 4"))), reply(r"\boxed{12}"))
    text, trace = solve(make(llm, tools=["calculator"]))
    assert text == r"\boxed{12}"
    assert llm.calls[1]["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "call_0",
        "content": "12",
    }
    [call] = trace.tool_calls
    assert (call.tool, call.name, call.question, call.answer, call.result) == (
        "calculator",
        CALC,
        "3 * 4",
        "12",
        "12",
    )
    assert call.error is None and trace.slm_usage.calls == 0
    row = record(trace)
    assert (row.tool_calls, row.calculator_calls, row.slm_tool_calls) == (1, 1, 0)
    assert row.slm_cost_usd == 0


def test_calculator_errors_go_back_to_the_large_model() -> None:
    llm = ScriptedModel(reply("", (CALC, expr("7 / 0"))), reply(r"\boxed{1}"))
    _, trace = solve(make(llm, tools=["calculator"]))
    sent = llm.calls[1]["messages"][-1]["content"]
    assert sent == "Error: division by zero at position 3"
    [call] = trace.tool_calls
    assert call.error == "division by zero at position 3" and call.answer is None
    assert record(trace).calculator_calls == 1  # a refused expression is still a calculator call


def test_calculator_arguments_must_name_an_expression() -> None:
    llm = ScriptedModel(reply("", (CALC, json.dumps({"question": "1+1"}))), reply(r"\boxed{2}"))
    _, trace = solve(make(llm, tools=["calculator"]))
    assert "a non-empty 'expression' string is required" in (trace.tool_calls[0].error or "")


def test_both_tools_offered_in_the_configured_order_and_dispatched_by_name() -> None:
    llm = ScriptedModel(
        reply("", (CALC, expr("2^10")), (ASK, json.dumps({"question": "3*4?"}))),
        reply(r"\boxed{12}"),
    )
    slm = ScriptedModel(reply(r"\boxed{12}", tokens=(40, 12)))
    _, trace = solve(make(llm, slm, tools=["calculator", "small_model"]))
    first = llm.calls[0]
    assert [t["function"]["name"] for t in first["tools"]] == [CALC, ASK]
    assert first["tools"][0]["function"]["parameters"]["required"] == ["expression"]
    assert [m["content"] for m in llm.calls[1]["messages"][-2:]] == ["1024", "12"]
    assert [c.tool for c in trace.tool_calls] == ["calculator", "small_model"]
    row = record(trace)
    assert (row.tool_calls, row.calculator_calls, row.slm_tool_calls) == (2, 1, 1)
    assert row.slm_input_tokens == 40


def test_the_system_prompt_describes_only_the_offered_tools() -> None:
    guide_slm, guide_calc = PROMPTS.tool_guidance.strip(), PROMPTS.calculator_guidance.strip()
    for tools, present, absent in (
        (["small_model"], [guide_slm], [guide_calc]),
        (["calculator"], [guide_calc], [guide_slm]),
        (["small_model", "calculator"], [guide_slm, guide_calc], []),
    ):
        llm = ScriptedModel(reply(r"\boxed{12}"))
        solve(make(llm, tools=tools))
        system = llm.calls[0]["messages"][0]["content"]
        assert "{tools}" not in system and "boxed" in system
        assert all(g in system for g in present) and not any(g in system for g in absent)


def test_small_model_only_renders_the_old_single_tool_prompt() -> None:
    # The default offer sends the text the router sent before tools were configurable.
    llm = ScriptedModel(reply(r"\boxed{12}"))
    solve(make(llm))
    assert llm.calls[0]["messages"][0]["content"] == (
        "You are a careful math assistant. You can ask a small, fast math model for help with a\n"
        "self-contained sub-question (an arithmetic step, a simple word problem) by calling the "
        "tool;\nit is much cheaper than working through every step yourself. Check that its "
        "answer makes sense.\nSolve the problem, then give the final answer in \\boxed{}: a number "
        "if the answer is a number,\nfor example \\boxed{42}; otherwise its simplest exact form, "
        "for example \\boxed{\\frac{3}{4}},\n\\boxed{2\\sqrt{3}}, \\boxed{(-2, 7]} or "
        "\\boxed{\\text{Tuesday}}."
    )


def test_a_calculator_only_router_builds_no_small_model() -> None:
    provider = ScriptedProvider(ScriptedModel(reply(r"\boxed{1}")))
    settings = RouterSettings(**{**SETTINGS, "tools": ["calculator"]})
    STRATEGIES.get("router").build(provider, PROMPTS, settings)
    assert provider.built == {"llm"}


def test_required_with_several_tools_requires_any_tool() -> None:
    llm = ScriptedModel(reply("", (CALC, expr("1+1"))), reply(r"\boxed{2}"))
    solve(make(llm, tools=["small_model", "calculator"], tool_choice="required"))
    assert llm.calls[0]["tool_choice"] == "required"


def test_the_cap_counts_every_tool() -> None:
    llm = ScriptedModel(
        reply("", (CALC, expr("1+1"))),
        reply("", (ASK, json.dumps({"question": "a?"}))),
        reply(r"\boxed{2}"),
    )
    slm = ScriptedModel(reply(r"\boxed{2}"))
    solve(make(llm, slm, tools=["calculator", "small_model"], max_tool_calls=2))
    assert [c["tool_choice"] for c in llm.calls] == ["auto", "auto", "none"]


@pytest.mark.parametrize(
    ("tools", "message"),
    [
        (["abacus"], "unknown tool 'abacus' <router.tools>"),
        ([], "router.tools is empty"),
        (["calculator", "calculator"], "names a tool twice"),
        ("calculator", "must be a list"),
    ],
)
def test_bad_tool_lists_fail_at_build_time(tools: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RouterSettings(**{**SETTINGS, "tools": tools})


def _row(**values: Any) -> dict[str, Any]:
    base = {"correct": True, "correct_strict": True, "latency_s": 1.0, "tool_calls": 0}
    return {**base, **values}


def test_delegation_counts_small_model_replies_only() -> None:
    rows = [
        _row(tool_calls=2, slm_tool_calls=0, calculator_calls=2),  # calculator only
        _row(tool_calls=1, slm_tool_calls=1, calculator_calls=0),  # delegated
        _row(tool_calls=1, slm_tool_calls=0, calculator_calls=0),  # the small model failed
        _row(),
    ]
    metrics = aggregate(rows)
    assert metrics["delegation_rate"] == 0.25
    assert metrics["calculator_calls_per_problem"] == 0.5
    assert metrics["tool_calls_per_problem"] == 1.0


def test_rows_from_before_the_tool_columns_count_their_tool_calls_as_delegations() -> None:
    rows = [_row(tool_calls=1), _row(tool_calls=0), _row(tool_calls=2, slm_tool_calls=float("nan"))]
    assert aggregate(rows)["delegation_rate"] == pytest.approx(2 / 3)
    assert aggregate(rows)["calculator_calls_per_problem"] == 0


def test_a_failed_small_model_call_is_not_a_delegation() -> None:
    llm = ScriptedModel(reply("", (ASK, json.dumps({"question": "a?"}))), reply(r"\boxed{12}"))
    slm = ScriptedModel(RuntimeError("down"))
    _, trace = solve(make(llm, slm))
    row = record(trace)
    assert (row.tool_calls, row.slm_tool_calls) == (1, 0)
    assert json.loads(row.to_row()["tool_call_log"])[0]["tool"] == "small_model"
