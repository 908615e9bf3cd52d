"""Helpers shared by unit and integration tests: composing the real configs, reading a store."""

from __future__ import annotations

from typing import Any

from delegate.config import RunConfig, parse_config
from delegate.config import compose as resolved  # the config `python -m delegate ...` runs

# Every dataset option: the config group's files and the loader registry's names alike.
DATASET_OPTIONS = [
    "gsm-hard",
    "gsm8k",
    "humaneval",
    "jsonl",
    "math500",
    "mbpp",
    "mini",
    "mixed",
    "svamp",
]

__all__ = [
    "DATASET_OPTIONS",
    "endpoint_overrides",
    "finished_runs",
    "llm_only_run",
    "mini_run_metrics",
    "multirun",
    "per_sample_table",
    "resolved",
    "run_config",
    "run_traces",
]


def run_config(*overrides: str) -> RunConfig:
    """The typed configuration ``python -m delegate <overrides>`` runs."""
    return parse_config(resolved(*overrides))


def endpoint_overrides(url: str, samples: int = 2) -> list[str]:
    """Both models behind one local OpenAI-compatible server without a key, on ``samples``
    ``mini`` problems, nothing cached, no progress bar."""
    return [
        "llm=gpt-4o",
        f"llm.base_url={url}",
        "llm.api_key_env=null",
        "slm=vllm",
        f"slm.base_url={url}",
        "dataset=mini",
        f"samples={samples}",
        "progress=false",
        "cache.enabled=false",
    ]


def llm_only_run(url: str, store: str, run_dir: Any, experiment: str, *extra: str) -> Any:
    """An LLM-only run in process against the server at ``url``, one problem at a time, one
    retry; its metrics."""
    from delegate.runner import run

    overrides = ["strategy=llm", *endpoint_overrides(url), "llm.max_retries=1", "concurrency=1"]
    overrides += [f"tracking.uri={store}", f"tracking.experiment={experiment}", *extra]
    return run(resolved(*overrides), run_dir)


def mini_run_metrics() -> set[str]:
    """Every metric a finished run on ``dataset=mini`` logs: the run's figures, the extraction
    rules' shares, and each breakdown for its one source and its one level."""
    from delegate.finalize import RUN_METRICS
    from delegate.metrics import BREAKDOWN_NAMES, EXTRACTION_NAMES, METRIC_NAMES

    by_group = {f"{m}/{g}" for m in BREAKDOWN_NAMES for g in ("mini", "level_1")}
    spent = {"spent_usd", "possibly_billed_usd"}
    return set(METRIC_NAMES) | set(EXTRACTION_NAMES) | set(RUN_METRICS) | by_group | spent


def finished_runs(uri: str, experiment: str) -> list[Any]:
    """Every run of ``experiment`` in the store at ``uri``, oldest first."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return []
    runs = client.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])
    return list(runs)


def per_sample_table(uri: str, run: Any) -> Any:
    """The run's ``per_sample.json`` table as a DataFrame, read back through MLflow."""
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(uri)  # load_table searches runs through the global tracking URI
    return MlflowClient(tracking_uri=uri).load_table(
        run.info.experiment_id, "per_sample.json", run_ids=[run.info.run_id]
    )


def run_traces(uri: str, run: Any) -> list[Any]:
    """The MLflow traces recorded in ``run``, with their spans."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    traces = mlflow.search_traces(
        locations=[run.info.experiment_id], run_id=run.info.run_id, return_type="list"
    )
    return list(traces)


def multirun(tmp_path: Any, experiment: str, *overrides: str) -> Any:
    """``python -m delegate -m <overrides>`` in a subprocess from ``tmp_path``, its store at
    ``tmp_path/mlruns`` (the ``store`` URI it returns beside the finished process) and its sweep
    directory ``tmp_path/sweep``."""
    import subprocess
    import sys

    store = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    command = [sys.executable, "-m", "delegate", "-m", *overrides, f"tracking.uri={store}"]
    command += [f"tracking.experiment={experiment}", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    return done, store
