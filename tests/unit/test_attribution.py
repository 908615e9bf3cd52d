"""Each attribution category, from records built as a run builds them (``make_record``)."""

from __future__ import annotations

import pytest

from delegate.accounting import Price, Usage
from delegate.compare.attribution import CASCADE_CATEGORIES, ROUTER_CATEGORIES, attribute
from delegate.data import Problem
from delegate.records import ProblemRecord, make_record, read_records
from delegate.strategies import ToolCallRecord, Trace

PRICE = Price(1.0, 1.0)


def _delegation(answer: str | None, slm_text: str | None = None) -> ToolCallRecord:
    return ToolCallRecord(
        name="ask_small_model",
        arguments="{}",
        question="What is 6 * 7?",
        answer=answer,
        slm_text=slm_text if slm_text is not None else f"so \\boxed{{{answer}}}",
        slm_usage=Usage(10, 0, 5, 1),
        latency_s=0.1,
        tool="small_model",
        result=answer,
    )


def _record(
    final: str, strategy: str, *, error: str | None = None, **trace: object
) -> ProblemRecord:
    problem = Problem(1, "What is 6 * 7?", "42", source="mini", level=None)
    return make_record(
        problem,
        final,
        Trace(**trace),
        1.0,
        PRICE,
        PRICE,
        error,
        strategy=strategy,
    )


@pytest.mark.parametrize(
    ("final", "calls", "error", "expected"),
    [
        (r"\boxed{42}", [], None, "right"),
        (r"\boxed{41}", [], None, "wrong_without_delegation"),
        (r"\boxed{40}", ["40"], None, "accepted_wrong_delegation"),
        (r"\boxed{40}", ["42"], None, "spoiled_right_delegation"),
        (r"\boxed{40}", ["39"], None, "wrong_after_delegation"),
        (r"\boxed{42}", ["42"], None, "right"),
        ("", ["42"], "TimeoutError: slow", "error"),
    ],
)
def test_router_categories(final: str, calls: list[str], error: str | None, expected: str) -> None:
    r = _record(final, "router", error=error, tool_calls=[_delegation(a) for a in calls])
    assert r.attribution == expected
    assert expected in ROUTER_CATEGORIES
    # The category survives the per-sample table and is what ``attribute`` says of the record.
    [back] = read_records([r.to_row()])
    assert back.attribution == expected == attribute(back, "router")


def test_a_small_answer_without_a_box_is_read_from_its_reply() -> None:
    call = _delegation(None, slm_text="six sevens make 42")
    r = _record(r"\boxed{40}", "router", tool_calls=[call])
    assert r.attribution == "spoiled_right_delegation"


@pytest.mark.parametrize(
    ("final", "escalated", "error", "expected"),
    [
        (r"\boxed{42}", False, None, "right"),
        (r"\boxed{41}", False, None, "confident_and_wrong"),
        (r"\boxed{41}", True, None, "escalated_and_wrong"),
        ("", True, "RuntimeError: down", "error"),
    ],
)
def test_cascade_categories(final: str, escalated: bool, error: str | None, expected: str) -> None:
    r = _record(final, "cascade", error=error, escalated=escalated, confidence=0.5)
    assert r.attribution == expected and expected in CASCADE_CATEGORIES


@pytest.mark.parametrize("strategy", ["llm", "slm", "learned_router", ""])
def test_other_strategies_have_no_category(strategy: str) -> None:
    assert _record(r"\boxed{41}", strategy).attribution == ""


def test_an_older_row_without_the_column_reads_as_no_category() -> None:
    row = _record(r"\boxed{41}", "cascade").to_row()
    del row["attribution"]
    assert read_records([row])[0].attribution == ""
