"""The MLflow run: one per experiment, FINISHED on success and FAILED (with the error) otherwise.

Params are the resolved config, flattened, with anything secret-looking dropped; tags name the
strategy, models, prompt, dataset and git commit; artifacts are the config, the per-sample table
(``per_sample.json`` via ``mlflow.log_table``) and the run directory's output files. Params,
``config.yaml``, tags and the error tag are scrubbed (``delegate.secrets``): registered secrets
masked, ``user:pass@`` removed from URLs.
"""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from delegate.paths import PROJECT_ROOT
from delegate.secrets import scrub, scrub_config

log = logging.getLogger(__name__)

_SECRET_KEY_RE = re.compile(r"(api_?key|secret|password|token)$", re.IGNORECASE)
_PARAM_MAX_CHARS = 6000  # MLflow's limit per param value


def is_secret_key(key: str) -> bool:
    """Config keys whose value could be a secret. ``api_key_env`` names a variable: not secret."""
    leaf = key.rsplit(".", 1)[-1]
    return bool(_SECRET_KEY_RE.search(leaf)) and not leaf.endswith("_env")


def flatten(cfg: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"llm": {"model": "x"}}`` -> ``{"llm.model": "x"}``, secrets dropped, values as
    scrubbed text."""
    flat: dict[str, str] = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if is_secret_key(name):
            continue
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = scrub(str(value))[:_PARAM_MAX_CHARS]
    return flat


def redact(cfg: Any) -> Any:
    """A copy of a plain config tree without secret-looking keys, its strings scrubbed."""
    return scrub_config(_without_secret_keys(cfg))


def _without_secret_keys(cfg: Any) -> Any:
    if isinstance(cfg, Mapping):
        return {k: _without_secret_keys(v) for k, v in cfg.items() if not is_secret_key(str(k))}
    if isinstance(cfg, list):
        return [_without_secret_keys(v) for v in cfg]
    return cfg


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def artifact_root_for(uri: str) -> str | None:
    """Where a local SQLite store keeps artifacts: ``artifacts/`` beside the database file.

    Without this MLflow would put them under the current directory, which moves with the user.
    """
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///") :])
        return (db.parent / "artifacts").resolve().as_uri()
    return None


def prepare_store(uri: str, experiment: str) -> str:
    """Create the store and experiment if needed (before any parallel job); return its id."""
    import mlflow

    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    found = mlflow.get_experiment_by_name(experiment)
    if found is not None:
        return str(found.experiment_id)
    return str(mlflow.create_experiment(experiment, artifact_location=artifact_root_for(uri)))


@contextmanager
def mlflow_run(
    experiment_id: str, run_name: str, tags: Mapping[str, str], run_id: str | None = None
) -> Iterator[Any]:
    """Start a run (or reopen ``run_id``); end it FINISHED, or FAILED with an ``error`` tag if the
    body raises (Ctrl-C included). An exception with a ``run_status`` attribute ends it with that
    status instead (KILLED: stopped on purpose)."""
    import mlflow

    tags = {k: scrub(str(v)) for k, v in tags.items()}
    if run_id is None:
        run = mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags)
    else:
        run = mlflow.start_run(run_id=run_id)
        mlflow.set_tags(tags)
    try:
        yield run
    except BaseException as e:
        message = str(e) or type(e).__name__
        mlflow.set_tag("error", scrub(f"{type(e).__name__}: {message}")[:5000])
        mlflow.end_run(status=getattr(e, "run_status", "FAILED"))
        raise
    mlflow.end_run(status="FINISHED")


def log_params(params: Mapping[str, str]) -> None:
    import mlflow

    items = list(params.items())
    for i in range(0, len(items), 100):  # MLflow accepts at most 100 params per batch
        mlflow.log_params(dict(items[i : i + 100]))


def delete_tag(run_id: str, key: str) -> None:
    """Remove ``key`` from a run's tags if it has it."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    if key in client.get_run(run_id).data.tags:
        client.delete_tag(run_id, key)


