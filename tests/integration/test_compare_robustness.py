"""The report from a store that holds bad runs: each is left out with a note naming what is
wrong, the rest are reported; an output path that cannot be a directory is one line, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..helpers import finished_runs, llm_only_run

pytestmark = pytest.mark.integration

EXPERIMENT = "bad-runs"


def compare(store: str, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "delegate.compare", "--experiment", EXPERIMENT]
    command += ["--tracking-uri", store, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def artifact(store: str, run: Any, name: str) -> Path:
    from mlflow.tracking import MlflowClient

    uri = MlflowClient(tracking_uri=store).get_run(run.info.run_id).info.artifact_uri
    return Path(uri.removeprefix("file://")) / name


def test_bad_runs_are_left_out_with_a_note_and_the_rest_reported(
    scripted_server, store: str, tmp_path: Path
) -> None:
    server = scripted_server([])
    for seed in (1, 2, 3):
        llm_only_run(server.url, store, tmp_path / f"run{seed}", EXPERIMENT, f"seed={seed}")
    # A configuration's identity is read from its first readable run: break the first one's.
    bad_identity, no_table, _seed3 = finished_runs(store, EXPERIMENT)
    artifact(store, no_table, "per_sample.json").unlink()
    artifact(store, bad_identity, "identity.json").write_text("{not json", encoding="utf-8")

    out = tmp_path / "report"
    done = compare(store, "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    notes = [line for line in done.stderr.splitlines() if line.startswith("note: ")]
    assert f"note: run {no_table.info.run_id} skipped: it has no per-sample table" in notes
    assert any(
        line.startswith(f"note: run {bad_identity.info.run_id} skipped: its identity.json is not")
        for line in notes
    )
    assert "Traceback" not in done.stderr
    rows = (out / "comparison.csv").read_text().splitlines()
    assert len(rows) == 2 and ",3,1,2," in rows[1]  # one configuration: seed 3's run, 2 problems


def test_an_output_path_that_is_a_file_is_one_line(
    scripted_server, store: str, tmp_path: Path
) -> None:
    llm_only_run(scripted_server([]).url, store, tmp_path / "run", EXPERIMENT)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out in (blocker, blocker / "below"):
        done = compare(store, "--out", str(out))
        assert done.returncode == 2
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("error: ") and str(blocker) in line
