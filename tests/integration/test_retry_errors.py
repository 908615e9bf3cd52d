"""``retry_errors=true``: a finished run's errored problems, and only those, are solved again in a
new MLflow run that carries the finished run's good records, against a real local server; the
finished run is never changed."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from delegate.data import draw_sample, load_problems
from delegate.runner import BudgetStopped, Terminated, run
from delegate.tags import ERROR_TAG, STOPPED_TAG, SWEEP_TAG

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


def failing_on(metered_server: Any, store: str, which: slice) -> tuple[list, set, dict, Any]:
    """A metered server that answers the sample's ``which`` problems 500 while
    ``failing["on"]``; returns the sample, those questions, the switch and the server. With the
    switch off, a callable put in ``failing["then"]`` is called once, by the first request for
    one of those problems."""
    cfg = config("http://unused", store)
    sample = draw_sample(load_problems(cfg["dataset"]), SAMPLES, cfg["seed"])
    doomed = {p.question for p in sample[which]}
    failing: dict[str, Any] = {"on": True}

    def fault(n: int, request: dict) -> tuple[int, dict, str] | None:
        asked = request["messages"][-1]["content"]
        if any(q in asked for q in doomed):
            if failing["on"]:
                return (500, {}, BROKEN)
            then = failing.pop("then", None)  # atomic: the one request that takes it calls it
            if then is not None:
                then()
        return None

    return sample, doomed, failing, metered_server(fault)


def test_only_the_errored_problems_are_solved_again(
    metered_server, store: str, tmp_path: Path
) -> None:
    sample, doomed, failing, server = failing_on(metered_server, store, slice(1, 4))
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
    # The retry is a new run; the finished one is left exactly as it was.
    original, retry = finished_runs(store, "retry")
    assert original.info.run_id == finished.info.run_id and original.info.status == "FINISHED"
    assert original.data.metrics["n_errors"] == 3
    assert sorted(per_sample_table(store, original)["problem_id"]) == sorted(p.id for p in sample)
    assert retry.info.status == "FINISHED" and retry.data.tags["retry_of"] == finished.info.run_id
    assert retry.data.tags["config_id"] == finished.data.tags["config_id"]
    assert second["n_errors"] == 0 and second["n_problems"] == SAMPLES
    assert retry.data.metrics["n_errors"] == 0
    table = per_sample_table(store, retry)
    assert sorted(table["problem_id"]) == sorted(p.id for p in sample)
    total = server.billed_usd(INPUT, OUTPUT)  # the failed calls billed nothing
    assert second["spent_usd"] == pytest.approx(total, rel=1e-9)
    assert second["billed_usd"] == pytest.approx(total, rel=1e-9)
    results = json.loads((tmp_path / "second" / "results_llm.json").read_text())
    assert results["resumed_problems"] == SAMPLES - 3

    # Nothing left to retry: the same command sends nothing and makes no run.
    third = run(config(server.url, store, "retry_errors=true"), tmp_path / "third")
    assert len(server.answered) == answered_before + 3 and server.arrivals == SAMPLES + 3
    assert [r.info.run_id for r in finished_runs(store, "retry")] == [
        finished.info.run_id,
        retry.info.run_id,
    ]
    assert third["n_errors"] == 0 and third["accuracy"] == second["accuracy"]


def test_a_retry_stopped_by_its_budget_leaves_the_finished_run_intact(
    metered_server, store: str, tmp_path: Path
) -> None:
    """Any stop during a retry (here the budget) ends the retry's own run; the finished run keeps
    its status, metrics and table, and the report still finds it."""
    from delegate.compare.runs import load_runs

    _, _, failing, server = failing_on(metered_server, store, slice(0, 2))
    first = run(config(server.url, store), tmp_path / "first")
    assert first["n_errors"] == 2
    failing["on"] = False
    # What the first run billed, and not a cent more: no retried call fits.
    cap = f"budget_usd={first['spent_usd'] * 1.000001}"
    with pytest.raises(BudgetStopped):
        run(config(server.url, store, "retry_errors=true", cap), tmp_path / "second")
    original, retry = finished_runs(store, "retry")
    assert original.info.status == "FINISHED" and original.data.metrics["n_errors"] == 2
    assert "error" not in original.data.tags and "stopped" not in original.data.tags
    assert retry.info.status == "KILLED" and retry.data.tags["stopped"] == "budget"
    [reported] = load_runs("retry").runs
    assert reported.run_id == original.info.run_id


def test_a_retry_stopped_by_sigterm_leaves_the_finished_run_intact(
    metered_server, store: str, tmp_path: Path
) -> None:
    """SIGTERM to this process while the retry's first call is in flight (the run's own handler
    cancels it, as the CLI's does): the retry's run ends FAILED; the finished run keeps its
    status, tags and table."""
    from delegate.compare.runs import load_runs

    sample, _, failing, server = failing_on(metered_server, store, slice(0, 2))
    first = run(config(server.url, store), tmp_path / "first")
    assert first["n_errors"] == 2
    failing["on"] = False
    failing["then"] = lambda: os.kill(os.getpid(), signal.SIGTERM)
    with pytest.raises(Terminated):
        run(config(server.url, store, "retry_errors=true"), tmp_path / "second")
    assert "then" not in failing  # the signal was sent, by a retried call
    original, retry = finished_runs(store, "retry")
    assert retry.info.status == "FAILED" and "SIGTERM" in retry.data.tags[ERROR_TAG]
    assert original.info.status == "FINISHED" and original.data.metrics["n_errors"] == 2
    assert ERROR_TAG not in original.data.tags and STOPPED_TAG not in original.data.tags
    assert sorted(per_sample_table(store, original)["problem_id"]) == sorted(p.id for p in sample)
    [reported] = load_runs("retry").runs
    assert reported.run_id == original.info.run_id


def test_a_retry_under_another_sweep_leaves_the_finished_run_in_its_own(
    metered_server, store: str, tmp_path: Path
) -> None:
    """A retry started by a later multirun carries the later sweep's id; the finished run keeps
    the old one, so the old sweep's report still finds it."""
    from delegate.compare.runs import load_runs

    _, _, failing, server = failing_on(metered_server, store, slice(0, 2))
    run(config(server.url, store), tmp_path / "first", sweep="sweep-old")
    failing["on"] = False
    second = run(config(server.url, store, "retry_errors=true"), tmp_path / "second", "sweep-new")
    assert second["n_errors"] == 0
    original, retry = finished_runs(store, "retry")
    assert retry.data.tags["retry_of"] == original.info.run_id
    assert (original.data.tags[SWEEP_TAG], retry.data.tags[SWEEP_TAG]) == ("sweep-old", "sweep-new")
    assert original.info.status == "FINISHED" and original.data.metrics["n_errors"] == 2
    assert [r.run_id for r in load_runs("retry", "sweep-old").runs] == [original.info.run_id]
    assert [r.run_id for r in load_runs("retry", "sweep-new").runs] == [retry.info.run_id]


def test_retry_errors_with_resume_off_is_refused(store: str, tmp_path: Path) -> None:
    from delegate.errors import ConfigError

    cfg = config("http://127.0.0.1:9/v1", store, "retry_errors=true", "resume=false")
    with pytest.raises(ConfigError, match="retry_errors"):
        run(cfg, tmp_path / "run")
