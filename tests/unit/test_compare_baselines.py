"""The baselines the report sets routed rows against, on constructed sweeps: the learned-router
curve of an LLM-only and SLM-only pair, the best fixed model at matched cost, and where each
router problem went wrong (``attribution.csv``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from delegate.compare.attribution import ROUTER_CATEGORIES
from delegate.compare.render import CURVE_CSV_COLUMNS
from delegate.compare.report import build, write_report
from delegate.compare.runs import Loaded, RunResult
from delegate.records import read_records

from .test_compare_curve_report import document, loaded, result, router_doc

N = 40
HARD = {pid for pid in range(N) if pid % 5 == 0}  # 8 of 40: only the large model is right
LLM_COST, SLM_COST = 0.01, 0.001


def question(pid: int) -> str:
    kind = "A tricky multi-step" if pid in HARD else "A simple"
    return f"{kind} problem {pid}: what is {pid} plus {pid + 3}?"


def row(pid: int, correct: bool, llm_cost: float, slm_cost: float, **extra: Any) -> dict:
    return {
        "problem_id": pid,
        "question": question(pid),
        "gold": str(2 * pid + 3),
        "final_text": "",
        "extracted": str(2 * pid + 3) if correct else "0",
        "correct": correct,
        "correct_strict": correct,
        "llm_cost_usd": llm_cost,
        "slm_cost_usd": slm_cost,
        "answer_type": "number",
        **extra,
    }


def pure(strategy: str) -> tuple[RunResult, dict]:
    if strategy == "llm":
        rows = [row(p, True, LLM_COST, 0.0) for p in range(N)]
    else:
        rows = [row(p, p not in HARD, 0.0, SLM_COST) for p in range(N)]
    return result(document(strategy), rows)


def router(max_tool_calls: int, right: set[int], cost: float) -> tuple[RunResult, dict]:
    rows = [row(p, p in right, cost, 0.0) for p in range(N)]
    return result(router_doc(max_tool_calls), rows)


def cells(data: Loaded) -> dict[int, dict[str, Any]]:
    comparison = build(data)
    return {
        int(r.config.document["identity"].get("router", {}).get("max_tool_calls", -1)): r.cells()
        for r in comparison.rows
    }


def test_a_dearer_and_worse_router_does_not_beat_the_best_fixed_model() -> None:
    # It costs more than LLM-only and is right on half the problems: the best fixed model at
    # its cost is LLM-only (right on all), 20 pairs discordant one way.
    data = loaded(pure("llm"), pure("slm"), router(1, set(range(0, N, 2)), 2 * LLM_COST))
    mine = cells(data)[1]
    assert mine["best_fixed"].startswith("llm (big")
    assert mine["best_fixed_accuracy"] == 1.0 and mine["best_fixed_problems"] == N
    assert mine["beats_best_fixed"] == "no" and mine["beats_best_fixed_diff"] == -0.5
    assert mine["beats_best_fixed_ci_high"] < 0


def test_a_cheaper_router_that_is_right_on_every_problem_beats_it() -> None:
    # At 0.005 per problem only SLM-only (0.001) costs no more: right on 32 of 40; the router
    # is right on all, 8 pairs discordant its way.
    data = loaded(pure("llm"), pure("slm"), router(2, set(range(N)), 0.005))
    mine = cells(data)[2]
    assert mine["best_fixed"].startswith("slm (small")
    assert mine["best_fixed_accuracy"] == 0.8
    assert mine["beats_best_fixed"] == "yes"
    assert mine["beats_best_fixed_diff"] == pytest.approx(0.2)
    assert mine["beats_best_fixed_ci_low"] > 0


def test_a_router_cheaper_than_both_models_has_no_fixed_model_at_its_cost() -> None:
    data = loaded(pure("llm"), pure("slm"), router(3, set(range(N)), 0.0001))
    mine = cells(data)[3]
    assert mine["best_fixed"] == "none" and mine["beats_best_fixed"] is None
    assert cells(data)[-1]["best_fixed"] is None  # LLM-only and SLM-only rows: not applicable


def test_the_learned_router_curve_and_attribution_csv(tmp_path: Path) -> None:
    delegation = {"tool": "small_model", "slm_text": "so 7", "answer": "7"}
    rows = [
        row(p, p not in HARD, LLM_COST, 0.0, tool_calls=0, tool_call_log=json.dumps([]))
        for p in range(N)
    ]
    rows[0] |= {"tool_calls": 1, "slm_tool_calls": 1, "tool_call_log": json.dumps([delegation])}
    rows[0]["extracted"] = "7"  # the small model's (wrong) answer, taken
    run = (
        RunResult("r-1", router_doc(1)["config_id"], *_tags(), read_records(rows)),
        router_doc(1),
    )
    data = loaded(pure("llm"), pure("slm"), run)
    files, _ = write_report("exp", None, tmp_path, data)
    with (tmp_path / "curves.csv").open() as f:
        [curve] = list(csv.DictReader(f))
    assert tuple(curve) == CURVE_CSV_COLUMNS
    assert (curve["kind"], curve["problems"]) == ("learned_router", str(N))
    # The text marks the hard problems: the cross-fitted router recovers nearly all the gap.
    assert float(curve["apgr"]) > 0.85 and curve["beats_random_mix"] == "yes"
    assert float(curve["apgr_minus_random_ci_low"]) > 0
    with (tmp_path / "attribution.csv").open() as f:
        table = {r["category"]: r for r in csv.DictReader(f)}
    assert list(table) == list(ROUTER_CATEGORIES)  # every category, empty ones too, in order
    counts = {k: int(r["count"]) for k, r in table.items()}
    assert counts == dict.fromkeys(ROUTER_CATEGORIES, 0) | {
        "right": 32,
        "wrong_without_delegation": 7,
        "accepted_wrong_delegation": 1,
    }
    assert float(table["right"]["share"]) == 0.8
    # LLM-only is right on every problem the router lost.
    assert table["wrong_without_delegation"]["llm_reference_accuracy"] == "1"
    assert table["error"]["llm_reference_accuracy"] == ""
    assert files[-1].name == "attribution.csv"


def _tags() -> tuple[dict[str, str], str, str, dict[str, float]]:
    tags = {"strategy": "router", "llm": "big", "slm": "small", "prompt": "cot", "dataset": "d"}
    return tags, "1", "s1", {}
