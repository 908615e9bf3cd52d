"""The router's tool loop, driven by scripted models: no call, one, several, bad calls, the cap."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from delegate.accounting import Price
from delegate.config.fields import read
from delegate.data import Problem, load_problems
from delegate.models import tool_format
from delegate.models.text_tools import TextToolModel
from delegate.prompts import PromptSet
from delegate.strategies import STRATEGIES, Trace
from delegate.strategies.router import RouterSettings, RouterStrategy, ToolError

from .scripted import ScriptedModel, ScriptedProvider, reply

PROMPTS = PromptSet.from_config(
    yaml.safe_load((Path(__file__).parents[2] / "conf/prompt/cot.yaml").read_text())
)
PROBLEM = Problem(id=7, question="Ann has 3 bags of 4 apples. How many apples?", gold="12")
ASK = PROMPTS.tool_name


def args(question: str) -> str:
    return json.dumps({"question": question})


def solve(router: RouterStrategy) -> tuple[str, Trace]:
    trace = Trace()
    return asyncio.run(router.solve(PROBLEM, trace)), trace


SETTINGS = {
    "max_tool_calls": 3,
    "tool_choice": "auto",
    "tool_result": "boxed",
    "on_tool_error": "report",
    "tools": ["small_model"],
}


def make(llm: ScriptedModel, slm: ScriptedModel, protocol: str = "native", **kw) -> RouterStrategy:
    """The router as its registered builder makes it; ``protocol=text`` wraps the large model in
    the model layer's text tool protocol, as ``build.Models`` does."""
    large: Any = TextToolModel(llm, where="llm") if protocol == "text" else llm
    settings = read(RouterSettings, {**SETTINGS, **kw}, "router")  # as build reads the section
    router = STRATEGIES.get("router").build(ScriptedProvider(large, slm), PROMPTS, settings)
    assert isinstance(router, RouterStrategy)
    return router


def test_no_tool_call_means_no_delegation() -> None:
    llm, slm = ScriptedModel(reply(r"\boxed{12}")), ScriptedModel()
    text, trace = solve(make(llm, slm))
    assert text == r"\boxed{12}"
    assert trace.tool_calls == [] and slm.calls == []
    assert llm.calls[0]["tool_choice"] == "auto"
    assert trace.llm_usage.calls == 1


def test_one_call_returns_the_boxed_answer_and_counts_both_models() -> None:
    llm = ScriptedModel(
        reply("", (ASK, args("3*4?")), tokens=(100, 20)), reply(r"\boxed{12}", tokens=(150, 8))
    )
    slm = ScriptedModel(reply(r"3*4 = 12, so \boxed{12}", tokens=(40, 12)))
    text, trace = solve(make(llm, slm))
    assert text == r"\boxed{12}"
    assert slm.calls[0]["messages"][-1]["content"] == "3*4?"
    tool_message = llm.calls[1]["messages"][-1]
    assert tool_message == {"role": "tool", "tool_call_id": "call_0", "content": "12"}
    assert trace.llm_usage.input_tokens == 250 and trace.llm_usage.output_tokens == 28
    assert trace.slm_usage.input_tokens == 40 and trace.slm_usage.output_tokens == 12
    [record] = trace.tool_calls
    assert record.question == "3*4?" and record.answer == "12" and record.error is None


def test_full_tool_result_returns_the_whole_solution() -> None:
    llm = ScriptedModel(reply("", (ASK, args("3*4?"))), reply(r"\boxed{12}"))
    slm = ScriptedModel(reply(r"3*4 = 12, so \boxed{12}"))
    solve(make(llm, slm, tool_result="full"))
    assert llm.calls[1]["messages"][-1]["content"] == r"3*4 = 12, so \boxed{12}"


def test_several_calls_then_the_cap_withdraws_the_tool() -> None:
    llm = ScriptedModel(
        reply("", (ASK, args("a?"))),
        reply("", (ASK, args("b?"))),
        reply(r"\boxed{12}"),
    )
    slm = ScriptedModel(reply(r"\boxed{3}"), reply(r"\boxed{4}"))
    text, trace = solve(make(llm, slm, max_tool_calls=2))
    assert [c.answer for c in trace.tool_calls] == ["3", "4"]
    assert [c["tool_choice"] for c in llm.calls] == ["auto", "auto", "none"]
    assert text == r"\boxed{12}"


def test_calls_beyond_the_cap_in_one_turn_are_refused_and_recorded() -> None:
    llm = ScriptedModel(reply("", (ASK, args("a?")), (ASK, args("b?"))), reply(r"\boxed{1}"))
    slm = ScriptedModel(reply(r"\boxed{3}"))
    _, trace = solve(make(llm, slm, max_tool_calls=1))
    assert len(slm.calls) == 1
    assert trace.tool_calls[1].error == "tool call cap of 1 reached"


