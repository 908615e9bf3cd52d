"""The trace writer's process against what a run meets outside a unit test: an ``http://``
tracking server (jobs on other machines), and a run's process killed outright."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from delegate import tracing, tracking

from .conftest import mlflow_serving


def _graded_problem(pid: int) -> None:
    with tracing.span(f"problem {pid}", "CHAIN", {"problem_id": pid}) as root:
        with tracing.span("llm: m", "CHAT_MODEL", {"messages": [pid]}) as call:
            call.set_attributes({"input_tokens": 10, "output_tokens": 2, "role": "llm"})
            call.set_attributes({"input_cost_usd": 0.5, "output_cost_usd": 0.25})
        root.set_outputs({"correct": pid == 1})
        root.set_tags({"outcome": "correct" if pid == 1 else "wrong"})
        root.set_grade(tracing.Grade("12", pid == 1, "12" if pid == 1 else "13"))


def test_traces_reach_a_tracking_server_with_their_tags_and_assessments(tmp_path: Path) -> None:
    import mlflow

    (tmp_path / "server").mkdir()
    with mlflow_serving(f"sqlite:///{tmp_path}/server/mlflow.db", tmp_path) as base:
        store = tracking.open_store(base, "remote")
        with store.run("r", {}) as run_id, tracing.traced_run(run_id, store.experiment_id) as st:
            for pid in (1, 2):
                _graded_problem(pid)
        assert (st.written, st.failed) == (2, 0)
        mlflow.set_tracking_uri(base)
        traces = mlflow.search_traces(
            locations=[store.experiment_id], run_id=run_id, return_type="list"
        )
    by_outcome = {t.info.tags["outcome"]: t for t in traces}
    assert set(by_outcome) == {"correct", "wrong"}
    wrong = by_outcome["wrong"]
    grades = {a.name: a for a in wrong.info.assessments}
    assert grades["correctness"].feedback.value is False
    assert grades["correctness"].rationale == "extracted answer: 13"
    assert grades["expected_answer"].expectation.value == "12"
    assert wrong.info.token_usage["total_tokens"] == 12
    assert wrong.info.cost["total_cost"] == 0.75
    assert {s.name for s in wrong.data.spans} == {"problem 2", "llm: m"}


_KILLED_RUN = """
import os, signal, sys
from delegate import tracing, tracking
store = tracking.open_store(sys.argv[1], "killed")
with store.run("r", {}) as run_id, tracing.traced_run(run_id, store.experiment_id):
    with tracing.span("problem 1", "CHAIN"):
        pass
    print(tracing._writer._process.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited; only its parent's reaping is left


def test_the_writer_does_not_outlive_a_run_killed_outright(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_KILLED_RUN), f"sqlite:///{tmp_path}/mlflow.db"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -9, done.stderr[-2000:]
    child = int(done.stdout.split()[0])
    deadline = time.monotonic() + 60
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(child)
