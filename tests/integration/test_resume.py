"""Interrupted runs, for real: a subprocess killed with SIGKILL or stopped with SIGINT mid-run, then
the same command again. One MLflow run ends up holding every problem exactly once, with the same
results as a run that was never interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..helpers import finished_runs, per_sample_table

pytestmark = pytest.mark.integration

SAMPLES = 6


def command(store: str, run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "delegate",
        "experiment=offline",
        "strategy=slm",
        f"samples={SAMPLES}",
        "concurrency=1",
        "max_tokens=24",
        "progress=false",
        "cache.enabled=false",
        f"tracking.uri={store}",
        "tracking.experiment=resume",
        f"hydra.run.dir={run_dir}",
        *extra,
    ]


def interrupt_after(cmd: list[str], records: Path, sig: int, at_least: int = 2) -> int:
    """Start ``cmd``, send ``sig`` once ``records`` holds ``at_least`` lines; return the count."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            lines = records.read_text().splitlines() if records.exists() else []
            if len(lines) >= at_least:
                os.kill(proc.pid, sig)
                proc.wait(timeout=120)
                return len(records.read_text().splitlines())
            if proc.poll() is not None:
                raise AssertionError(
                    f"the run ended before it could be interrupted ({proc.returncode})"
                )
            time.sleep(0.2)
        raise AssertionError("no progress within 300 s")
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize(
    ("sig", "status_after"), [(signal.SIGKILL, "RUNNING"), (signal.SIGINT, "FAILED")]
)
def test_the_same_command_continues_the_interrupted_run(
    tmp_path: Path, store: str, sig: int, status_after: str
) -> None:
    first = tmp_path / "first"
    done_before = interrupt_after(command(store, first), first / "per_sample.jsonl", sig)
    assert 2 <= done_before < SAMPLES
    [interrupted] = finished_runs(store, "resume")
    assert interrupted.info.status == status_after  # SIGINT never leaves a run RUNNING

    second = tmp_path / "second"
    done = subprocess.run(command(store, second), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    [resumed] = finished_runs(store, "resume")
    assert resumed.info.run_id == interrupted.info.run_id
    assert resumed.info.status == "FINISHED"
    assert resumed.data.metrics["n_problems"] == SAMPLES
    table = per_sample_table(store, resumed)
    assert sorted(table["problem_id"]) == sorted(set(table["problem_id"]))
    assert len(table) == SAMPLES
    results = json.loads((second / "results_slm.json").read_text())
    assert results["resumed_problems"] >= 2  # only the missing problems were solved again

    # The same command with resume=false is a fresh, uninterrupted run: the results agree.
    fresh_dir = tmp_path / "fresh"
    fresh = subprocess.run(
        command(store, fresh_dir, "resume=false"), capture_output=True, text=True, timeout=600
    )
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    runs = finished_runs(store, "resume")
    assert len(runs) == 2
    reference = runs[1].data.metrics
    assert runs[1].info.status == "FINISHED"
    for name in (
        "accuracy",
        "accuracy_strict",
        "n_problems",
        "n_errors",
        "slm_input_tokens",
        "slm_output_tokens",
        "cost_usd",
    ):
        assert resumed.data.metrics[name] == reference[name], name


def test_a_finished_run_is_never_resumed(tmp_path: Path, store: str) -> None:
    for name in ("a", "b"):
        done = subprocess.run(
            command(store, tmp_path / name, "samples=1"),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-2000:]
    runs = finished_runs(store, "resume")
    assert [r.info.status for r in runs] == ["FINISHED", "FINISHED"]
    assert runs[0].info.run_id != runs[1].info.run_id