def test_a_tool_call_after_the_cap_is_noted_and_its_text_is_final() -> None:
    llm = ScriptedModel(reply("", (ASK, args("a?"))), reply("so 12", (ASK, args("b?"))))
    slm = ScriptedModel(reply(r"\boxed{3}"))
    text, trace = solve(make(llm, slm, max_tool_calls=1))
    assert text == "so 12"
    assert "after the cap" in trace.notes[0]


def test_required_forces_the_named_tool_on_the_first_turn_only() -> None:
    llm = ScriptedModel(reply("", (ASK, args("a?"))), reply(r"\boxed{12}"))
    slm = ScriptedModel(reply(r"\boxed{12}"))
    solve(make(llm, slm, tool_choice="required"))
    assert llm.calls[0]["tool_choice"] == {"type": "function", "function": {"name": ASK}}
    assert llm.calls[1]["tool_choice"] == "auto"


@pytest.mark.parametrize(
    ("name", "arguments", "error"),
    [
        (ASK, "{not json", "malformed tool arguments (not JSON"),
        (ASK, json.dumps({"q": "x"}), "a non-empty 'question' string is required"),
        (ASK, json.dumps(["x"]), "a non-empty 'question' string is required"),
        ("calculator", args("1+1"), "unknown tool 'calculator'"),
        ("", "garbage", "malformed tool call"),
    ],
)
def test_bad_tool_calls_are_recorded_and_reported(name: str, arguments: str, error: str) -> None:
    llm = ScriptedModel(reply("", (name, arguments)), reply(r"\boxed{12}"))
    slm = ScriptedModel()
    text, trace = solve(make(llm, slm))
    assert text == r"\boxed{12}"  # the problem goes on; the router does not become llm-only quietly
    assert slm.calls == []
    [record] = trace.tool_calls
    assert record.error is not None and error in record.error
    assert llm.calls[1]["messages"][-1]["content"].startswith("Error: ")


def test_small_model_failure_is_reported_to_the_large_model_by_default() -> None:
    llm = ScriptedModel(reply("", (ASK, args("a?"))), reply(r"\boxed{12}"))
    slm = ScriptedModel(RuntimeError("out of memory"))
    _, trace = solve(make(llm, slm))
    assert trace.tool_calls[0].error == "small model failed: RuntimeError: out of memory"
    assert "out of memory" in llm.calls[1]["messages"][-1]["content"]


def test_small_model_failure_fails_the_problem_when_configured() -> None:
    llm = ScriptedModel(reply("", (ASK, args("a?"))))
    slm = ScriptedModel(RuntimeError("out of memory"))
    trace = Trace()
    with pytest.raises(ToolError, match="out of memory"):
        asyncio.run(make(llm, slm, on_tool_error="fail").solve(PROBLEM, trace))
    assert trace.tool_calls[0].error is not None  # recorded before the problem fails
    assert trace.llm_usage.calls == 1  # the tokens already spent still count


def test_no_boxed_answer_from_the_small_model_is_recorded() -> None:
    llm = ScriptedModel(reply("", (ASK, args("a?"))), reply(r"\boxed{12}"))
    slm = ScriptedModel(reply("I am not sure."))
    _, trace = solve(make(llm, slm))
    assert trace.tool_calls[0].answer is None
    assert "no \\boxed{}" in (trace.tool_calls[0].error or "")
    assert "no final answer" in llm.calls[1]["messages"][-1]["content"]


def test_text_protocol_parses_blocks_and_returns_results_as_user_turns() -> None:
    call = f'{tool_format.OPEN}\n{{"name": "{ASK}", "arguments": {{"question": "3*4?"}}}}\n'
    llm = ScriptedModel(reply("Let me ask. " + call), reply(r"\boxed{12}"))
    slm = ScriptedModel(reply(r"\boxed{12}"))
    text, trace = solve(make(llm, slm, protocol="text"))
    assert text == r"\boxed{12}"
    first = llm.calls[0]
    assert "tools" not in first and first["stop"] == tool_format.STOP
    assert "<tool_call>" in first["messages"][0]["content"]  # the format is taught in the prompt
    # The call goes back in the canonical block the model layer writes, after the prose.
    block = tool_format.format_call({"name": ASK, "arguments": json.dumps({"question": "3*4?"})})
    assert llm.calls[1]["messages"][-2] == {"role": "assistant", "content": "Let me ask.\n" + block}
    assert llm.calls[1]["messages"][-1]["content"] == "<tool_result>\n12\n</tool_result>"
    assert trace.tool_calls[0].question == "3*4?"


