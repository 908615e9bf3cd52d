"""Per-source and per-level metrics, and records that carry source, level and subject."""

from __future__ import annotations

import json

import pytest

from delegate.accounting import Price, Usage
from delegate.data import Problem
from delegate.metrics import (
    BREAKDOWN_NAMES,
    METRIC_NAMES,
    aggregate,
    as_records,
    breakdown,
    extraction_shares,
)
from delegate.records import ProblemRecord, make_record
from delegate.strategies import ToolCallRecord, Trace

# 1M input tokens cost $1 and output is free: a record's cost in dollars is its input tokens / 1M.
PRICE = Price(input=1.0, cached_input=1.0, output=0.0)


def record(
    pid: int, source: str, level: int | None, right: bool, *, tokens: int = 0, calls: int = 0
) -> ProblemRecord:
    problem = Problem(pid, "q", "12", source=source, level=level, subject="Algebra")
    trace = Trace(llm_usage=Usage(tokens, 0, 0, 1))
    call = ToolCallRecord("ask", "{}", "q", "1", "1", Usage(), 0.0, tool="small_model")
    trace.tool_calls = [call] * calls
    text = r"\boxed{12}" if right else r"\boxed{13}"
    return make_record(problem, text, trace, 1.0, PRICE, Price(0, 0, 0), None)


# A hand-made table: source, level, right, input tokens, tool calls.
TABLE = [
    record(0, "svamp", 1, True, tokens=100_000, calls=0),
    record(1, "svamp", 1, False, tokens=300_000, calls=1),
    record(2, "math500", 1, True, tokens=200_000, calls=1),
    record(3, "math500", 3, False, tokens=400_000, calls=0),
    record(4, "math500", 3, False, tokens=600_000, calls=2),
]
ROWS = [r.to_row() for r in TABLE]  # what the run aggregates, and the report reads back


def test_breakdown_by_source_and_level_on_a_hand_made_table() -> None:
    m = breakdown(ROWS)
    # svamp: 1 of 2 right, $0.1 + $0.3, 1 of 2 delegated
    assert m["accuracy/svamp"] == 0.5 and m["n_problems/svamp"] == 2
    assert m["cost_usd/svamp"] == pytest.approx(0.4)
    assert m["cost_per_problem_usd/svamp"] == pytest.approx(0.2)
    assert m["delegation_rate/svamp"] == 0.5
    # math500: 1 of 3 right, $0.2 + $0.4 + $0.6, 2 of 3 delegated
    assert m["accuracy/math500"] == pytest.approx(1 / 3)
    assert m["cost_usd/math500"] == pytest.approx(1.2)
    assert m["cost_per_problem_usd/math500"] == pytest.approx(0.4)
    assert m["delegation_rate/math500"] == pytest.approx(2 / 3)
    # level 1 (problems 0, 1, 2): 2 of 3 right, $0.6, 2 of 3 delegated
    assert m["accuracy/level_1"] == pytest.approx(2 / 3)
    assert m["accuracy_strict/level_1"] == pytest.approx(2 / 3)
    assert m["cost_per_problem_usd/level_1"] == pytest.approx(0.2)
    assert m["delegation_rate/level_1"] == pytest.approx(2 / 3)
    # level 3 (problems 3, 4): none right, $1.0, 1 of 2 delegated
    assert m["accuracy/level_3"] == 0.0 and m["n_problems/level_3"] == 2
    assert m["cost_usd/level_3"] == pytest.approx(1.0)
    assert m["delegation_rate/level_3"] == 0.5
    groups = ["svamp", "math500", "level_1", "level_3"]
    assert list(m) == [f"{name}/{g}" for g in groups for name in BREAKDOWN_NAMES]


def test_aggregate_logs_the_fixed_metrics_then_the_breakdown() -> None:
    m = aggregate(ROWS, wall_time_s=1.0)
    assert tuple(m)[: len(METRIC_NAMES)] == METRIC_NAMES
    shares = extraction_shares(as_records(ROWS))
    assert tuple(m)[len(METRIC_NAMES) : len(METRIC_NAMES) + len(shares)] == tuple(shares)
    assert {k: v for k, v in m.items() if k not in METRIC_NAMES and k not in shares} == breakdown(
        ROWS
    )
    assert m["accuracy"] == pytest.approx(2 / 5)


def test_records_without_source_or_level_are_in_no_group() -> None:
    plain = make_record(Problem(0, "q", "12"), r"\boxed{12}", Trace(), 1.0, PRICE, PRICE, None)
    assert breakdown([plain.to_row()]) == {}
    shares = tuple(extraction_shares([plain]))
    assert tuple(aggregate([plain.to_row()], wall_time_s=1.0)) == METRIC_NAMES + shares


def test_source_names_are_made_safe_for_metric_names() -> None:
    m = breakdown([record(0, "my data (v2)", None, True).to_row()])
    assert m["accuracy/my_data__v2_"] == 1.0


def test_records_carry_source_level_subject_and_grade_by_answer_type() -> None:
    problem = Problem(3, "q", r"\frac{14}{3}", source="math500", level=4, answer_type="latex")
    r = make_record(problem, r"\boxed{14/3}", Trace(), 1.0, PRICE, PRICE, None)
    assert (r.source, r.level, r.subject) == ("math500", 4, None)
    assert r.correct and r.correct_strict and r.extracted == "14/3"
    as_number = Problem(3, "q", r"\frac{14}{3}")  # the number grader: 14/3 is a fraction too
    assert make_record(as_number, r"\boxed{14/3}", Trace(), 1.0, PRICE, PRICE, None).correct
    noisy = Problem(0, "q", "3244047.0999999996", rel_tol=1e-6)
    assert make_record(noisy, r"\boxed{3244047.1}", Trace(), 1.0, PRICE, PRICE, None).correct


def test_from_row_round_trips_and_reads_older_rows() -> None:
    r = TABLE[2]
    assert ProblemRecord.from_row(json.loads(json.dumps(r.to_row()))) == r
    old = r.to_row()
    for key in ("source", "level", "subject", "billed_usd", "cache_hits", "llm_cached_tokens"):
        del old[key]
    del old["notes"], old["cost_usd"]
    back = ProblemRecord.from_row(old)
    assert (back.source, back.level, back.subject) == ("", None, None)
    assert (back.cache_hits, back.llm_cached_tokens, back.notes) == (0, 0, None)
    assert back.cost_usd == pytest.approx(r.llm_cost_usd + r.slm_cost_usd)
    assert back.billed_usd == back.cost_usd  # before the cache, everything was billed
    with pytest.raises(ValueError, match="needs correct"):
        ProblemRecord.from_row({k: v for k, v in r.to_row().items() if k != "correct"})
