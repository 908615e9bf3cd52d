"""The cascade's control flow with scripted models: the majority and its ties, thresholds, both
escalation modes, every sample's tokens, and per-sample seeds."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from delegate.accounting import Price
from delegate.data import Problem
from delegate.metrics import aggregate
from delegate.records import ProblemRecord, make_record
from delegate.scoring import answers_match
from delegate.strategies import STRATEGIES, Trace
from delegate.strategies.cascade import (
    CascadeSettings,
    CascadeStrategy,
    majority,
    sample_seed,
)

from .scripted import ScriptedModel, ScriptedProvider, reply
from .test_router import PROMPTS

PROBLEM = Problem(id=7, question="Ann has 3 bags of 4 apples. How many apples?", gold="12")


def boxed(answer: str, tokens: tuple[int, int] = (10, 5)) -> Any:
    return reply(f"so \\boxed{{{answer}}}", tokens=tokens)


def make(
    slm: ScriptedModel,
    llm: ScriptedModel | None = None,
    seed: int = 123,
    **kw: Any,
) -> CascadeStrategy:
    values = {"samples": 3, "temperature": 0.7, "threshold": 0.8, "escalate": "fresh", **kw}
    provider = ScriptedProvider(llm or ScriptedModel(name="llm"), slm, seed=seed)
    cascade = STRATEGIES.get("cascade").build(provider, PROMPTS, CascadeSettings(**values))
    assert isinstance(cascade, CascadeStrategy)
    return cascade


def solve(cascade: CascadeStrategy, problem: Problem = PROBLEM) -> tuple[str, Trace]:
    trace = Trace()
    return asyncio.run(cascade.solve(problem, trace)), trace


def record(trace: Trace, text: str) -> ProblemRecord:
    prices = Price(input=1.0, output=2.0), Price(input=0.1, output=0.2)
    return make_record(PROBLEM, text, trace, 1.0, *prices, None)


def same(a: str, b: str) -> bool:
    return answers_match(a, b)


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (["12", "12", "12"], (0, 1.0)),
        (["12", "13", "12"], (0, 2 / 3)),
        (["13", "12", "12"], (1, 2 / 3)),
        (["12", "13", "14"], (0, 1 / 3)),  # all tied: the earliest sample
        (["13", "12", "12", "13"], (0, 0.5)),  # tied groups: the one whose first came first
        (["12.0", "12", "1,2"], (0, 2 / 3)),  # compared as the grader compares: 12.0 = 12
        ([None, "12", None], (1, 1 / 3)),  # no answer is in no group but counts among k
        ([None, None], (None, 0.0)),
    ],
)
def test_majority_and_its_share(answers: list[str | None], expected: tuple[Any, float]) -> None:
    index, share = majority(answers, same)
    assert index == expected[0] and share == pytest.approx(expected[1])


def test_agreeing_samples_stand_and_every_sample_is_paid_for() -> None:
    slm = ScriptedModel(boxed("12", (30, 7)), boxed("12", (30, 9)), boxed("12", (30, 11)))
    llm = ScriptedModel()
    text, trace = solve(make(slm, llm))
    assert text == r"so \boxed{12}" and llm.calls == []
    assert (trace.slm_usage.calls, trace.slm_usage.input_tokens) == (3, 90)
    assert trace.slm_usage.output_tokens == 27 and trace.llm_usage.calls == 0
    row = record(trace, text)
    assert row.slm_answers == ("12", "12", "12") and row.slm_answer == "12"
    assert row.confidence == 1.0 and not row.escalated and row.correct
    assert row.cost_usd == pytest.approx((90 * 0.1 + 27 * 0.2) / 1e6)


def test_first_sample_is_greedy_and_the_others_sampled_with_their_own_seeds() -> None:
    slm = ScriptedModel(boxed("12"), boxed("12"), boxed("12"))
    solve(make(slm, seed=5, temperature=0.9))
    options = sorted(({k: c.get(k) for k in ("temperature", "seed")} for c in slm.calls), key=str)
    assert {"temperature": 0.0, "seed": None} in options
    seeds = {c.get("seed") for c in slm.calls if c.get("temperature") == 0.9}
    assert seeds == {sample_seed(5, PROBLEM.id, 1), sample_seed(5, PROBLEM.id, 2)}
    assert all(c["messages"][-1]["content"] == PROBLEM.question for c in slm.calls)


def test_sample_seeds_are_fixed_and_distinct() -> None:
    seeds = {sample_seed(r, p, i) for r in (1, 2) for p in (0, 1) for i in (1, 2, 3)}
    assert len(seeds) == 12 and all(0 <= s < 2**31 for s in seeds)
    assert sample_seed(123, 7, 1) == sample_seed(123, 7, 1)


def test_disagreement_below_the_threshold_escalates_fresh() -> None:
    slm = ScriptedModel(boxed("11"), boxed("12"), boxed("11"))
    llm = ScriptedModel(reply(r"\boxed{12}", tokens=(200, 40)))
    text, trace = solve(make(slm, llm, threshold=0.7))
    assert text == r"\boxed{12}"
    [call] = llm.calls
    assert call["messages"] == PROMPTS.messages(PROMPTS.system, PROMPTS.user, PROBLEM.question)
    assert trace.llm_usage.input_tokens == 200 and trace.slm_usage.calls == 3
    row = record(trace, text)
    assert row.escalated and row.confidence == pytest.approx(2 / 3) and row.slm_answer == "11"
    assert row.correct  # the large model's answer is graded
    assert row.llm_cost_usd == pytest.approx((200 * 1.0 + 40 * 2.0) / 1e6)


def test_confidence_equal_to_the_threshold_stands() -> None:
    slm = ScriptedModel(boxed("11"), boxed("12"), boxed("11"))
    text, trace = solve(make(slm, threshold=2 / 3))
    assert text == r"so \boxed{11}" and not trace.escalated


def test_review_shows_the_large_model_the_majority_solution() -> None:
    slm = ScriptedModel(boxed("13"), reply(r"3*4 = 11, \boxed{11}"), boxed("11"))
    llm = ScriptedModel(reply(r"The draft is wrong: \boxed{12}"))
    text, trace = solve(make(slm, llm, threshold=0.9, escalate="review"))
    assert text == r"The draft is wrong: \boxed{12}"
    [call] = llm.calls
    assert call["messages"] == PROMPTS.review_messages(PROBLEM.question, r"3*4 = 11, \boxed{11}")
    user = call["messages"][1]["content"]
    assert PROBLEM.question in user and r"3*4 = 11, \boxed{11}" in user
    assert "{draft}" not in user and "{question}" not in user
    assert trace.escalated


def test_threshold_zero_never_escalates_and_above_one_always_does() -> None:
    disagree = (boxed("1"), boxed("2"), reply("no idea"))
    text, trace = solve(make(ScriptedModel(*disagree), threshold=0))
    assert text == r"so \boxed{1}" and not trace.escalated
    assert trace.slm_answers == ["1", "2", None]

    agree = (boxed("12"), boxed("12"), boxed("12"))
    llm = ScriptedModel(reply(r"\boxed{12}"))
    _, trace = solve(make(ScriptedModel(*agree), llm, threshold=1.01))
    assert trace.escalated and trace.confidence == 1.0 and len(llm.calls) == 1


def test_no_answer_at_all_has_zero_confidence() -> None:
    slm = ScriptedModel(reply("hmm"), reply("no"), reply("?"))
    llm = ScriptedModel(reply(r"\boxed{12}"))
    _, trace = solve(make(slm, llm, threshold=0.01))
    assert trace.confidence == 0.0 and trace.slm_answer is None and trace.escalated


def test_one_sample_is_the_small_model_alone_under_a_threshold() -> None:
    slm = ScriptedModel(boxed("12"))
    text, trace = solve(make(slm, samples=1, temperature=0, threshold=1))
    assert text == r"so \boxed{12}" and trace.confidence == 1.0
    assert slm.calls[0]["temperature"] == 0.0 and "seed" not in slm.calls[0]


def test_a_failing_sample_fails_the_problem_but_its_siblings_tokens_count() -> None:
    slm = ScriptedModel(boxed("12", (30, 7)), RuntimeError("down"), boxed("12", (30, 7)))
    trace = Trace()
    with pytest.raises(RuntimeError, match="down"):
        asyncio.run(make(slm).solve(PROBLEM, trace))
    assert trace.slm_usage.calls == 2 and trace.slm_usage.input_tokens == 60


def test_records_round_trip_and_escalation_rate() -> None:
    slm = ScriptedModel(boxed("11"), boxed("12"), boxed("13"))
    llm = ScriptedModel(reply(r"\boxed{12}"))
    text, trace = solve(make(slm, llm))
    row = record(trace, text).to_row()
    assert json.loads(row["slm_answers"]) == ["11", "12", "13"]
    assert ProblemRecord.from_row(row) == record(trace, text)
    old = {k: v for k, v in row.items() if k not in ("slm_answers", "confidence", "escalated")}
    back = ProblemRecord.from_row(old)  # a row written before the cascade existed
    assert back.slm_answers == () and back.confidence is None and not back.escalated
    plain = {**row, "escalated": False}
    assert aggregate([row, plain, plain, plain])["escalation_rate"] == 0.25


# MATH-500 problems whose gold answers models often spell another way.
MATH500_GOLDS = {43: r"3\sqrt{13}", 75: r"\frac{14}{3}"}


@pytest.fixture(scope="module")
def math500() -> dict[int, Problem]:
    from delegate.data import load_problems

    from ..helpers import resolved

    problems = {p.id: p for p in load_problems(resolved("dataset=math500")["dataset"])}
    assert {i: problems[i].gold for i in MATH500_GOLDS} == MATH500_GOLDS
    assert {problems[i].answer_type for i in MATH500_GOLDS} == {"latex"}
    return problems


def tuple_problem() -> Problem:
    return Problem(id=900, question="Where?", gold="(3,9)", answer_type="latex")


SPELLINGS = [
    (75, (r"\dfrac{14}{3}", r"\frac{14}{3}", "14/3")),
    (43, (r"\sqrt{117}", r"3\sqrt{13}", r"3 \sqrt{13}")),
    (None, ("(3,9)", r"\left(3, 9\right)", "(3, 9)")),
]


@pytest.mark.parametrize(("problem_id", "spellings"), SPELLINGS)
def test_a_latex_answer_spelled_three_ways_is_one_answer(
    math500: dict[int, Problem], problem_id: int | None, spellings: tuple[str, ...]
) -> None:
    problem = tuple_problem() if problem_id is None else math500[problem_id]
    slm = ScriptedModel(*(boxed(s) for s in spellings))
    llm = ScriptedModel()
    text, trace = solve(make(slm, llm, threshold=1.0), problem)
    assert trace.confidence == 1.0 and not trace.escalated and llm.calls == []
    # Stored as the latex grader reads them, so the report regrades them as the run did.
    assert trace.slm_answers == list(spellings) and trace.slm_answer == spellings[0]
    assert answers_match(trace.slm_answer, problem.gold, "latex")
    assert text == f"so \\boxed{{{spellings[0]}}}"


def test_latex_answers_that_really_differ_escalate(math500: dict[int, Problem]) -> None:
    problem = math500[75]
    slm = ScriptedModel(boxed(r"\frac{14}{3}"), boxed(r"\frac{13}{3}"), boxed("4.6"))
    llm = ScriptedModel(reply(r"\boxed{\frac{14}{3}}"))
    text, trace = solve(make(slm, llm, threshold=0.5), problem)
    assert trace.escalated and trace.confidence == pytest.approx(1 / 3)
    assert len(llm.calls) == 1 and text == r"\boxed{\frac{14}{3}}"
    assert trace.slm_answers == [r"\frac{14}{3}", r"\frac{13}{3}", "4.6"]


def test_the_number_grader_still_votes_on_number_problems() -> None:
    # 12.0 and 12 are one number; "1,2" is not a number with a thousands comma, so not 12.
    slm = ScriptedModel(boxed("12.0"), boxed("12"), boxed("1,2"))
    _, trace = solve(make(slm, threshold=0.6))
    assert trace.confidence == pytest.approx(2 / 3) and not trace.escalated
    assert trace.slm_answers == ["12.0", "12", "1,2"] and trace.slm_answer == "12.0"


def test_the_prompt_sets_markers_read_the_samples() -> None:
    from dataclasses import replace

    prompts = replace(PROMPTS, answer_markers=("Result:",))
    slm = ScriptedModel(*(reply("Working 3 * 4.\nResult: 12") for _ in range(3)))
    provider = ScriptedProvider(ScriptedModel(name="llm"), slm, seed=1)
    settings = CascadeSettings(samples=3, temperature=0.7, threshold=1.0, escalate="fresh")
    cascade = STRATEGIES.get("cascade").build(provider, prompts, settings)
    trace = Trace()
    asyncio.run(cascade.solve(PROBLEM, trace))
    assert trace.slm_answers == ["12", "12", "12"] and not trace.escalated
