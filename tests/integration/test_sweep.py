"""A real multirun, end to end: ``python -m delegate -m`` over seeds x prompts x strategies with
the offline models, in parallel worker processes (joblib) sharing one fresh SQLite store; its
comparison report; ``delegate.compare`` rebuilding it from MLflow alone; and a real
``mlflow server`` serving the sweep's runs, metrics and tables over its REST API."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from delegate.tracking import ROLE_TAG, SWEEP_TAG

from ..helpers import finished_runs
from .conftest import mlflow_serving

pytestmark = pytest.mark.integration
pytest.importorskip("llama_cpp", reason="install with 'make setup-server'")

EXPERIMENT = "sweep-test"
SEEDS, PROMPTS, STRATEGIES = ("1", "2"), ("cot", "reference"), ("llm", "slm", "router")


class Sweep:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.db = tmp / "mlruns" / "mlflow.db"  # does not exist yet: the sweep must create it
        self.uri = f"sqlite:///{self.db}"
        self.dir = tmp / "sweep"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Sweep:
    s = Sweep(tmp_path_factory.mktemp("sweep"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "delegate",
            "-m",
            "experiment=offline",
            "llm=local-llamacpp",
            "slm=smollm2-135m-llamacpp",
            f"seed={','.join(SEEDS)}",
            f"prompt={','.join(PROMPTS)}",
            f"strategy={','.join(STRATEGIES)}",
            "samples=2",
            "max_tokens=24",
            "progress=false",
            "cache.enabled=false",
            "hydra/launcher=parallel",
            "hydra.launcher.n_jobs=3",
            f"tracking.uri={s.uri}",
            f"tracking.experiment={EXPERIMENT}",
            f"hydra.sweep.dir={s.dir}",
        ],
        cwd=s.tmp,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return s


def experiment_runs(s: Sweep) -> list[Any]:
    return [r for r in finished_runs(s.uri, EXPERIMENT) if r.data.tags.get(ROLE_TAG) != "sweep"]


def test_one_finished_run_per_combination_sharing_the_sweep_tag(sweep: Sweep) -> None:
    runs = experiment_runs(sweep)
    combos = sorted(
        (r.data.tags["seed"], r.data.tags["prompt"], r.data.tags["strategy"]) for r in runs
    )
    expected = sorted((a, b, c) for a in SEEDS for b in PROMPTS for c in STRATEGIES)
    assert combos == expected  # none lost, none twice
    assert {r.info.status for r in runs} == {"FINISHED"}
    [tag] = {r.data.tags[SWEEP_TAG] for r in runs}
    assert tag == str(sweep.dir.resolve())  # outside the project: the absolute path
    [parent] = [r for r in finished_runs(sweep.uri, EXPERIMENT) if r.data.tags.get(ROLE_TAG)]
    assert parent.info.status == "FINISHED" and parent.data.tags[SWEEP_TAG] == tag
    assert {r.data.tags["mlflow.parentRunId"] for r in runs} == {parent.info.run_id}
    for r in runs:
        assert r.data.metrics["n_problems"] == 2 and r.data.metrics["n_errors"] == 0


def test_the_report_is_in_the_sweep_dir_and_compare_rebuilds_it(sweep: Sweep) -> None:
    import csv

    with (sweep.dir / "comparison.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["strategy"], r["prompt"]) for r in rows) == sorted(
        (s, p) for s in STRATEGIES for p in PROMPTS
    )
    for r in rows:  # each configuration pools both seeds: 2 runs x 2 problems
        assert (r["seeds"], r["runs"], r["problems"]) == ("1 2", "2", "4")
    router = [r for r in rows if r["strategy"] == "router"]
    assert all(r["vs_llm_shared_problems"] == "4" and r["oracle_problems"] == "4" for r in router)
    assert (sweep.dir / "pareto.png").read_bytes()[:4] == b"\x89PNG"

    tag = experiment_runs(sweep)[0].data.tags[SWEEP_TAG]
    out = sweep.tmp / "rebuilt"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "delegate.compare",
            "--experiment",
            EXPERIMENT,
            "--sweep",
            tag,
            "--out",
            str(out),
            "--tracking-uri",
            sweep.uri,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    for name in ("comparison.csv", "comparison.json"):
        assert (out / name).read_text() == (sweep.dir / name).read_text()
    assert "| router (" in done.stdout  # the headline table


def test_compare_rejects_an_unknown_experiment_in_one_line(sweep: Sweep) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "delegate.compare",
            "--experiment",
            "nope",
            "--tracking-uri",
            sweep.uri,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: no MLflow experiment named 'nope' in {sweep.uri}"
    ]


@pytest.fixture(scope="module")
def mlflow_server(sweep: Sweep) -> Iterator[str]:
    with mlflow_serving(sweep.uri, sweep.tmp) as base:
        yield base


def rest(base: str, route: str, body: dict[str, Any] | None = None, **query: str) -> Any:
    url = f"{base}{route}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_an_mlflow_server_serves_the_sweep(sweep: Sweep, mlflow_server: str) -> None:
    experiment = rest(
        mlflow_server, "/api/2.0/mlflow/experiments/get-by-name", experiment_name=EXPERIMENT
    )
    experiment_id = experiment["experiment"]["experiment_id"]
    tag = experiment_runs(sweep)[0].data.tags[SWEEP_TAG]
    found = rest(
        mlflow_server,
        "/api/2.0/mlflow/runs/search",
        {
            "experiment_ids": [experiment_id],
            "filter": f"tags.{SWEEP_TAG} = '{tag}'",
            "max_results": 100,
        },
    )["runs"]
    runs = [r for r in found if not any(t["key"] == ROLE_TAG for t in r["data"].get("tags", []))]
    assert len(runs) == len(SEEDS) * len(PROMPTS) * len(STRATEGIES)
    for r in runs:
        metrics = {m["key"]: m["value"] for m in r["data"]["metrics"]}
        assert {"accuracy", "cost_usd", "latency_p95_s", "delegation_rate"} <= set(metrics)
        run_id = r["info"]["run_id"]
        history = rest(
            mlflow_server,
            "/api/2.0/mlflow/metrics/get-history",
            run_id=run_id,
            metric_key="accuracy",
        )
        assert [m["value"] for m in history["metrics"]] == [metrics["accuracy"]]
        table = rest(mlflow_server, "/get-artifact", path="per_sample.json", run_uuid=run_id)
        assert len(table["data"]) == 2 and "correct" in table["columns"]
        listed = rest(mlflow_server, "/api/2.0/mlflow/artifacts/list", run_id=run_id)
        assert {"per_sample.json", "config.yaml"} <= {f["path"] for f in listed["files"]}


def test_a_run_logs_to_the_tracking_server_with_its_traces(
    sweep: Sweep, mlflow_server: str, tmp_path: Path
) -> None:
    """tracking.uri=http://...: what jobs on other machines do (see the README's cluster part)."""
    import mlflow

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "delegate",
            "experiment=offline",
            "llm=local-llamacpp",
            "slm=smollm2-135m-llamacpp",
            "strategy=router",
            "samples=2",
            "max_tokens=24",
            "progress=false",
            "cache.enabled=false",
            f"tracking.uri={mlflow_server}",
            "tracking.experiment=remote",
            f"hydra.run.dir={tmp_path}/run",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    [run] = finished_runs(mlflow_server, "remote")
    assert run.info.status == "FINISHED" and run.data.metrics["n_problems"] == 2
    mlflow.set_tracking_uri(mlflow_server)
    traces = mlflow.search_traces(
        locations=[run.info.experiment_id], run_id=run.info.run_id, return_type="list"
    )
    assert len(traces) == 2
    assert all({s.span_type for s in t.data.spans} >= {"CHAIN", "TOOL"} for t in traces)
