"""The job-launcher path for real: ``hydra/launcher=submitit_local`` (submitit's local executor,
one process per job, the code path of ``hydra/launcher=slurm``) runs a sweep against local test
servers, every job logging to a real ``mlflow server``, and the sweep's report is produced."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from delegate.tracking import ROLE_TAG, SWEEP_TAG

from ..helpers import finished_runs
from .conftest import mlflow_serving

pytestmark = pytest.mark.integration
pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="pip install -e '.[dev]'")

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "server").mkdir()
    with mlflow_serving(f"sqlite:///{tmp_path}/server/mlflow.db", tmp_path) as base:
        yield base


def test_a_submitit_sweep_logs_to_the_tracking_server_and_reports(
    metered_server, mlflow_server: str, tmp_path: Path
) -> None:
    llm, slm = metered_server(delay_s=0.0), metered_server(delay_s=0.0)
    sweep_dir = tmp_path / "sweep"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "delegate",
            "-m",
            "hydra/launcher=submitit_local",
            "hydra.launcher.timeout_min=10",
            "strategy=llm,slm",
            "seed=1,2",
            "llm=gpt-4o",
            f"llm.base_url={llm.url}",
            "llm.api_key_env=null",
            "slm=vllm",
            f"slm.base_url={slm.url}",
            "dataset=mini",
            "samples=2",
            "max_tokens=20",
            "progress=false",
            "cache.enabled=false",
            f"tracking.uri={mlflow_server}",
            "tracking.experiment=submitit",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": SRC},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    runs = finished_runs(mlflow_server, "submitit")
    jobs = [r for r in runs if r.data.tags.get(ROLE_TAG) != "sweep"]
    assert sorted((r.data.tags["strategy"], r.data.tags["seed"]) for r in jobs) == [
        ("llm", "1"),
        ("llm", "2"),
        ("slm", "1"),
        ("slm", "2"),
    ]
    assert {r.info.status for r in jobs} == {"FINISHED"}
    assert {r.data.metrics["n_problems"] for r in jobs} == {2.0}
    [parent] = [r for r in runs if r.data.tags.get(ROLE_TAG) == "sweep"]
    assert parent.info.status == "FINISHED"
    assert {r.data.tags[SWEEP_TAG] for r in jobs} == {parent.data.tags[SWEEP_TAG]}
    # Each server answered the 2 problems of each of its strategy's 2 jobs.
    assert len(llm.answered) == 4 and len(slm.answered) == 4
    # submitit's own files: one folder of job logs per job.
    assert len(list((sweep_dir / ".submitit").glob("*/*_log.out"))) == 4
    with (sweep_dir / "comparison.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["strategy"], r["runs"], r["problems"]) for r in rows) == [
        ("llm", "2", "4"),
        ("slm", "2", "4"),
    ]
