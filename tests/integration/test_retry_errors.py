"""``retry_errors=true``: a finished run's errored problems, and only those, are solved again inside
the same MLflow run, against a real local server; every other problem keeps its recorded
completion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from delegate.data import draw_sample, load_problems
from delegate.runner import run

from ..helpers import finished_runs, per_sample_table, resolved

pytestmark = pytest.mark.integration

SAMPLES = 8
INPUT, OUTPUT = 2.50, 10.00  # conf/llm/gpt-4o.yaml
BROKEN = json.dumps({"error": {"message": "upstream broke", "type": "server_error"}})


def config(url: str, store: str, *extra: str) -> dict:
    return resolved(
        "strategy=llm",
        "llm=gpt-4o",
        f"llm.base_url={url}",
        "llm.api_key_env=null",
        "llm.max_retries=0",
        "dataset=mini",
        f"samples={SAMPLES}",
        "concurrency=4",
        "max_tokens=50",
        "progress=false",
        "cache.enabled=false",
        "tracking.traces=false",
        f"tracking.uri={store}",
        "tracking.experiment=retry",
        *extra,
    )


def test_only_the_errored_problems_are_solved_again(
    metered_server, store: str, tmp_path: Path
) -> None:
    cfg = config("http://unused", store)
    sample = draw_sample(load_problems(cfg["dataset"]), SAMPLES, cfg["seed"])
    doomed = {p.question for p in sample[1:4]}
    failing = {"on": True}

    def fault(n: int, request: dict) -> tuple[int, dict, str] | None:
        asked = request["messages"][-1]["content"]
        if failing["on"] and any(q in asked for q in doomed):
            return (500, {}, BROKEN)
        return None

    server = metered_server(fault)
    first = run(config(server.url, store), tmp_path / "first")
    assert first["n_errors"] == 3 and first["n_problems"] == SAMPLES
    [finished] = finished_runs(store, "retry")
    assert finished.info.status == "FINISHED"
    answered_before = len(server.answered)
    assert answered_before == SAMPLES - 3

    failing["on"] = False
    second = run(config(server.url, store, "retry_errors=true"), tmp_path / "second")
    retried = server.questions()[answered_before:]
    assert sorted(q for q in retried for d in doomed if d in q) == sorted(retried)
    assert len(retried) == 3 and all(any(d in q for q in retried) for d in doomed)
    [reopened] = finished_runs(store, "retry")
    assert reopened.info.run_id == finished.info.run_id and reopened.info.status == "FINISHED"
    assert second["n_errors"] == 0 and second["n_problems"] == SAMPLES
    assert reopened.data.metrics["n_errors"] == 0
    table = per_sample_table(store, reopened)
    assert sorted(table["problem_id"]) == sorted(p.id for p in sample)  # replaced, not appended
    total = server.billed_usd(INPUT, OUTPUT)  # the failed calls billed nothing
    assert second["spent_usd"] == pytest.approx(total, rel=1e-9)
    assert second["billed_usd"] == pytest.approx(total, rel=1e-9)
    results = json.loads((tmp_path / "second" / "results_llm.json").read_text())
    assert results["resumed_problems"] == SAMPLES - 3

    # Nothing left to retry: the same command sends nothing and keeps the run.
    run(config(server.url, store, "retry_errors=true"), tmp_path / "third")
    assert len(server.answered) == answered_before + 3 and server.arrivals == SAMPLES + 3
    assert [r.info.run_id for r in finished_runs(store, "retry")] == [finished.info.run_id]


def test_retry_errors_with_resume_off_is_refused(store: str, tmp_path: Path) -> None:
    from delegate.errors import ConfigError

    cfg = config("http://127.0.0.1:9/v1", store, "retry_errors=true", "resume=false")
    with pytest.raises(ConfigError, match="retry_errors"):
        run(cfg, tmp_path / "run")