def log_results(
    metrics: Mapping[str, float],
    rows: Sequence[Mapping[str, Any]],
    run_dir: Path,
    replace_table: bool = False,
) -> None:
    """Metrics, the per-sample table and every file in the run directory. ``mlflow.log_table``
    appends to a table the run already has; ``replace_table`` writes it whole instead."""
    import tempfile

    import mlflow
    import pandas as pd

    mlflow.log_metrics(dict(metrics))
    table = pd.DataFrame(list(rows))
    if replace_table:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "per_sample.json"
            table.to_json(path, orient="split", index=False, date_format="iso")  # log_table's form
            mlflow.log_artifact(str(path))
    else:
        mlflow.log_table(table, artifact_file="per_sample.json")
    for path in sorted(run_dir.iterdir()):
        if path.is_file():
            mlflow.log_artifact(str(path))


SWEEP_TAG = "sweep"  # every run of one multirun carries the same value
ROLE_TAG = "delegate.role"  # "sweep" on the parent run that groups a multirun's runs


JOB_TAG = "sweep_job"  # a sweep's job number (Hydra's job.num), on every run of a multirun


def record_failed_job(experiment_id: str, sweep: str, job: str, overrides: str, error: str) -> None:
    """A FAILED run for a sweep job that failed before its own run existed (bad settings, an
    unreachable endpoint), so the sweep's report can list it and the UI shows it."""
    from mlflow.tracking import MlflowClient

    from delegate.secrets import scrub

    client = MlflowClient()
    tags = {SWEEP_TAG: sweep, JOB_TAG: job, "overrides": scrub(overrides)[:5000]}
    tags["error"] = scrub(error)[:5000]
    if parent := find_sweep_run(experiment_id, sweep):
        tags["mlflow.parentRunId"] = parent
    run = client.create_run(experiment_id, run_name=f"failed job {job}", tags=tags)
    client.set_terminated(run.info.run_id, status="FAILED")


def sweep_job_has_run(experiment_id: str, sweep: str, job: str) -> bool:
    from mlflow.tracking import MlflowClient

    found = MlflowClient().search_runs(
        [experiment_id],
        filter_string=f"tags.`{SWEEP_TAG}` = '{quote(sweep)}' and tags.`{JOB_TAG}` = '{job}'",
        max_results=1,
    )
    return bool(found)


def failed_sweep_jobs(experiment_id: str, sweep: str) -> list[dict[str, str]]:
    """The sweep's jobs whose run ended FAILED (or never ended: killed), with their errors."""
    from mlflow.tracking import MlflowClient

    runs = MlflowClient().search_runs(
        [experiment_id],
        filter_string=f"tags.`{SWEEP_TAG}` = '{quote(sweep)}' and attributes.status != 'FINISHED'",
        order_by=["attributes.start_time ASC"],
    )
    return [
        {
            "run_id": r.info.run_id,
            "job": r.data.tags.get(JOB_TAG, "?"),
            "status": r.info.status,
            "overrides": r.data.tags.get("overrides", ""),
            "error": r.data.tags.get("error", ""),
        }
        for r in runs
        if r.data.tags.get(ROLE_TAG) != "sweep"
    ]


def find_sweep_run(experiment_id: str, sweep: str) -> str | None:
    """The id of the parent run of ``sweep``, if one was created."""
    from mlflow.tracking import MlflowClient

    runs = MlflowClient().search_runs(
        [experiment_id],
        filter_string=f"tags.`{ROLE_TAG}` = 'sweep' and tags.`{SWEEP_TAG}` = '{quote(sweep)}'",
        max_results=1,
    )
    return runs[0].info.run_id if runs else None


def start_sweep_run(experiment_id: str, sweep: str, overrides: str) -> str:
    """The parent run that groups a multirun's runs in the MLflow UI; left RUNNING until the
    sweep's report is logged to it."""
    from mlflow.tracking import MlflowClient

    run = MlflowClient().create_run(
        experiment_id,
        run_name=f"sweep {sweep}",
        tags={SWEEP_TAG: sweep, ROLE_TAG: "sweep", "overrides": overrides[:5000]},
    )
    return str(run.info.run_id)


def quote(value: str) -> str:
    """``value`` safe inside a single-quoted MLflow filter string."""
    return value.replace("\\", "\\\\").replace("'", "\\'")
