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

from delegate.tags import ERROR_TAG

from ..helpers import finished_runs, per_sample_table, run_traces

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
    ("sig", "status_after"),
    [(signal.SIGKILL, "RUNNING"), (signal.SIGINT, "FAILED"), (signal.SIGTERM, "FAILED")],
)
def test_the_same_command_continues_the_interrupted_run(
    tmp_path: Path, store: str, sig: int, status_after: str
) -> None:
    first = tmp_path / "first"
    done_before = interrupt_after(command(store, first), first / "per_sample.jsonl", sig)
    assert 2 <= done_before < SAMPLES
    [interrupted] = finished_runs(store, "resume")
    assert interrupted.info.status == status_after  # SIGINT never leaves a run RUNNING
    if sig == signal.SIGTERM:  # like Ctrl-C: the reason on the run, every finished trace written
        assert "SIGTERM" in interrupted.data.tags["error"]
        traces = run_traces(store, interrupted)  # the problem cut off is an ERROR trace
        assert sum(str(t.info.state) in ("OK", "TraceState.OK") for t in traces) == done_before

    second = tmp_path / "second"
    done = subprocess.run(command(store, second), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    [resumed] = finished_runs(store, "resume")
    assert resumed.info.run_id == interrupted.info.run_id
    assert resumed.info.status == "FINISHED"
    assert ERROR_TAG not in resumed.data.tags  # the interruption's reason went with it
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


def test_an_edited_dataset_file_is_not_resumed_into(tmp_path: Path, store: str) -> None:
    from delegate.data import load_problems

    from ..helpers import resolved

    source = tmp_path / "problems.jsonl"
    mini = load_problems(resolved("dataset=mini")["dataset"])
    rows = [json.dumps({"question": p.question, "answer": f"#### {p.gold}"}) for p in mini]
    source.write_text("\n".join(rows) + "\n")
    data = ("dataset=mini", f"dataset.path={source}")
    first = tmp_path / "first"
    interrupt_after(command(store, first, *data), first / "per_sample.jsonl", signal.SIGINT)
    # The file changes under the same path: every question gets a new last sentence.
    edited = [json.loads(r) for r in rows]
    for row in edited:
        row["question"] += " Give the answer as a number."
    source.write_text("\n".join(json.dumps(r) for r in edited) + "\n")

    again = tmp_path / "again"
    done = subprocess.run(command(store, again, *data), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    interrupted, fresh = finished_runs(store, "resume")
    assert interrupted.info.status == "FAILED" and fresh.info.status == "FINISHED"
    assert json.loads((again / "results_slm.json").read_text())["resumed_problems"] == 0
    table = per_sample_table(store, fresh)
    assert all(q.endswith("Give the answer as a number.") for q in table["question"])


def test_a_rerun_in_the_same_run_directory_holds_each_problem_once(
    tmp_path: Path, store: str
) -> None:
    pinned = tmp_path / "pinned"  # hydra.run.dir fixed by the user: both runs write here
    records = pinned / "per_sample.jsonl"
    interrupt_after(command(store, pinned), records, signal.SIGINT)
    done = subprocess.run(command(store, pinned), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    ids = [json.loads(line)["problem_id"] for line in records.read_text().splitlines()]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == SAMPLES
