"""The MLflow store behind one facade: the run's writes, and the searches resume and sweeps make.

Only this module (for runs), ``trace_entities`` (traces) and ``compare.runs`` (the report's reads)
import MLflow. ``open_store(uri, experiment)`` creates the store and experiment if needed and
returns a ``Store``: the runner, resume, the dry run and the sweep callback speak to MLflow
through it, so a unit test can hand them a stand-in.

A run ends FINISHED on success and FAILED (with the error) otherwise; params are the resolved
config, flattened, with anything secret-looking dropped (``delegate.params``); tags and the error
are scrubbed (``delegate.secrets``).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from delegate.errors import DelegateError
from delegate.outputs import TABLE_ARTIFACT
from delegate.params import flatten, is_secret_key, redact  # noqa: F401 - published names
from delegate.secrets import scrub
from delegate.tags import (
    CONFIG_ID_TAG,
    ERROR_TAG,
    JOB_TAG,
    MAX_TAG_CHARS,
    OVERRIDES_TAG,
    PARENT_TAG,
    ROLE_TAG,
    SEED_TAG,
    SWEEP_TAG,
)

log = logging.getLogger(__name__)


class StoreError(DelegateError):
    """The tracking store cannot be written (read-only, full, locked for good): one line."""


@contextmanager
def writing(uri: str, what: str) -> Iterator[None]:
    """Turn a store's failure to write into one line naming the store and the reason."""
    try:
        yield
    except DelegateError:
        raise
    except Exception as e:
        reason = _innermost(e)
        raise StoreError(
            f"cannot {what} in the MLflow store at {uri}: {reason} <tracking.uri>"
        ) from e


def _innermost(error: BaseException) -> str:
    """The root cause's message, without SQLAlchemy's statement and background link."""
    while error.__cause__ is not None or getattr(error, "orig", None) is not None:
        error = getattr(error, "orig", None) or error.__cause__  # type: ignore[assignment]
    return str(error).splitlines()[0] if str(error) else type(error).__name__


@dataclass(frozen=True)
class StoredRun:
    """A run as the store holds it."""

    run_id: str
    status: str
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


def artifact_root_for(uri: str) -> str | None:
    """Where a local SQLite store keeps artifacts: ``artifacts/`` beside the database file.

    Without this MLflow would put them under the current directory, which moves with the user.
    """
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///") :])
        return (db.parent / "artifacts").resolve().as_uri()
    return None


