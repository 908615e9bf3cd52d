"""The comparison by level and by source, on hand-made per-sample tables worked out by hand."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest

from delegate.compare.attribution import CASCADE_CATEGORIES, ROUTER_CATEGORIES
from delegate.compare.levels import LEVEL_COLUMNS, SOURCE_COLUMNS, by_group
from delegate.compare.report import build, markdown, write_report
from delegate.compare.runs import Loaded, RunResult
from delegate.identity import identity_document, run_identity
from delegate.records import read_records

from .test_compare_report import DATASET, PROMPTS, document, model

# Problem id -> (source, level). Seed 1 draws problems 1-4, seed 2 problems 5-6.
PROBLEMS = {
    1: ("svamp", 1),
    2: ("svamp", 1),
    3: ("gsm8k", 2),
    4: ("math500", 1),
    5: ("math500", 3),
    6: ("math500", 3),
}
SEEDS = {"1": (1, 2, 3, 4), "2": (5, 6)}


def cascade_document() -> dict[str, Any]:
    models = {"llm": model("big"), "slm": model("small")}
    prompts = {f: PROMPTS[f] for f in ("system", "user")}
    ident = run_identity("cascade", {"threshold": 0.75}, models, prompts, DATASET)
    return identity_document(ident, PROMPTS)


def runs_of(
    doc: dict[str, Any],
    right: set[int],
    cost: dict[int, float],
    delegated: set[int] = frozenset(),  # type: ignore[assignment]
    escalated: set[int] = frozenset(),  # type: ignore[assignment]
    edit: dict[int, dict[str, Any]] | None = None,
) -> list[tuple[RunResult, dict[str, Any]]]:
    """One run per seed of this configuration, its rows as the per-sample table holds them."""
    strategy = doc["identity"]["strategy"]
    tags = {"strategy": strategy, "llm": "big", "slm": "small", "prompt": "cot", "dataset": "mini"}
    result = []
    for seed, ids in SEEDS.items():
        problems = [
            {
                "problem_id": pid,
                "question": f"Problem {pid}: what is {pid} + {pid}?",
                "gold": str(2 * pid),
                "final_text": "",
                "correct": pid in right,
                "correct_strict": pid in right,
                "cost_usd": cost[pid],
                "llm_cost_usd": cost[pid],
                "latency_s": 1.0,
                "tool_calls": int(pid in delegated),
                "slm_tool_calls": int(pid in delegated),
                "escalated": pid in escalated,
                "source": PROBLEMS[pid][0],
                "level": PROBLEMS[pid][1],
                **(edit or {}).get(pid, {}),
            }
            for pid in ids
        ]
        records = read_records(problems)
        run = RunResult(
            f"{doc['config_id']}-{seed}", doc["config_id"], tags, seed, "s1", {}, records
        )
        result.append((run, doc))
    return result


LLM_DOC, ROUTER_DOC, CASCADE_DOC = document("llm"), document("router"), cascade_document()
CHEAP, DEAR = 0.002, 0.01
RUNS = [
    *runs_of(LLM_DOC, right={1, 2, 3, 5}, cost=dict.fromkeys(PROBLEMS, DEAR)),
    *runs_of(
        ROUTER_DOC,
        right={1, 3, 4},
        cost={1: CHEAP, 2: CHEAP, 3: DEAR, 4: CHEAP, 5: DEAR, 6: DEAR},
        delegated={1, 2, 4},
    ),
    *runs_of(
        CASCADE_DOC,
        right={1, 2, 5},
        cost={1: CHEAP, 2: CHEAP, 3: CHEAP, 4: CHEAP, 5: DEAR, 6: DEAR},
        escalated={5, 6},
    ),
]
LOADED = Loaded([r for r, _ in RUNS], {d["config_id"]: d for _, d in RUNS})


@pytest.fixture
def tables() -> tuple[dict[tuple[str, int], dict[str, Any]], dict[tuple[str, str], Any]]:
    comparison = build(LOADED)
    by_level, by_source = by_group(comparison.rows, comparison.configs.values())
    return (
        {(r["strategy"], r["level"]): r for r in by_level},
        {(r["strategy"], r["source"]): r for r in by_source},
    )


def test_levels_pool_every_seed(tables) -> None:
    levels, _ = tables
    # Level 1 is problems 1, 2 (seed 1, svamp) and 4 (seed 1, math500); level 3 is 5, 6 (seed 2).
    llm = levels[("llm", 1)]
    assert llm["problems"] == 3 and llm["accuracy"] == pytest.approx(2 / 3)
    # Wilson interval for 2 of 3 at 95%, worked by hand: (0.2077, 0.9385).
    assert llm["accuracy_ci_low"] == pytest.approx(0.2077, abs=1e-4)
    assert llm["accuracy_ci_high"] == pytest.approx(0.9385, abs=1e-4)
    assert llm["delegation_rate"] == 0.0 and llm["escalation_rate"] == 0.0
    assert llm["cost_per_problem_usd"] == pytest.approx(DEAR)
    assert levels[("llm", 2)]["problems"] == 1 and levels[("llm", 2)]["accuracy"] == 1.0
    assert levels[("llm", 3)]["accuracy"] == 0.5
    # 1 of 2: Wilson (0.0945, 0.9055).
    assert levels[("llm", 3)]["accuracy_ci_low"] == pytest.approx(0.0945, abs=1e-4)


def test_the_router_hands_over_the_easy_level_only(tables) -> None:
    levels, _ = tables
    easy, middle, hard = (levels[("router", k)] for k in (1, 2, 3))
    assert easy["delegation_rate"] == 1.0 and easy["accuracy"] == pytest.approx(2 / 3)
    assert easy["cost_per_problem_usd"] == pytest.approx(CHEAP)
    assert middle["delegation_rate"] == 0.0 and middle["accuracy"] == 1.0
    assert hard["delegation_rate"] == 0.0 and hard["accuracy"] == 0.0
    assert (hard["accuracy_ci_low"], hard["accuracy_ci_high"]) == (
        0.0,
        pytest.approx(0.6576, abs=1e-4),
    )
    assert all(r["escalation_rate"] == 0.0 for r in (easy, middle, hard))


def test_the_cascade_escalates_the_hard_level_only(tables) -> None:
    levels, _ = tables
    assert [levels[("cascade", k)]["escalation_rate"] for k in (1, 2, 3)] == [0.0, 0.0, 1.0]
    # Level 3: both escalated at $0.01; level 1: all three answered by the small model.
    assert levels[("cascade", 3)]["cost_per_problem_usd"] == pytest.approx(DEAR)
    assert levels[("cascade", 1)]["cost_per_problem_usd"] == pytest.approx(CHEAP)
    assert levels[("cascade", 3)]["accuracy"] == 0.5
    assert levels[("cascade", 1)]["delegation_rate"] == 0.0


def test_each_level_counts_where_the_router_and_the_cascade_went_wrong(tables) -> None:
    levels, _ = tables
    router, cascade = dict.fromkeys(ROUTER_CATEGORIES, 0), dict.fromkeys(CASCADE_CATEGORIES, 0)
    # Router, level 1: problems 1 and 4 right; 2 delegated and wrong, no small answer logged.
    assert levels[("router", 1)]["attribution"] == router | {
        "right": 2,
        "wrong_after_delegation": 1,
    }
    assert levels[("router", 2)]["attribution"] == router | {"right": 1}
    assert levels[("router", 3)]["attribution"] == router | {"wrong_without_delegation": 2}
    # Cascade: 4 (level 1) and 3 (level 2) kept wrong; 6 (level 3) escalated and still wrong.
    assert levels[("cascade", 1)]["attribution"] == cascade | {"right": 2, "confident_and_wrong": 1}
    assert levels[("cascade", 2)]["attribution"] == cascade | {"confident_and_wrong": 1}
    assert levels[("cascade", 3)]["attribution"] == cascade | {"right": 1, "escalated_and_wrong": 1}
    assert all(levels[("llm", k)]["attribution"] is None for k in (1, 2, 3))  # no categories


def test_by_source(tables) -> None:
    _, sources = tables
    svamp, math500 = sources[("router", "svamp")], sources[("router", "math500")]
    assert (svamp["problems"], svamp["accuracy"], svamp["delegation_rate"]) == (2, 0.5, 1.0)
    # math500 is problems 4 (right, delegated, $0.002), 5 and 6 (wrong, $0.01 each).
    assert math500["problems"] == 3 and math500["accuracy"] == pytest.approx(1 / 3)
    assert math500["delegation_rate"] == pytest.approx(1 / 3)
    assert math500["cost_per_problem_usd"] == pytest.approx((CHEAP + 2 * DEAR) / 3)
    assert sources[("llm", "gsm8k")]["accuracy"] == 1.0


def test_order_follows_the_comparison_then_level_and_first_appearance() -> None:
    comparison = build(LOADED)
    by_level, by_source = by_group(comparison.rows, comparison.configs.values())
    order = [r.config.label for r in comparison.rows]
    assert [(r["configuration"], r["level"]) for r in by_level] == [
        (c, k) for c in order for k in (1, 2, 3)
    ]
    assert [(r["configuration"], r["source"]) for r in by_source] == [
        (c, s) for c in order for s in ("svamp", "gsm8k", "math500")
    ]


def test_rows_without_level_or_source_are_in_no_group() -> None:
    # As an older run's table reads back: NaN level, None source (problem 1: svamp, level 1).
    old = {1: {"level": math.nan, "source": None}}
    [(run, doc), *_] = runs_of(LLM_DOC, right={1}, cost=dict.fromkeys(PROBLEMS, DEAR), edit=old)
    assert (run.records[0].level, run.records[0].source) == (None, "")
    loaded = Loaded([run], {doc["config_id"]: doc})
    comparison = build(loaded)
    by_level, by_source = by_group(comparison.rows, comparison.configs.values())
    assert [(r["level"], r["problems"]) for r in by_level] == [(1, 2), (2, 1)]
    assert [(r["source"], r["problems"]) for r in by_source] == [
        ("svamp", 1),
        ("gsm8k", 1),
        ("math500", 1),
    ]
    assert by_level[0]["accuracy"] == 0.0  # problem 1, the only right one, is in no group


def test_report_writes_the_tables_and_the_picture(tmp_path: Path) -> None:
    files, rows = write_report("exp", "s1", tmp_path, LOADED)
    assert [f.name for f in files[3:]] == [
        "curves.csv",
        "attribution.csv",
        "comparison_by_level.csv",
        "comparison_by_source.csv",
        "by_level.png",
    ]
    with (tmp_path / "comparison_by_level.csv").open() as f:
        table = list(csv.DictReader(f))
    assert tuple(table[0]) == LEVEL_COLUMNS and len(table) == 9
    labels = {r["config_id"]: r["configuration"] for r in rows}
    assert all(r["configuration"] == labels[r["config_id"]] for r in table)
    router_easy = next(r for r in table if r["strategy"] == "router" and r["level"] == "1")
    assert router_easy["problems"] == "3" and float(router_easy["delegation_rate"]) == 1.0
    assert float(router_easy["accuracy"]) == pytest.approx(2 / 3, abs=1e-6)
    assert json.loads(router_easy["attribution"]) == {
        **dict.fromkeys(ROUTER_CATEGORIES, 0),
        "right": 2,
        "wrong_after_delegation": 1,
    }
    llm_easy = next(r for r in table if r["strategy"] == "llm" and r["level"] == "1")
    assert llm_easy["attribution"] == ""
    with (tmp_path / "comparison_by_source.csv").open() as f:
        sources = list(csv.DictReader(f))
    assert tuple(sources[0]) == SOURCE_COLUMNS and len(sources) == 9
    assert (tmp_path / "by_level.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_comparison_csv_and_the_headline_table_show_the_cascades_escalation(tmp_path: Path) -> None:
    _, rows = write_report("exp", "s1", tmp_path, LOADED)
    with (tmp_path / "comparison.csv").open() as f:
        table = {r["strategy"]: r for r in csv.DictReader(f)}
    assert float(table["cascade"]["escalation_rate"]) == pytest.approx(2 / 6, abs=1e-6)
    assert float(table["router"]["escalation_rate"]) == 0.0
    assert "| escalation rate |" in markdown(rows)
    assert "| 33.3% |" in markdown([r for r in rows if r["strategy"] == "cascade"])
