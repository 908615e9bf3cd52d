"""Reading an experiment's finished runs back from MLflow: identity, tags, metrics and records.

The one module of ``delegate.compare`` that speaks to MLflow (``open_store`` points it at a
store; ``load_runs`` reads an experiment, ``load_selected`` the runs a learned router trains
on). Each run comes back typed: its per-sample table read into records by
``delegate.records.read_records``, which repairs what MLflow's ``load_table`` does to the cells.
A run's configuration is its identity (``config_id``, see ``delegate.identity``): runs that differ
only in runtime settings (concurrency, cache, progress) or in seed are one configuration, grouped
later, once (``table.configurations``). Nothing here imports the model stack.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from delegate.errors import DelegateError
from delegate.identity import IDENTITY_FILE
from delegate.outputs import TABLE_ARTIFACT
from delegate.records import ProblemRecord, read_records
from delegate.tags import (
    CONFIG_ID_TAG,
    DATASET_TAG,
    LLM_TAG,
    PROMPT_TAG,
    ROLE_TAG,
    SEED_TAG,
    SLM_TAG,
    STRATEGY_TAG,
    SWEEP_TAG,
)
from delegate.tracking import quote
from delegate.validation import check_tracking_uri

log = logging.getLogger(__name__)

# The tags a report label is made of (the models' and prompt set's names, the dataset).
LABEL_TAGS = (STRATEGY_TAG, LLM_TAG, SLM_TAG, PROMPT_TAG, DATASET_TAG)


class NoRuns(DelegateError):
    """Nothing to compare: no such experiment, sweep or finished run."""


@dataclass(frozen=True)
class RunResult:
    """One finished run: its configuration, seed, metrics and per-problem records.

    ``records`` (typed, read back through ``records.read_records``) replaced the row dicts that
    an older version kept as ``problems``."""

    run_id: str
    config_id: str
    tags: dict[str, str]  # LABEL_TAGS
    seed: str
    sweep: str | None
    metrics: dict[str, float]
    records: list[ProblemRecord]  # its per-sample table, read back

    @property
    def strategy(self) -> str:
        return self.tags[STRATEGY_TAG]


@dataclass
class Loaded:
    """What a report is built from: runs, each configuration's identity, and notes on runs that
    were left out."""

    runs: list[RunResult]
    documents: dict[str, dict[str, Any]]  # config_id -> its identity.json
    notes: list[str] = field(default_factory=list)


def open_store(uri: str) -> None:
    """Point MLflow at the store ``uri`` to read from, failing with one line when it cannot
    work, or when a SQLite store does not exist (MLflow would create an empty one).

    Raises:
        DelegateError: The URI is unusable, or names no existing SQLite file.
    """
    import mlflow

    check_tracking_uri(uri)
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///") :])
        if not db.is_file():
            raise NoRuns(f"no MLflow store at {db}")
    mlflow.set_tracking_uri(uri)


def latest_sweep(experiment_id: str) -> str:
    from mlflow.tracking import MlflowClient

    runs = MlflowClient().search_runs(
        [experiment_id],
        filter_string=f"tags.`{ROLE_TAG}` = 'sweep'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        raise NoRuns("no sweep in this experiment (run one with python -m delegate -m ...)")
    return str(runs[0].data.tags[SWEEP_TAG])


def load_runs(experiment: str, sweep: str | None = None) -> Loaded:
    """The experiment's FINISHED runs (of ``sweep`` only, when given; "latest": the newest
    sweep), the newest run per configuration and seed, each with its per-sample table."""
    from mlflow.tracking import MlflowClient

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar per table
    client = MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise NoRuns(f"no MLflow experiment named {experiment!r} in {client.tracking_uri}")
    experiment_id = str(found.experiment_id)
    if sweep == "latest":
        sweep = latest_sweep(experiment_id)
    query = "attributes.status = 'FINISHED'"
    if sweep is not None:
        query += f" and tags.`{SWEEP_TAG}` = '{quote(sweep)}'"
    notes: list[str] = []
    newest: dict[tuple[str, str], Any] = {}
    for run in client.search_runs(
        [experiment_id], filter_string=query, order_by=["attributes.start_time ASC"]
    ):
        tags = run.data.tags
        if tags.get(ROLE_TAG) == "sweep":
            continue  # a sweep's parent run
        if CONFIG_ID_TAG not in tags:
            notes.append(f"run {run.info.run_id} skipped: it has no {CONFIG_ID_TAG} tag")
            continue
        newest[(tags[CONFIG_ID_TAG], tags.get(SEED_TAG, "?"))] = run  # later runs replace earlier
    if not newest:
        where = f"sweep {sweep!r} of " if sweep else ""
        raise NoRuns(f"no finished runs in {where}experiment {experiment!r}")
    rows_by_run = _per_sample_rows(client, experiment_id, [r.info.run_id for r in newest.values()])
    results, documents = [], {}
    for (cid, seed), run in newest.items():
        rows = rows_by_run.get(run.info.run_id)
        if isinstance(rows, str) or not rows:
            notes.append(f"run {run.info.run_id} skipped: {rows or 'it has no per-sample table'}")
            continue
        if cid not in documents:
            document = _identity_document(run.info.run_id)
            if isinstance(document, str):
                notes.append(f"run {run.info.run_id} skipped: {document}")
                continue
            documents[cid] = document
        results.append(_result(run, cid, seed, rows))
    if not results:
        raise NoRuns(f"no comparable runs in experiment {experiment!r}: {'; '.join(notes)}")
    return Loaded(results, documents, notes)


def _result(run: Any, cid: str, seed: str, records: list[ProblemRecord]) -> RunResult:
    tags = run.data.tags
    return RunResult(
        run_id=run.info.run_id,
        config_id=cid,
        tags={k: tags.get(k, "?") for k in LABEL_TAGS},
        seed=seed,
        sweep=tags.get(SWEEP_TAG),
        metrics=dict(run.data.metrics),
        records=records,
    )


Selector = str | Mapping[str, Any]  # a run id, or {"config_id": ..., "seed": ...}


def load_selected(uri: str, selectors: Sequence[Selector]) -> list[RunResult]:
    """The finished runs that ``selectors`` name in the store at ``uri``, in their order, each
    with its records: a run id, or a configuration and seed (its newest finished run, in any
    experiment).

    Raises:
        NoRuns: A selector names no finished run, or its run has no readable per-sample table.
    """
    from mlflow.tracking import MlflowClient

    open_store(uri)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    client = MlflowClient()
    results = []
    for selector in selectors:
        run = _selected_run(client, selector)
        records = _one_table(client, run.info.experiment_id, run.info.run_id)
        if isinstance(records, str):
            raise NoRuns(f"run {run.info.run_id}: {records}")
        tags = run.data.tags
        results.append(_result(run, tags.get(CONFIG_ID_TAG, "?"), tags.get(SEED_TAG, "?"), records))
    return results


def _selected_run(client: Any, selector: Selector) -> Any:
    """The finished run a selector names (see ``load_selected``)."""
    if isinstance(selector, str):
        try:
            run = client.get_run(selector)
        except Exception:
            raise NoRuns(f"no run {selector!r} in the store") from None
        if run.info.status != "FINISHED":
            raise NoRuns(f"run {selector} is {run.info.status}, not FINISHED")
        return run
    if not isinstance(selector, Mapping) or set(selector) != {"config_id", "seed"}:
        raise NoRuns(f"a run is named by its id or by {{config_id, seed}}, got {selector!r}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    query = (
        f"attributes.status = 'FINISHED' and tags.`{CONFIG_ID_TAG}` = "
        f"'{quote(str(selector['config_id']))}' and tags.`{SEED_TAG}` = "
        f"'{quote(str(selector['seed']))}'"
    )
    found = client.search_runs(
        experiments, filter_string=query, order_by=["attributes.start_time DESC"], max_results=1
    )
    if not found:
        raise NoRuns(
            f"no finished run of configuration {selector['config_id']} with seed "
            f"{selector['seed']} in the store"
        )
    return found[0]


def _per_sample_rows(
    client: Any, experiment_id: str, run_ids: list[str]
) -> dict[str, list[ProblemRecord] | str]:
    """Each run's per-sample records, or why it has none. One table for all runs first; if that
    fails (one run lacks the table, or holds a broken one), each run's own, so one bad run is
    that run's note and not every run's."""
    try:
        table = client.load_table(
            experiment_id, TABLE_ARTIFACT, run_ids=run_ids, extra_columns=["run_id"]
        )
        rows_by_run: dict[str, list[dict[str, Any]]] = {}
        for row in table.to_dict(orient="records"):
            rows_by_run.setdefault(str(row["run_id"]), []).append(row)
        return {run_id: read_records(rows) for run_id, rows in rows_by_run.items()}
    except Exception as e:
        log.info("per-sample tables read run by run: %s", e)
    return {run_id: _one_table(client, experiment_id, run_id) for run_id in run_ids}


def _one_table(client: Any, experiment_id: str, run_id: str) -> list[ProblemRecord] | str:
    try:
        table = client.load_table(experiment_id, TABLE_ARTIFACT, run_ids=[run_id])
    except Exception:
        return "it has no per-sample table"
    try:
        return read_records(table.to_dict(orient="records"))
    except (ValueError, TypeError, KeyError) as e:
        return f"its per-sample table cannot be read ({type(e).__name__}: {e})"


def _identity_document(run_id: str) -> dict[str, Any] | str:
    """The run's identity document, or why it has none."""
    import mlflow

    try:
        text = mlflow.artifacts.load_text(f"runs:/{run_id}/{IDENTITY_FILE}")
    except Exception:  # an older run, or a store that lost the file
        return f"it has no {IDENTITY_FILE}"
    try:
        document = json.loads(text)
    except ValueError as e:
        return f"its {IDENTITY_FILE} is not valid JSON ({e})"
    if not isinstance(document, dict) or not isinstance(document.get("identity"), dict):
        return f"its {IDENTITY_FILE} holds no identity"
    return document
