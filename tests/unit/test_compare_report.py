"""The comparison table on hand-made per-sample tables whose answers are worked out by hand."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from delegate.compare.plot import frontier
from delegate.compare.report import COLUMNS, compare, markdown, write_report
from delegate.compare.runs import RunResult

LLM, SLM = "big", "small"


def run(strategy: str, seed: str, results: dict[int, bool], cost: float, **extra: Any) -> RunResult:
    llm = LLM if strategy in ("llm", "router") else "none"
    slm = SLM if strategy in ("slm", "router") else "none"
    problems = [
        {
            "problem_id": pid,
            "correct": ok,
            "correct_strict": ok,
            "cost_usd": cost,
            "llm_input_tokens": 100 if llm != "none" else 0,
            "llm_output_tokens": 10 if llm != "none" else 0,
            "slm_input_tokens": 50 if slm != "none" else 0,
            "slm_output_tokens": 5 if slm != "none" else 0,
            "latency_s": float(pid),
            "tool_calls": 1 if strategy == "router" else 0,
            "error": extra.get("errors", {}).get(pid),
        }
        for pid, ok in results.items()
    ]
    n = len(problems)
    metrics = {
        "accuracy": sum(results.values()) / n,
        "cost_usd": cost * n,
        "n_problems": float(n),
    }
    config = (strategy, llm, slm, "cot", "mini:test")
    return RunResult(f"{strategy}-{seed}", config, seed, "s1", metrics, problems)


# Seed 1 draws problems 1-4, seed 2 problems 5-6; each strategy solves the same ones.
RUNS = [
    run("llm", "1", {1: True, 2: True, 3: True, 4: False}, 0.01),
    run("llm", "2", {5: True, 6: False}, 0.01),
    run("slm", "1", {1: True, 2: False, 3: False, 4: False}, 0.0),
    run("slm", "2", {5: False, 6: True}, 0.0),
    run("router", "1", {1: True, 2: True, 3: False, 4: True}, 0.004, errors={3: "Timeout: x"}),
    run("router", "2", {5: True, 6: False}, 0.004),
]


@pytest.fixture
def rows() -> dict[str, dict[str, Any]]:
    return {r["strategy"]: r for r in compare(RUNS)}


def test_rows_pool_every_seed_and_order_llm_router_slm(rows) -> None:
    assert [r["strategy"] for r in compare(RUNS)] == ["llm", "router", "slm"]
    llm = rows["llm"]
    assert (llm["seeds"], llm["runs"], llm["problems"]) == ("1 2", 2, 6)
    assert llm["accuracy"] == pytest.approx(4 / 6)
    # Wilson interval for 4 of 6 at 95%, worked by hand: (0.3000, 0.9032).
    assert llm["accuracy_ci_low"] == pytest.approx(0.3000, abs=1e-4)
    assert llm["accuracy_ci_high"] == pytest.approx(0.9032, abs=1e-4)
    assert llm["cost_per_problem_usd"] == pytest.approx(0.01)
    assert llm["cost_per_150_usd"] == pytest.approx(1.5)
    assert llm["llm_input_tokens_per_problem"] == 100 and llm["slm_input_tokens_per_problem"] == 0
    # latencies 1..6 s: p50 3.5, p95 5.75 (linear interpolation)
    assert (llm["latency_p50_s"], llm["latency_p95_s"]) == pytest.approx((3.5, 5.75))
    assert rows["router"]["errors"] == 1 and llm["errors"] == 0
    assert rows["router"]["delegation_rate"] == 1.0 and llm["delegation_rate"] == 0.0


def test_router_against_llm_only_on_the_shared_problems(rows) -> None:
    router = rows["router"]
    # Pairs (seed, id): both right 3, only the LLM (1,3), only the router (1,4), neither (2,6).
    assert router["vs_llm_shared_problems"] == 6
    assert router["vs_llm_accuracy_change"] == 0.0
    assert router["vs_llm_mcnemar_p"] == 1.0  # one discordant pair each way
    assert router["vs_llm_cost_reduction"] == pytest.approx(0.6)  # $0.004 against $0.01
    slm = rows["slm"]
    # SLM against LLM: only the LLM (1,2), (1,3), (2,5); only the SLM (2,6): p = 2*5/16.
    assert slm["vs_llm_accuracy_change"] == pytest.approx(-2 / 6)
    assert slm["vs_llm_mcnemar_p"] == pytest.approx(0.625)
    assert slm["vs_llm_cost_reduction"] == 1.0
    assert rows["llm"]["vs_llm_shared_problems"] is None  # not compared with itself


def test_router_baselines_from_the_llm_and_slm_tables(rows) -> None:
    router = rows["router"]
    # Oracle: right where either alone was right: all but (1,4): 5 of 6.
    assert (router["oracle_accuracy"], router["oracle_problems"]) == (pytest.approx(5 / 6), 6)
    # Random mix at $0.004: share 0.4 of the LLM's 4/6 and 0.6 of the SLM's 2/6 = 2.8/6.
    assert router["random_mix_share_llm"] == pytest.approx(0.4)
    assert router["random_mix_accuracy"] == pytest.approx(2.8 / 6)
    assert rows["llm"]["oracle_accuracy"] is None and rows["slm"]["random_mix_accuracy"] is None


def test_rows_are_compared_only_with_the_same_prompt() -> None:
    other = [
        RunResult(
            r.run_id,
            (*r.config[:3], "reference", r.config[4]),
            r.seed,
            r.sweep,
            r.metrics,
            r.problems,
        )
        for r in RUNS
        if r.config[0] == "router"
    ]
    mixed = {r["prompt"]: r for r in compare([*RUNS[:4], *other])}
    assert mixed["reference"]["vs_llm_shared_problems"] is None  # no LLM-only run with it


def test_report_files(tmp_path: Path) -> None:
    files, rows = write_report("exp", "s1", tmp_path, RUNS)
    assert rows == compare(RUNS)
    assert [f.name for f in files] == ["comparison.csv", "comparison.json", "pareto.png"]
    with files[0].open() as f:
        table = list(csv.DictReader(f))
    assert tuple(table[0]) == COLUMNS and len(table) == 3
    assert float(table[1]["vs_llm_cost_reduction"]) == pytest.approx(0.6)
    document = json.loads(files[1].read_text())
    assert document["sweep"] == "s1" and len(document["runs"]) == 6
    assert files[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tables = markdown(compare(RUNS))
    assert "| router (big + small, cot) | 1 2 | 6 | 66.7% (30.0%-90.3%) | $0.6000 |" in tables
    assert (
        "| router (big + small, cot) | 100 / 10 | 50 / 5 | 3.5 s / 5.8 s | 1.00 | 100.0% | 1 |"
        in (tables)
    )


def test_frontier_keeps_only_points_nothing_beats() -> None:
    points = [(0.0, 0.3), (0.004, 0.67), (0.01, 0.67), (0.02, 0.9), (0.0, 0.2), (0.03, 0.5)]
    assert frontier(points) == [(0.0, 0.3), (0.004, 0.67), (0.02, 0.9)]