def test_text_protocol_forced_call_lets_the_model_write_only_the_question() -> None:
    llm = ScriptedModel(
        reply(tool_format.forced_prefix(ASK, "question") + "What is 3*4?"), reply(r"\boxed{12}")
    )
    slm = ScriptedModel(reply(r"\boxed{12}"))
    _, trace = solve(make(llm, slm, protocol="text", tool_choice="required"))
    assert llm.calls[0]["assistant_prefix"] == tool_format.forced_prefix(ASK, "question")
    assert llm.calls[0]["stop"] == tool_format.FORCED_STOP
    assert trace.tool_calls[0].question == "What is 3*4?"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("tool_choice", "always"),
        ("tool_result", "json"),
        ("on_tool_error", "ignore"),
        ("max_tool_calls", -1),
        ("max_tool_calls", "3"),
    ],
)
def test_bad_settings_fail_at_build_time(option: str, value: object) -> None:
    from delegate.errors import ConfigError

    with pytest.raises(ConfigError, match=option):
        make(ScriptedModel(), ScriptedModel(), **{option: value})


def test_on_a_humaneval_problem_the_small_models_program_comes_back_and_passes() -> None:
    # router.tool_result=boxed (the default) reads the small model's answer as the problem's
    # grader does: for code, the program, not a \boxed{} answer the code prompt never asks for
    from importlib import resources

    from delegate.records import make_record
    from delegate.scoring.answers import grade_answer

    code_prompts = PromptSet.from_config(
        yaml.safe_load((Path(__file__).parents[2] / "conf/prompt/code.yaml").read_text())
    )
    problem = load_problems({"name": "humaneval"})[0]  # has_close_elements
    row = json.loads(
        resources.files("delegate.data").joinpath("humaneval/test.jsonl").open().readline()
    )
    program = row["prompt"] + row["canonical_solution"]
    slm_reply = f"Here it is:\n```python\n{program}\n```\nIt compares every pair."
    final = f"The small model's code is right.\n```python\n{program}\n```"
    ask = code_prompts.tool_name
    llm = ScriptedModel(reply("", (ask, args("Write has_close_elements(numbers, threshold)."))))
    llm.script.append(reply(final))
    slm = ScriptedModel(reply(slm_reply))
    settings = read(RouterSettings, SETTINGS, "router")
    router = STRATEGIES.get("router").build(ScriptedProvider(llm, slm), code_prompts, settings)
    trace = Trace()
    text = asyncio.run(router.solve(problem, trace))

    [record] = trace.tool_calls
    assert record.error is None and record.answer == program.strip("\n")
    assert llm.calls[1]["messages"][-1]["content"] == program.strip("\n")  # the tool result
    grade = asyncio.run(grade_answer(text, problem, None))
    assert grade.correct and grade.execution is not None and grade.execution.outcome == "passed"
    row_record = make_record(problem, text, trace, 1.0, Price(), Price(), None, grade, "router")
    assert row_record.correct and row_record.attribution == "right"


def test_a_right_program_the_large_model_spoiled_is_found_by_the_loop() -> None:
    # The run's loop attributes off the event loop: the small model's program is run against
    # the hidden tests in the sandbox (a check that would block the loop is never run on it).
    from importlib import resources

    from delegate.loop import solve_one

    code_prompts = PromptSet.from_config(
        yaml.safe_load((Path(__file__).parents[2] / "conf/prompt/code.yaml").read_text())
    )
    problem = load_problems({"name": "humaneval"})[0]
    row = json.loads(
        resources.files("delegate.data").joinpath("humaneval/test.jsonl").open().readline()
    )
    program = row["prompt"] + row["canonical_solution"]
    spoiled = row["prompt"] + "    return False\n"
    ask = code_prompts.tool_name
    llm = ScriptedModel(reply("", (ask, args("Write has_close_elements."))))
    llm.script.append(reply(f"I simplified it.\n```python\n{spoiled}\n```"))
    slm = ScriptedModel(reply(f"```python\n{program}\n```"))
    settings = read(RouterSettings, SETTINGS, "router")
    router = STRATEGIES.get("router").build(ScriptedProvider(llm, slm), code_prompts, settings)
    record = asyncio.run(solve_one(problem, router, Price(), Price()))
    assert record is not None and not record.correct and record.code_outcome == "failed"
    assert record.attribution == "spoiled_right_delegation"


def test_a_code_reply_without_a_program_is_a_tool_error() -> None:
    code_prompts = PromptSet.from_config(
        yaml.safe_load((Path(__file__).parents[2] / "conf/prompt/code.yaml").read_text())
    )
    problem = load_problems({"name": "humaneval"})[0]
    llm = ScriptedModel(reply("", (code_prompts.tool_name, args("Write it."))), reply("```x```"))
    slm = ScriptedModel(reply("I cannot write that function, sorry."))
    settings = read(RouterSettings, SETTINGS, "router")
    router = STRATEGIES.get("router").build(ScriptedProvider(llm, slm), code_prompts, settings)
    trace = Trace()
    asyncio.run(router.solve(problem, trace))
    [record] = trace.tool_calls
    assert record.answer is None and record.error == "no program in the small model's reply"
