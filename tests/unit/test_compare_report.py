"""The comparison table on hand-made per-sample tables whose answers are worked out by hand."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from delegate.compare.analysis.summaries import frontier
from delegate.compare.report import COLUMNS, ROW_COLUMNS, compare, markdown, write_report
from delegate.compare.runs import Loaded, RunResult
from delegate.identity import config_id, identity_document, run_identity
from delegate.records import read_records

LLM, SLM = "big", "small"
PROMPTS = {
    "system": "Solve it; answer in \\boxed{}.",
    "user": "{question}",
    "router_system": "Solve it; you may ask the small model.",
}
DATASET = {"name": "mini", "split": "test", "content_sha256": "abc", "samples": 4}


def model(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "backend": "openai",
        "model": name,
        "temperature": 0.0,
        "price": {"input": 1.0},
        **extra,
    }


def document(
    strategy: str, router: dict[str, Any] | None = None, dataset: dict[str, Any] | None = None
) -> dict[str, Any]:
    models: dict[str, Any] = {}
    if strategy in ("llm", "router"):
        models["llm"] = model(LLM, **({"tool_protocol": "native"} if strategy == "router" else {}))
    if strategy in ("slm", "router"):
        models["slm"] = model(SLM)
    fields = ("router_system", "user") if strategy == "router" else ("system", "user")
    settings = None
    if strategy == "router":
        settings = {"max_tool_calls": 3, "tool_result": "boxed", **(router or {})}
    ident = run_identity(
        strategy, settings, models, {f: PROMPTS[f] for f in fields}, dataset or DATASET
    )
    return identity_document(ident, PROMPTS)


def question(pid: int) -> str:
    return f"Problem {pid}: what is {pid} + {pid}?"


def run(
    doc: dict[str, Any],
    seed: str,
    results: dict[int, bool],
    cost: float,
    errors: dict[int, str] | None = None,
    questions: dict[int, str] | None = None,
    extracted: dict[int, str] | None = None,
) -> RunResult:
    strategy = doc["identity"]["strategy"]
    llm = LLM if "llm" in doc["identity"] else "none"
    slm = SLM if "slm" in doc["identity"] else "none"
    problems = [
        {
            "problem_id": pid,
            "question": (questions or {}).get(pid, question(pid)),
            "gold": str(2 * pid),
            "final_text": "",
            "correct": ok,
            "correct_strict": ok,
            "cost_usd": cost,
            "llm_cost_usd": cost if llm != "none" else 0.0,
            "slm_cost_usd": cost if llm == "none" else 0.0,
            "llm_input_tokens": 100 if llm != "none" else 0,
            "llm_output_tokens": 10 if llm != "none" else 0,
            "slm_input_tokens": 50 if slm != "none" else 0,
            "slm_output_tokens": 5 if slm != "none" else 0,
            "latency_s": float(pid),
            "tool_calls": 1 if strategy == "router" else 0,
            "truncated": False,
            "error": (errors or {}).get(pid),
            "extracted_by": (extracted or {}).get(
                pid, "boxed" if slm == "none" or llm != "none" else ""
            ),
        }
        for pid, ok in results.items()
    ]
    n = len(problems)
    metrics = {"accuracy": sum(results.values()) / n, "cost_usd": cost * n, "n_problems": n}
    tags = {"strategy": strategy, "llm": llm, "slm": slm, "prompt": "cot", "dataset": "mini:test"}
    cid = doc["config_id"]
    return RunResult(f"{cid}-{seed}", cid, tags, seed, "s1", metrics, read_records(problems))


def loaded(*runs_and_docs: tuple[RunResult, dict[str, Any]]) -> Loaded:
    return Loaded([r for r, _ in runs_and_docs], {d["config_id"]: d for _, d in runs_and_docs})


LLM_DOC, SLM_DOC, ROUTER_DOC = document("llm"), document("slm"), document("router")
# Seed 1 draws problems 1-4, seed 2 problems 5-6; each strategy solves the same ones.
RUNS = [
    (run(LLM_DOC, "1", {1: True, 2: True, 3: True, 4: False}, 0.01), LLM_DOC),
    (run(LLM_DOC, "2", {5: True, 6: False}, 0.01), LLM_DOC),
    (run(SLM_DOC, "1", {1: True, 2: False, 3: False, 4: False}, 0.0), SLM_DOC),
    (run(SLM_DOC, "2", {5: False, 6: True}, 0.0), SLM_DOC),
    (
        run(
            ROUTER_DOC,
            "1",
            {1: True, 2: True, 3: False, 4: True},
            0.004,
            {3: "Timeout: x"},
            extracted={3: "none", 4: "json"},
        ),
        ROUTER_DOC,
    ),
    (run(ROUTER_DOC, "2", {5: True, 6: False}, 0.004), ROUTER_DOC),
]


@pytest.fixture
def rows() -> dict[str, dict[str, Any]]:
    return {r["strategy"]: r for r in compare(loaded(*RUNS))[0]}


def test_rows_pool_every_seed_and_order_llm_router_slm(rows) -> None:
    assert [r["strategy"] for r in compare(loaded(*RUNS))[0]] == ["llm", "router", "slm"]
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
    assert router["llm_reference"] == "llm (big, cot)"
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


def test_router_settings_are_separate_rows_labelled_with_what_differs() -> None:
    one, three = document("router", {"max_tool_calls": 1}), ROUTER_DOC
    runs = [
        *RUNS[:4],
        *[(run(one, s, {1: True, 5: False}, 0.002), one) for s in ("1", "2")],
        *[(run(three, s, {1: True, 5: True}, 0.006), three) for s in ("1", "2")],
    ]
    rows, settings = compare(loaded(*runs))
    assert settings == ["router.max_tool_calls"]
    routers = {r["router.max_tool_calls"]: r for r in rows if r["strategy"] == "router"}
    assert routers[1]["configuration"] == "router (big + small, cot; router.max_tool_calls=1)"
    assert routers[3]["configuration"] == "router (big + small, cot; router.max_tool_calls=3)"
    assert (routers[1]["runs"], routers[1]["seeds"]) == (2, "1 2")
    assert [r["configuration"] for r in rows if r["strategy"] == "llm"] == ["llm (big, cot)"]


def test_an_llm_run_with_another_sample_or_dataset_is_never_the_reference() -> None:
    for other in ({**DATASET, "samples": 5}, {**DATASET, "content_sha256": "edited"}):
        llm = document("llm", dataset=other)
        runs = [(run(llm, "1", {1: True, 2: True}, 0.01), llm), RUNS[4]]
        rows = {r["strategy"]: r for r in compare(loaded(*runs))[0]}
        assert rows["router"]["llm_reference"] == "none"
        assert rows["router"]["vs_llm_shared_problems"] is None


def test_a_reordered_copy_is_never_paired_with_the_original() -> None:
    # The same ids, but another file put other questions under them.
    moved = {pid: question(pid + 1) for pid in range(1, 5)}
    router = run(ROUTER_DOC, "1", {1: True, 2: True, 3: False, 4: True}, 0.004, questions=moved)
    rows = {r["strategy"]: r for r in compare(loaded(RUNS[0], (router, ROUTER_DOC)))[0]}
    assert rows["router"]["vs_llm_shared_problems"] == 0


def test_a_mix_that_costs_more_than_llm_only_has_no_random_mix() -> None:
    dear = run(ROUTER_DOC, "1", {1: True, 2: True, 3: True, 4: True}, 0.043)
    rows = {r["strategy"]: r for r in compare(loaded(RUNS[0], RUNS[2], (dear, ROUTER_DOC)))[0]}
    router = rows["router"]
    assert router["random_mix_accuracy"] is None and router["random_mix_share_llm"] is None
    assert router["vs_llm_cost_ratio"] == pytest.approx(4.3)
    table = markdown(list(rows.values()))
    assert "4.3x the cost" in table and "n/a (no mix costs this)" in table


def test_report_files(tmp_path: Path) -> None:
    files, rows = write_report("exp", "s1", tmp_path, loaded(*RUNS))
    compared = compare(loaded(*RUNS))[0]
    assert [{k: r[k] for k in c} for r, c in zip(rows, compared, strict=True)] == compared
    names = ["comparison.csv", "comparison.json", "pareto.png", "curves.csv", "attribution.csv"]
    assert [f.name for f in files] == names
    with files[0].open() as f:
        table = list(csv.DictReader(f))
    assert tuple(table[0]) == (*COLUMNS, *ROW_COLUMNS) and len(table) == 3
    # The router's PGR against SLM-only (2/6) and LLM-only (4/6): (4/6 - 2/6) / (2/6).
    assert float(table[1]["pgr"]) == pytest.approx(1.0)
    assert files[3].read_text().count("\n") == 1  # one router is a point, not a curve
    assert float(table[1]["vs_llm_cost_reduction"]) == pytest.approx(0.6)
    document = json.loads(files[1].read_text())
    assert document["sweep"] == "s1" and len(document["runs"]) == 6
    assert files[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tables = markdown(rows)
    assert "| router (big + small, cot) | 1 2 | 6 | 66.7% (30.0%-90.3%) | $0.6000 |" in tables
    assert "-60%" in tables
    assert (
        "| router (big + small, cot) | 100 / 10 | 50 / 5 | 3.5 s / 5.8 s | 1.00 | 100.0% "
        "| 0.0% | 1 | 0 | boxed 67%, json 17%, none 17% |" in tables
    )
    assert "| 0 | 0 | unrecorded 100% |" in tables  # the SLM-only rows recorded no rule


def test_the_rule_that_read_each_answer_is_shown_per_configuration(rows, tmp_path: Path) -> None:
    # issue 17: a result that rests on fallbacks shows, per configuration
    assert rows["llm"]["extracted_by"] == {"boxed": 1.0}
    assert rows["router"]["extracted_by"] == pytest.approx(
        {"boxed": 4 / 6, "json": 1 / 6, "none": 1 / 6}
    )
    assert rows["slm"]["extracted_by"] == {"unrecorded": 1.0}
    files, _ = write_report("exp", "s1", tmp_path, loaded(*RUNS))
    with files[0].open() as f:
        by_strategy = {r["strategy"]: r for r in csv.DictReader(f)}
    assert json.loads(by_strategy["router"]["extracted_by"]) == pytest.approx(
        {"boxed": 4 / 6, "json": 1 / 6, "none": 1 / 6}
    )


def test_identity_ids_ignore_key_order() -> None:
    assert config_id({"a": 1, "b": {"c": 2}}) == config_id({"b": {"c": 2}, "a": 1})


def test_frontier_keeps_only_points_nothing_beats() -> None:
    points = [(0.0, 0.3), (0.004, 0.67), (0.01, 0.67), (0.02, 0.9), (0.0, 0.2), (0.03, 0.5)]
    assert frontier(points) == [(0.0, 0.3), (0.004, 0.67), (0.02, 0.9)]
