"""Curves from logged answers (``compare.curve_report``) on hand-made per-sample tables whose
curves, APGR, CPT and AIQ are worked out by hand in the comments."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from delegate.compare.curves import paired_bootstrap_beats_random
from delegate.compare.render import CURVE_CSV_COLUMNS
from delegate.compare.report import (
    COLUMNS,
    ROW_COLUMNS,
    annotate,
    compare,
    markdown,
    write_report,
)
from delegate.compare.runs import Loaded, RunResult
from delegate.identity import identity_document, run_identity
from delegate.record_cells import as_text
from delegate.records import read_records

PROMPTS = {
    "system": "Solve it; answer in \\boxed{}.",
    "user": "{question}",
    "router_system": "Solve it; you may ask the small model.",
    "review_user": "Check this draft: {draft}\n{question}",
}
DATASET = {
    "name": "mini",
    "split": "test",
    "answer_type": "number",
    "content_sha256": "abc",
    "samples": 4,
}
GOLD = {1: "2", 2: "4", 3: "6", 4: "8"}
# The cascade's small model: its majority answer and confidence per problem. Graded as numbers:
# right on 1 and 3 ("6.0" equals 6), wrong on 2, no answer on 4.
SLM_ANSWER = {1: "2", 2: "5", 3: "6.0", 4: None}
CONFIDENCE = {1: 1.0, 2: 0.4, 3: 0.6, 4: 0.2}
SAMPLES_COST = 0.001  # the cascade's small-model samples, per problem
LLM_RIGHT = {1: True, 2: True, 3: True, 4: False}
LLM_COST = 0.01
SLM_RIGHT = {1: True, 2: False, 3: False, 4: False}  # the greedy SLM-only run
SLM_COST = 0.0002


def model(name: str) -> dict[str, Any]:
    return {"backend": "openai", "model": name, "temperature": 0.0, "price": {"input": 1.0}}


def document(strategy: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    roles = {"llm": ["llm"], "slm": ["slm"]}.get(strategy, ["llm", "slm"])
    fields = {
        "router": ("router_system", "user"),
        "cascade": ("system", "user", "review_user"),
    }.get(strategy, ("system", "user"))
    ident = run_identity(
        strategy,
        settings,
        {role: model("big" if role == "llm" else "small") for role in roles},
        {f: PROMPTS[f] for f in fields},
        DATASET,
    )
    return identity_document(ident, PROMPTS)


def cascade_doc(threshold: float) -> dict[str, Any]:
    settings = {"samples": 3, "temperature": 0.7, "threshold": threshold, "escalate": "fresh"}
    return document("cascade", settings)


def router_doc(max_tool_calls: int) -> dict[str, Any]:
    return document("router", {"max_tool_calls": max_tool_calls, "tool_result": "boxed"})


def row(pid: int, correct: bool, llm_cost: float, slm_cost: float, **extra: Any) -> dict[str, Any]:
    return {
        "problem_id": pid,
        "question": f"Problem {pid}: what is {pid} + {pid}?",
        "gold": GOLD[pid],
        "final_text": "",
        "correct": correct,
        "correct_strict": correct,
        "cost_usd": llm_cost + slm_cost,
        "llm_cost_usd": llm_cost,
        "slm_cost_usd": slm_cost,
        "latency_s": 1.0,
        "tool_calls": 0,
        "truncated": False,
        "error": None,
        **extra,
    }


def result(doc: dict[str, Any], problems: list[dict[str, Any]]) -> tuple[RunResult, dict]:
    strategy = doc["identity"]["strategy"]
    tags = {
        "strategy": strategy,
        "llm": "big" if "llm" in doc["identity"] else "none",
        "slm": "small" if "slm" in doc["identity"] else "none",
        "prompt": "cot",
        "dataset": "mini:test",
    }
    cid = doc["config_id"]
    return RunResult(f"{cid}-1", cid, tags, "1", "s1", {}, read_records(problems)), doc


def cascade_run(threshold: float, edit: Any = None) -> tuple[RunResult, dict]:
    """A real cascade: a problem escalates when its confidence is below the threshold. ``edit``
    changes each row before it is read (as an older or a read-back table holds it)."""
    problems = []
    for pid in GOLD:
        up = CONFIDENCE[pid] < threshold
        weak_right = pid in (1, 3)
        problems.append(
            row(
                pid,
                LLM_RIGHT[pid] if up else weak_right,
                LLM_COST if up else 0.0,
                SAMPLES_COST,
                slm_answer=SLM_ANSWER[pid],
                confidence=CONFIDENCE[pid],
                escalated=up,
                answer_type="number",
                rel_tol=0.0,
            )
        )
    for p in problems if edit else ():
        edit(p)
    return result(cascade_doc(threshold), problems)


def llm_run() -> tuple[RunResult, dict]:
    return result(document("llm"), [row(p, LLM_RIGHT[p], LLM_COST, 0.0) for p in GOLD])


def slm_run() -> tuple[RunResult, dict]:
    return result(document("slm"), [row(p, SLM_RIGHT[p], 0.0, SLM_COST) for p in GOLD])


def router_run(max_tool_calls: int, right: list[bool], cost: float) -> tuple[RunResult, dict]:
    problems = [row(p, ok, cost, 0.0) for p, ok in zip(GOLD, right, strict=True)]
    return result(router_doc(max_tool_calls), problems)


def loaded(*pairs: tuple[RunResult, dict]) -> Loaded:
    return Loaded([r for r, _ in pairs], {d["config_id"]: d for _, d in pairs})


def curves_of(data: Loaded) -> tuple[list[dict[str, Any]], list[Any]]:
    rows, _ = compare(data)
    return rows, annotate(rows, data)


def test_two_thresholds_make_one_simulated_cascade_worked_by_hand() -> None:
    rows, curves = curves_of(loaded(llm_run(), slm_run(), cascade_run(0.5), cascade_run(0.0)))
    [curve] = curves
    assert curve.kind == "simulated_cascade" and curve.pair == "big + small"
    # Escalating by confidence (0.2: #4, 0.4: #2, 0.6: #3, 1.0: #1) from none to all, with the
    # small model right on 1 and 3 and the large one on 1, 2 and 3:
    assert curve.table["strong_share"].tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert curve.table["accuracy"].tolist() == [0.5, 0.5, 0.75, 0.75, 0.75]
    # $0.001 of samples on every problem, plus $0.01 for each escalated one.
    expected_cost = [0.001, 0.0035, 0.006, 0.0085, 0.011]
    np.testing.assert_allclose(curve.table["cost_per_problem"], expected_cost)
    s = curve.summary
    assert (s["weak_accuracy"], s["strong_accuracy"], s["problems"]) == (0.5, 0.75, 4)
    # Trapezoids of width 0.25: 0.125 + 0.15625 + 0.1875 + 0.1875 = 0.65625;
    # APGR = (0.65625 - 0.5) / (0.75 - 0.5).
    assert s["apgr"] == pytest.approx(0.625)
    # PGR 0, 0, 1, 1, 1: 50% is crossed halfway between shares 0.25 and 0.5, 80% at 0.8 of it.
    assert s["cpt50"] == pytest.approx(0.375) and s["cpt80"] == pytest.approx(0.45)
    assert s["cpt50_usd"] == pytest.approx(0.00475) and s["cpt80_usd"] == pytest.approx(0.0055)
    # AIQ: hull (0.001, 0.5) -> (0.006, 0.75), area 0.003125, flat to 0.011: + 0.00375;
    # over 0.011.
    assert s["aiq"] == pytest.approx(0.006875 / 0.011)
    # Oracle: escalate only #2 (the one only the large model gets right).
    assert (s["oracle_strong_share"], s["oracle_accuracy"]) == (0.25, 0.75)
    assert s["oracle_cost_per_problem_usd"] == pytest.approx(0.0035)
    # Both real cascades sit on it, at their escalated shares.
    assert sorted((m.strong_share, m.accuracy) for m in curve.members) == [
        (0.0, 0.5),
        (0.5, 0.75),
    ]
    assert all(r["curves"] == [s] for r in rows if r["strategy"] == "cascade")


def test_per_row_pgr_and_the_random_mix_test() -> None:
    data = loaded(llm_run(), slm_run(), cascade_run(0.5), cascade_run(0.0))
    rows, _ = curves_of(data)
    by_threshold = {
        data.documents[r["config_id"]]["identity"]["cascade"]["threshold"]: r
        for r in rows
        if r["strategy"] == "cascade"
    }
    # SLM-only 0.25, LLM-only 0.75: PGR (0.75 - 0.25) / 0.5 = 1 and (0.5 - 0.25) / 0.5 = 0.5.
    assert by_threshold[0.5]["pgr"] == pytest.approx(1.0)
    assert by_threshold[0.0]["pgr"] == pytest.approx(0.5)
    assert by_threshold[0.5]["pgr_problems"] == 4
    # At $0.006 per problem the mix sends (0.006 - 0.0002) / 0.0098 to the LLM-only run:
    # accuracy 0.25 + 0.5 * 0.0058 / 0.0098; the cascade's 0.75 less that.
    row = by_threshold[0.5]
    assert row["beats_random_mix_diff"] == pytest.approx(0.75 - (0.25 + 0.5 * 0.0058 / 0.0098))
    again = paired_bootstrap_beats_random(
        [1, 1, 1, 0],
        [0.001, 0.011, 0.001, 0.011],
        [1, 1, 1, 0],
        [1, 0, 0, 0],
        LLM_COST,
        SLM_COST,
        seed=0,
    )
    assert (row["beats_random_mix_ci_low"], row["beats_random_mix_ci_high"]) == (
        again.low,
        again.high,
    )
    expected = "yes" if again.low > 0 else "no" if again.high < 0 else "not shown"
    assert row["beats_random_mix"] == expected
    llm, slm = (next(r for r in rows if r["strategy"] == s) for s in ("llm", "slm"))
    assert all(llm[c] is None and slm[c] is None for c in ROW_COLUMNS)


def test_router_family_over_cost_only() -> None:
    routers = (
        router_run(1, [True, True, False, False], 0.004),
        router_run(3, [True, True, True, False], 0.007),
    )
    rows, curves = curves_of(loaded(llm_run(), slm_run(), *routers))
    [curve] = curves
    assert curve.kind == "router_family"
    s = curve.summary
    assert s["apgr"] is None and s["cpt50"] is None  # no share sent to the large model
    # Points (0.0002, 0.25) SLM-only, (0.004, 0.5), (0.007, 0.75), (0.01, 0.75) LLM-only; the
    # hull skips (0.004, 0.5) (the chord there is at 0.529); area 0.5 * 0.0068 + 0.003 * 0.75.
    assert s["aiq"] == pytest.approx((0.0034 + 0.00225) / 0.01)
    # Along the hull PGR runs 0 -> 1 from $0.0002 to $0.007.
    assert s["cpt50_usd"] == pytest.approx(0.0036) and s["cpt80_usd"] == pytest.approx(0.00564)
    # Oracle: #2 and #3 to the large model, the rest to the small one.
    assert (s["oracle_strong_share"], s["oracle_accuracy"]) == (0.5, 0.75)
    assert s["oracle_cost_per_problem_usd"] == pytest.approx(0.0051)
    pgr = sorted(r["pgr"] for r in rows if r["strategy"] == "router")
    assert pgr == pytest.approx([0.5, 1.0])


def test_one_router_is_a_point_not_a_curve_and_no_llm_run_means_no_curve() -> None:
    one_router = router_run(1, [True, True, False, False], 0.004)
    assert curves_of(loaded(llm_run(), slm_run(), one_router))[1] == []
    data = loaded(slm_run(), cascade_run(0.5))
    rows, curves = curves_of(data)
    assert curves == []
    assert any("LLM-only run is missing" in note for note in data.notes)
    assert next(r for r in rows if r["strategy"] == "cascade")["pgr"] is None


def without_answer_type() -> tuple[RunResult, dict]:
    def drop(p: dict[str, Any]) -> None:
        del p["answer_type"], p["rel_tol"]

    return cascade_run(0.5, drop)


def test_rows_written_before_answer_type_fall_back_to_the_dataset(monkeypatch) -> None:
    [curve] = curves_of(loaded(llm_run(), slm_run(), without_answer_type()))[1]
    assert curve.summary["weak_accuracy"] == 0.5  # "6.0" still graded as the number 6
    # Neither the rows nor the dataset name a grader: no curve, and a note says why.
    monkeypatch.delitem(DATASET, "answer_type")
    data = loaded(llm_run(), slm_run(), without_answer_type())
    assert curves_of(data)[1] == []
    assert any("no answer type to grade by" in note for note in data.notes)


def test_report_writes_curves_csv_and_markdown(tmp_path: Path) -> None:
    data = loaded(llm_run(), slm_run(), cascade_run(0.5), cascade_run(0.0))
    files, rows = write_report("exp", "s1", tmp_path, data)
    assert [f.name for f in files][-2:] == ["curves.csv", "attribution.csv"]
    with files[-2].open() as f:
        table = list(csv.DictReader(f))
    assert tuple(table[0]) == CURVE_CSV_COLUMNS and len(table) == 1
    assert (table[0]["kind"], float(table[0]["apgr"])) == ("simulated_cascade", 0.625)
    assert table[0]["pair"] == "big + small"
    with files[0].open() as f:
        header = next(csv.reader(f))
    assert header[: len(COLUMNS) + len(ROW_COLUMNS)] == [*COLUMNS, *ROW_COLUMNS]
    text = markdown(rows)
    assert "| big + small | simulated_cascade | 4 | 0.625 | 38% | 45% | 0.004750 |" in text


@pytest.mark.parametrize(
    ("cell", "text"),
    [("6.0", "6.0"), (36.0, "36"), (8, "8"), (0.1, "0.1"), (-2.5, "-2.5"), (math.nan, None)],
)
def test_answers_read_back_as_numbers_are_graded_as_their_text(cell: Any, text: str) -> None:
    assert as_text(cell) == text


def test_a_table_read_back_with_numbers_for_answers_grades_the_same() -> None:
    def as_load_table_gives_it(p: dict[str, Any]) -> None:
        p["gold"] = int(p["gold"])
        p["slm_answer"] = math.nan if p["slm_answer"] is None else float(p["slm_answer"])

    numeric, doc = cascade_run(0.5, as_load_table_gives_it)
    [curve] = curves_of(loaded(llm_run(), slm_run(), (numeric, doc)))[1]
    assert curve.summary["weak_accuracy"] == 0.5 and curve.summary["apgr"] == pytest.approx(0.625)
