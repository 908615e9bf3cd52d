"""A run whose answer takes the grader to its time limit: the check is cut off in its worker
process and counted wrong with its reason, every problem is recorded, and no completion is
requested twice because grading was slow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from delegate.plan import make_plan
from delegate.runner import run
from delegate.scoring import pool

from ..helpers import finished_runs, per_sample_table, resolved

pytestmark = pytest.mark.integration

SAMPLES = 4
HARD = r"The answer is \boxed{10^{10^{10}}}."  # sympy would work on this for minutes


def test_a_check_past_the_limit_is_cut_off_and_the_run_goes_on(
    table_server: Any, store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool.close_shared_pool()
    monkeypatch.setattr(pool, "TIME_LIMIT_S", 1.0)
    overrides = (
        "strategy=llm",
        "llm=gpt-4o",
        "llm.api_key_env=null",
        "dataset=math500",
        f"samples={SAMPLES}",
        "concurrency=4",
        "progress=false",
        "cache.enabled=false",
        f"tracking.uri={store}",
        "tracking.experiment=grading-limits",
    )
    # The slow answer goes to a problem whose gold is a number: against an interval or a tuple,
    # math-verify says "different" at once, and the check would never reach the limit.
    [target, *_] = [p for p in make_plan(resolved(*overrides)).problems if p.gold.isdigit()]

    def answer(request: dict) -> tuple[str, int, int]:
        slow = target.question in request["messages"][-1]["content"]
        return (HARD if slow else r"The answer is \boxed{3}.", 80, 20)

    server = table_server(answer)
    cfg = resolved(f"llm.base_url={server.url}", *overrides)
    try:
        metrics = run(cfg, tmp_path / "run")
    finally:
        pool.close_shared_pool()
    assert len(server.requests) == SAMPLES  # one request per model call: none bought twice
    assert metrics["n_problems"] == SAMPLES and metrics["grading_cut_off"] == 1
    rows = [json.loads(line) for line in (tmp_path / "run" / "per_sample.jsonl").open()]
    assert len(rows) == SAMPLES
    [cut] = [r for r in rows if r["grade_error"]]
    assert cut["extracted"] == "10^{10^{10}}" and cut["correct"] is False
    assert "1" in cut["grade_error"]  # the limit it was stopped at
    [logged] = finished_runs(store, "grading-limits")
    assert per_sample_table(store, logged)["grade_error"].notna().sum() == 1
