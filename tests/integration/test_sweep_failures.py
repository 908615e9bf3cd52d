"""A sweep survives its jobs: one job that fails (its small model unreachable) fails alone, the
others run, the report covers them and lists the failed one, and the multirun exits non-zero."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from delegate.tracking import JOB_TAG, ROLE_TAG

from ..helpers import endpoint_overrides, finished_runs, multirun

pytestmark = pytest.mark.integration


def test_a_failed_job_fails_alone_and_the_sweep_reports_it(
    scripted_server: Any, tmp_path: Path
) -> None:
    server = scripted_server([])  # the large model's endpoint: canned answers
    done, store = multirun(
        tmp_path,
        "sweep-failures",
        "strategy=slm,llm",  # the failing job runs first: the next one must still run
        *endpoint_overrides(server.url),
        "slm.base_url=http://127.0.0.1:9/v1",  # nothing listens: the slm job cannot start
    )
    assert done.returncode == 1, done.stderr[-3000:]
    assert "cannot reach http://127.0.0.1:9/v1" in done.stderr
    runs = finished_runs(store, "sweep-failures")
    by_role = {r.data.tags.get(ROLE_TAG, r.data.tags.get("strategy", "failed")): r for r in runs}
    assert by_role["llm"].info.status == "FINISHED"
    assert by_role["sweep"].info.status == "FAILED"  # the parent run says the sweep failed
    [failed] = [r for r in runs if r.info.status == "FAILED" and r is not by_role["sweep"]]
    assert failed.data.tags[JOB_TAG] == "0" and "<slm.base_url>" in failed.data.tags["error"]
    assert failed.data.tags["mlflow.parentRunId"] == by_role["sweep"].info.run_id
    listing = json.loads((tmp_path / "sweep" / "failed_jobs.json").read_text())
    assert [(j["job"], j["status"]) for j in listing] == [("0", "FAILED")]
    assert "strategy=slm" in listing[0]["overrides"]
    report = (tmp_path / "sweep" / "comparison.csv").read_text()
    assert "llm (gpt-4o, cot)" in report  # the job that finished is reported
    assert "| llm (gpt-4o, cot) |" in done.stdout


def test_sigterm_to_a_multirun_ends_its_parent_run_with_what_finished(
    scripted_server: Any, tmp_path: Path
) -> None:
    """SIGTERM during a sweep's second job: the job's run ends FAILED, the parent run ends FAILED
    with the reason, ``failed_jobs.json`` lists the job and the report covers the finished one."""
    import os
    import signal
    import subprocess
    import sys
    import time

    # Job 0 is answered at once; job 1's first request stalls until the sweep is stopped.
    server = scripted_server([None, None, ("sleep", 60)])
    store = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    command = [sys.executable, "-m", "delegate", "-m", "strategy=llm", "seed=1,2"]
    command += [*endpoint_overrides(server.url), f"tracking.uri={store}"]
    command += ["tracking.experiment=sweep-sigterm", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    proc = subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while len(server.arrivals) < 3 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read()[-3000:] if proc.stderr else ""
            time.sleep(0.1)
        assert len(server.arrivals) >= 3, "job 1 never sent its request"
        os.kill(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    runs = finished_runs(store, "sweep-sigterm")
    [parent] = [r for r in runs if r.data.tags.get(ROLE_TAG) == "sweep"]
    assert parent.info.status == "FAILED", stderr[-3000:]
    assert "SIGTERM" in parent.data.tags["error"]
    jobs = {r.data.tags[JOB_TAG]: r for r in runs if r is not parent}
    assert jobs["0"].info.status == "FINISHED" and jobs["1"].info.status == "FAILED"
    listing = json.loads((tmp_path / "sweep" / "failed_jobs.json").read_text())
    assert [(j["job"], j["status"]) for j in listing] == [("1", "FAILED")]
    assert "llm (gpt-4o, cot)" in (tmp_path / "sweep" / "comparison.csv").read_text()


def test_a_dry_run_multirun_writes_nothing_and_succeeds(tmp_path: Path) -> None:
    done, _ = multirun(
        tmp_path,
        "sweep-dry",
        "strategy=llm,slm",
        "experiment=offline",
        "samples=2",
        "dry_run=true",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("dry run: strategy=") == 2
    assert not (tmp_path / "mlruns").exists()  # no store, no experiment, no parent run
