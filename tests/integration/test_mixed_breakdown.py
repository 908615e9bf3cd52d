"""A ``dataset=mixed`` run against a real OpenAI-compatible server on 127.0.0.1 that answers SVAMP
and GSM8K problems right and GSM-Hard and MATH-500 problems wrong logs exactly those per-source
accuracies, per-level accuracies that follow from the sources' levels, and the comparison report
by level and by source says the same."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from delegate.compare.report import write_report
from delegate.data import draw_sample, load_problems
from delegate.runner import run

from ..helpers import finished_runs, resolved

pytestmark = pytest.mark.integration

SAMPLES, EXPERIMENT = 20, "mixed-breakdown"
RIGHT = {"svamp", "gsm8k"}  # the server answers these sources' problems right, the rest wrong
PROMPT_TOKENS, COMPLETION_TOKENS = 100, 10
# gpt-4o's list price: $2.50 per 1M input tokens, $10.00 per 1M output tokens.
COST_PER_PROBLEM = (PROMPT_TOKENS * 2.50 + COMPLETION_TOKENS * 10.00) / 1e6


def _overrides(url: str, store: str) -> list[str]:
    return [
        "strategy=llm",
        "llm=gpt-4o",
        f"llm.base_url={url}",
        "llm.api_key_env=null",
        "dataset=mixed",
        f"samples={SAMPLES}",
        "progress=false",
        "cache.enabled=false",
        "tracking.traces=false",
        f"tracking.uri={store}",
        f"tracking.experiment={EXPERIMENT}",
    ]


def test_a_mixed_run_logs_the_accuracy_of_each_source_and_level(
    table_server: Any, store: str, tmp_path: Path
) -> None:
    import mlflow

    cfg = resolved(*_overrides("http://127.0.0.1:1/v1", store))
    problems = draw_sample(load_problems(cfg["dataset"]), SAMPLES, cfg["seed"])
    # The default mix, worked by hand: svamp and gsm8k 0.2 each (4 problems), gsm-hard and each
    # MATH-500 level 0.1 each (2 problems); svamp is level 1, gsm8k 2, gsm-hard 3.
    assert Counter((p.source, p.level) for p in problems) == {
        ("svamp", 1): 4,
        ("gsm8k", 2): 4,
        ("gsm-hard", 3): 2,
        **{("math500", k): 2 for k in range(1, 6)},
    }
    by_question = {p.question.strip(): p for p in problems}

    def answer(request: dict[str, Any]) -> tuple[str, int, int]:
        problem = by_question[str(request["messages"][-1]["content"]).strip()]
        boxed = problem.gold if problem.source in RIGHT else "-987654321"
        return f"So the answer is \\boxed{{{boxed}}}.", PROMPT_TOKENS, COMPLETION_TOKENS

    server = table_server(answer)
    run(resolved(*_overrides(server.url, store)), tmp_path / "run")
    assert len(server.requests) == SAMPLES

    [logged] = finished_runs(store, EXPERIMENT)
    metrics = logged.data.metrics
    assert metrics["accuracy"] == pytest.approx(8 / 20)
    assert {s: metrics[f"accuracy/{s}"] for s in ("svamp", "gsm8k", "gsm-hard", "math500")} == {
        "svamp": 1.0,
        "gsm8k": 1.0,
        "gsm-hard": 0.0,
        "math500": 0.0,
    }
    assert metrics["n_problems/math500"] == 10 and metrics["n_problems/gsm-hard"] == 2
    # Level 1: 4 svamp (right) and 2 MATH-500 (wrong); level 2: 4 gsm8k and 2 MATH-500;
    # level 3: 2 gsm-hard and 2 MATH-500; levels 4 and 5: MATH-500 alone.
    levels = {
        k: (metrics[f"n_problems/level_{k}"], metrics[f"accuracy/level_{k}"]) for k in range(1, 6)
    }
    assert levels == {
        1: (6, pytest.approx(4 / 6)),
        2: (6, pytest.approx(4 / 6)),
        3: (4, 0.0),
        4: (2, 0.0),
        5: (2, 0.0),
    }
    assert metrics["cost_per_problem_usd/level_3"] == pytest.approx(COST_PER_PROBLEM)

    mlflow.set_tracking_uri(store)  # the report reads the runs back through MLflow alone
    files, rows = write_report(EXPERIMENT, None, tmp_path / "report")
    assert {"comparison_by_level.csv", "comparison_by_source.csv", "by_level.png"} <= {
        f.name for f in files
    }
    with (tmp_path / "report" / "comparison_by_level.csv").open() as f:
        table = list(csv.DictReader(f))
    [row] = rows
    assert [r["configuration"] for r in table] == [row["configuration"]] * 5
    assert [(int(r["level"]), int(r["problems"])) for r in table] == [
        (1, 6),
        (2, 6),
        (3, 4),
        (4, 2),
        (5, 2),
    ]
    assert [float(r["accuracy"]) for r in table] == pytest.approx([4 / 6, 4 / 6, 0, 0, 0])
    assert all(float(r["delegation_rate"]) == 0.0 for r in table)
    costs = [float(r["cost_per_problem_usd"]) for r in table]
    assert costs == pytest.approx([COST_PER_PROBLEM] * 5)
    with (tmp_path / "report" / "comparison_by_source.csv").open() as f:
        sources = {
            r["source"]: (int(r["problems"]), float(r["accuracy"])) for r in csv.DictReader(f)
        }
    assert sources == {
        "svamp": (4, 1.0),
        "gsm8k": (4, 1.0),
        "gsm-hard": (2, 0.0),
        "math500": (10, 0.0),
    }
