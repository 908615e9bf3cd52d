"""Helpers shared by unit and integration tests: composing the real configs, reading a store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from delegate.__main__ import _register_resolvers
from delegate.paths import CONF_DIR


@contextmanager
def hydra_dir() -> Iterator[None]:
    _register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        yield


def resolved(*overrides: str) -> dict[str, Any]:
    """The config ``python -m delegate <overrides>`` would run, resolved to plain data."""
    with hydra_dir():
        cfg = compose("config", overrides=list(overrides))
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


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
