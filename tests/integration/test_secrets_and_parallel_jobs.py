"""The API key never reaches the store, the outputs or the logs; parallel jobs share one store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from delegate.tracking import prepare_store

from ..helpers import finished_runs, mini_run_metrics

pytestmark = pytest.mark.integration

CANARY = "sk-canary-d3l3gat3-0123456789abcdef"


def cli(*args: str, out: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "OPENAI_API_KEY": CANARY}
    return subprocess.Popen(
        [sys.executable, "-m", "delegate", *args, "progress=false", f"hydra.run.dir={out}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.parametrize("strategy", ["llm", "slm", "router"])
def test_the_key_appears_nowhere(llama_server: str, tmp_path: Path, strategy: str) -> None:
    store_dir = tmp_path / "store"
    out = tmp_path / "out"
    proc = cli(
        f"strategy={strategy}",
        "llm=gpt-4o",
        f"llm.base_url={llama_server}",
        "slm=vllm",
        f"slm.base_url={llama_server}",
        "slm.api_key_env=OPENAI_API_KEY",
        "dataset=mini",
        "samples=1",
        "max_tokens=16",
        "router.tool_choice=required",
        "router.max_tool_calls=1",
        f"tracking.uri=sqlite:///{store_dir}/mlflow.db",
        "hydra.verbose=true",
        out=out,
    )
    console, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, console[-2000:]
    assert CANARY not in console
    files = [p for root in (store_dir, out) for p in root.rglob("*") if p.is_file()]
    assert any(p.name == "mlflow.db" for p in files) and any(p.suffix == ".json" for p in files)
    leaked = [str(p) for p in files if CANARY.encode() in p.read_bytes()]
    assert leaked == []


def test_four_parallel_jobs_lose_no_run_and_no_metric(scripted_server, tmp_path: Path) -> None:
    server = scripted_server([])
    uri = f"sqlite:///{tmp_path}/store/mlflow.db"
    prepare_store(uri, "parallel")  # as a sweep does before its jobs start
    jobs = [
        cli(
            "strategy=llm",
            "llm=gpt-4o",
            f"llm.base_url={server.url}",
            "dataset=mini",
            "samples=3",
            f"seed={seed}",
            "cache.enabled=false",
            f"tracking.uri={uri}",
            "tracking.experiment=parallel",
            out=tmp_path / f"job{seed}",
        )
        for seed in range(4)
    ]
    for job in jobs:
        console, _ = job.communicate(timeout=600)
        assert job.returncode == 0, console[-2000:]
    runs = finished_runs(uri, "parallel")
    assert sorted(r.data.tags["seed"] for r in runs) == ["0", "1", "2", "3"]
    for r in runs:
        assert r.info.status == "FINISHED"
        assert set(r.data.metrics) == mini_run_metrics()
        assert r.data.metrics["n_problems"] == 3
    assert len(server.arrivals) == 12
