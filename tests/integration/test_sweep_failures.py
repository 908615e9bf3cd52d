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
