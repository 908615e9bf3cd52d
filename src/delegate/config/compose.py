"""Composing the project's Hydra config outside the command line (benchmarks, notebooks, tests).

``compose("strategy=llm", "samples=5")`` returns the same resolved config that
``python -m delegate strategy=llm samples=5`` would run, as plain data for ``runner.run``.
"""

from __future__ import annotations

from typing import Any

from delegate.paths import CONF_DIR, PROJECT_ROOT


def register_resolvers() -> None:
    """The ``${project_root:}`` resolver the configs use for default paths."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("project_root"):
        OmegaConf.register_new_resolver("project_root", lambda: str(PROJECT_ROOT))


def compose(*overrides: str) -> dict[str, Any]:
    """The resolved config for these command-line overrides."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = hydra_compose("config", overrides=list(overrides))
    resolved: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    return resolved
