"""Reading an experiment's finished runs back from MLflow: tags, metrics, per-sample tables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from delegate.errors import DelegateError
from delegate.resume import HASH_TAG
from delegate.tracking import ROLE_TAG, SWEEP_TAG, quote

# What makes a configuration: one row of the comparison, aggregated over seeds.
CONFIG_KEYS = ("strategy", "llm", "slm", "prompt", "dataset")


class NoRuns(DelegateError):
    """Nothing to compare: no such experiment, sweep or finished run."""


@dataclass(frozen=True)
class RunResult:
    """One finished run: its configuration, seed, metrics and per-problem outcomes."""

    run_id: str
    config: tuple[str, ...]  # values of CONFIG_KEYS
    seed: str
    sweep: str | None
    metrics: dict[str, float]
    problems: list[dict[str, Any]]  # the per-sample table's rows

    @property
    def label(self) -> str:
        return config_label(self.config)


def config_label(config: tuple[str, ...]) -> str:
    strategy, llm, slm, prompt, _ = config
    models = {"llm": llm, "slm": slm, "router": f"{llm} + {slm}"}.get(strategy, f"{llm}/{slm}")
    return f"{strategy} ({models}, {prompt})"


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


def load_runs(experiment: str, sweep: str | None = None) -> list[RunResult]:
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
    newest: dict[tuple[tuple[str, ...], str], Any] = {}
    for run in client.search_runs(
        [experiment_id], filter_string=query, order_by=["attributes.start_time ASC"]
    ):
        tags = run.data.tags
        if HASH_TAG not in tags or tags.get(ROLE_TAG) == "sweep":
            continue  # not an experiment run (a sweep's parent run)
        config = tuple(tags.get(k, "?") for k in CONFIG_KEYS)
        newest[(config, tags.get("seed", "?"))] = run  # later runs replace earlier ones
    if not newest:
        where = f"sweep {sweep!r} of " if sweep else ""
        raise NoRuns(f"no finished runs in {where}experiment {experiment!r}")
    runs = list(newest.values())
    table = client.load_table(
        experiment_id,
        "per_sample.json",
        run_ids=[r.info.run_id for r in runs],
        extra_columns=["run_id"],
    )
    rows_by_run: dict[str, list[dict[str, Any]]] = {}
    for row in table.to_dict(orient="records"):
        rows_by_run.setdefault(str(row["run_id"]), []).append(row)
    return [
        RunResult(
            run_id=r.info.run_id,
            config=key[0],
            seed=key[1],
            sweep=r.data.tags.get(SWEEP_TAG),
            metrics=dict(r.data.metrics),
            problems=rows_by_run.get(r.info.run_id, []),
        )
        for key, r in newest.items()
    ]
