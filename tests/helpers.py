"""Helpers shared by unit and integration tests: composing the real configs, reading a store."""

from __future__ import annotations

from typing import Any

from delegate.config import compose as resolved  # the config `python -m delegate ...` runs

__all__ = ["finished_runs", "per_sample_table", "resolved", "run_traces"]


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