def quote(value: str) -> str:
    """``value`` safe inside a single-quoted MLflow filter string."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


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


def open_store(uri: str, experiment: str) -> Store:
    with writing(uri, f"open the experiment {experiment!r}"):
        return Store(uri, prepare_store(uri, experiment))


def finished_runs(uri: str, experiment: str, config_id: str) -> list[StoredRun]:
    """The FINISHED runs of a configuration, read only: a store or experiment that does not
    exist yet is not created (a missing SQLite file is left missing)."""
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).is_file():
        return []
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    runs = client.search_runs(
        [found.experiment_id],
        filter_string=f"tags.`{CONFIG_ID_TAG}` = '{quote(config_id)}' "
        "and attributes.status = 'FINISHED'",
    )
    return [_stored(r) for r in runs]


def _stored(run: Any) -> StoredRun:
    return StoredRun(run.info.run_id, run.info.status, dict(run.data.tags), dict(run.data.metrics))


def stored_tags(run_id: str) -> dict[str, str]:
    """The tags run ``run_id`` holds in the store MLflow is pointed at."""
    return dict(_client().get_run(run_id).data.tags)


def log_run_table(
    run_id: str, frame: Any, artifact_file: str, metrics: Mapping[str, float]
) -> None:
    """A table (a DataFrame, shown by "View as table") and metrics on an existing run."""
    import time

    from mlflow.entities import Metric

    client = _client()
    client.log_table(run_id, frame, artifact_file=artifact_file)
    now = int(1000 * time.time())
    batch = [Metric(k, v, now, 0) for k, v in metrics.items()]
    for i in range(0, len(batch), 1000):  # MLflow takes at most 1000 metrics a batch
        client.log_batch(run_id, metrics=batch[i : i + 1000])


def _client() -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient()


class Store:
    """One experiment of one tracking store (``mlflow.set_tracking_uri`` was called for it)."""

    def __init__(self, uri: str, experiment_id: str) -> None:
        self.uri, self.experiment_id = uri, experiment_id

    def _search(self, query: str, newest_first: bool = False, limit: int | None = None) -> list:
        order = "DESC" if newest_first else "ASC"
        options: dict[str, Any] = {"order_by": [f"attributes.start_time {order}"]}
        if limit is not None:
            options["max_results"] = limit
        return list(_client().search_runs([self.experiment_id], filter_string=query, **options))

    def latest_run(self, config_id: str, seed: int) -> StoredRun | None:
        """The newest run of a configuration and seed, whatever its status."""
        query = f"tags.`{CONFIG_ID_TAG}` = '{quote(config_id)}' and tags.{SEED_TAG} = '{seed}'"
        runs = self._search(query, newest_first=True, limit=1)
        return _stored(runs[0]) if runs else None

    @contextmanager
    def run(
        self, run_name: str, tags: Mapping[str, str], run_id: str | None = None
    ) -> Iterator[str]:
        """Start a run (or reopen ``run_id``) and yield its id; end it FINISHED, or FAILED with an
        ``error`` tag if the body raises (Ctrl-C included). An exception with a ``run_status``
        attribute ends it with that status instead (KILLED: stopped on purpose)."""
        import mlflow

        tags = {k: scrub(str(v)) for k, v in tags.items()}
        with writing(self.uri, "start a run"):
            if run_id is None:
                run = mlflow.start_run(
                    experiment_id=self.experiment_id, run_name=run_name, tags=tags
                )
            else:
                run = mlflow.start_run(run_id=run_id)
                mlflow.set_tags(tags)
        try:
            yield str(run.info.run_id)
        except BaseException as e:
            message = str(e) or type(e).__name__
            try:
                mlflow.set_tag(ERROR_TAG, scrub(f"{type(e).__name__}: {message}")[:MAX_TAG_CHARS])
                mlflow.end_run(status=getattr(e, "run_status", "FAILED"))
            except Exception as store_error:  # the store failing too: the first error is the story
                log.error("could not record the failure in the store: %s", _innermost(store_error))
            raise
        with writing(self.uri, "end the run"):
            mlflow.end_run(status="FINISHED")

    def log_params(self, params: Mapping[str, str]) -> None:
        """Params of the active run, in batches (MLflow takes at most 100 at once)."""
        import mlflow

        items = list(params.items())
        with writing(self.uri, "log the params"):
            for i in range(0, len(items), 100):
                mlflow.log_params(dict(items[i : i + 100]))

    def set_tags(self, tags: Mapping[str, str]) -> None:
        import mlflow

        mlflow.set_tags({k: scrub(str(v)) for k, v in tags.items()})

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        import mlflow

        mlflow.log_metrics(dict(metrics))

    def delete_tags(self, run_id: str, *keys: str) -> None:
        """Remove these tags from a run, those it has."""
        client = _client()
        present = client.get_run(run_id).data.tags
        for key in keys:
            if key in present:
                client.delete_tag(run_id, key)

    def log_results(
        self,
        metrics: Mapping[str, float],
        rows: Sequence[Mapping[str, Any]],
        run_dir: Path,
        replace_table: bool = False,
    ) -> None:
        """Metrics, the per-sample table and every file in the run directory. ``log_table``
        appends to a table the run already has; ``replace_table`` writes it whole instead when the
        run has one (a reopened run that logged it before its failure)."""
        with writing(self.uri, "log the results"):
            self._log_results(metrics, rows, run_dir, replace_table)

    def _log_results(
        self,
        metrics: Mapping[str, float],
        rows: Sequence[Mapping[str, Any]],
        run_dir: Path,
        replace_table: bool,
    ) -> None:
        import mlflow
        import pandas as pd

        mlflow.log_metrics(dict(metrics))
        table = pd.DataFrame(list(rows))
        run_id = mlflow.active_run().info.run_id  # type: ignore[union-attr]
        if replace_table and self._has_table(run_id):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / TABLE_ARTIFACT
                table.to_json(path, orient="split", index=False, date_format="iso")  # its form
                mlflow.log_artifact(str(path))
        else:
            mlflow.log_table(table, artifact_file=TABLE_ARTIFACT)
        for path in sorted(run_dir.iterdir()):
            if path.is_file():
                mlflow.log_artifact(str(path))

    @staticmethod
    def _has_table(run_id: str) -> bool:
        """Whether the run logged its per-sample table in an earlier session."""
        return any(a.path == TABLE_ARTIFACT for a in _client().list_artifacts(run_id))

    # Sweeps: a parent run groups a multirun's runs; its failed jobs are listed after it.

    def find_sweep_run(self, sweep: str) -> str | None:
        """The id of the parent run of ``sweep``, if one was created."""
        query = f"tags.`{ROLE_TAG}` = 'sweep' and tags.`{SWEEP_TAG}` = '{quote(sweep)}'"
        runs = self._search(query, limit=1)
        return str(runs[0].info.run_id) if runs else None

    def start_sweep_run(self, sweep: str, overrides: str) -> str:
        """The parent run that groups a multirun's runs in the UI; left RUNNING until the
        sweep's report is logged to it."""
        tags = {SWEEP_TAG: sweep, ROLE_TAG: "sweep", OVERRIDES_TAG: overrides[:MAX_TAG_CHARS]}
        run = _client().create_run(self.experiment_id, run_name=f"sweep {sweep}", tags=tags)
        return str(run.info.run_id)

    def end_sweep_run(self, run_id: str, files: Sequence[Path], error: str | None) -> None:
        """Attach the sweep's report to its parent run and end it (FAILED with ``error``)."""
        client = _client()
        for path in files:
            client.log_artifact(run_id, str(path))
        if error:
            client.set_tag(run_id, ERROR_TAG, error[:MAX_TAG_CHARS])
        client.set_terminated(run_id, status="FAILED" if error else "FINISHED")

    def sweep_job_has_run(self, sweep: str, job: str) -> bool:
        query = f"tags.`{SWEEP_TAG}` = '{quote(sweep)}' and tags.`{JOB_TAG}` = '{quote(job)}'"
        return bool(self._search(query, limit=1))

    def record_failed_job(self, sweep: str, job: str, overrides: str, error: str) -> None:
        """A FAILED run for a sweep job that failed before its own run existed (bad settings, an
        unreachable endpoint), so the sweep's report can list it and the UI shows it."""
        tags = {SWEEP_TAG: sweep, JOB_TAG: job, OVERRIDES_TAG: scrub(overrides)[:MAX_TAG_CHARS]}
        tags[ERROR_TAG] = scrub(error)[:MAX_TAG_CHARS]
        if parent := self.find_sweep_run(sweep):
            tags[PARENT_TAG] = parent
        client = _client()
        run = client.create_run(self.experiment_id, run_name=f"failed job {job}", tags=tags)
        client.set_terminated(run.info.run_id, status="FAILED")

    def failed_sweep_jobs(self, sweep: str) -> list[dict[str, str]]:
        """The sweep's jobs whose run ended FAILED (or never ended: killed), with their errors."""
        query = f"tags.`{SWEEP_TAG}` = '{quote(sweep)}' and attributes.status != 'FINISHED'"
        return [
            {
                "run_id": r.info.run_id,
                "job": r.data.tags.get(JOB_TAG, "?"),
                "status": r.info.status,
                "overrides": r.data.tags.get(OVERRIDES_TAG, ""),
                "error": r.data.tags.get(ERROR_TAG, ""),
            }
            for r in self._search(query)
            if r.data.tags.get(ROLE_TAG) != "sweep"
        ]
