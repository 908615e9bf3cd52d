"""``python -m delegate [overrides]``: compose the config with Hydra and run one experiment.

User errors (bad config values, missing files or keys) print one line and exit with status 2.
Every log record is scrubbed of secrets, and so are Hydra's copies of the config and the command
line in the run directory (``.hydra/``) and a multirun's ``multirun.yaml``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from delegate.config import register_resolvers
from delegate.paths import CONF_DIR
from delegate.secrets import install_log_scrubber, scrub_files

log = logging.getLogger("delegate")


def main() -> None:
    if not CONF_DIR.is_dir():
        sys.exit(f"error: no config directory at {CONF_DIR}; install with 'make setup' (editable)")
    register_resolvers()

    import hydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import DictConfig, OmegaConf

    from delegate.errors import DelegateError

    install_log_scrubber()

    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
    def task(cfg: DictConfig) -> float:
        # Request logs would carry auth headers at DEBUG: keep the HTTP layers quiet.
        for name in ("openai", "httpx", "httpx2", "httpcore", "httpcore2", "urllib3"):
            logging.getLogger(name).setLevel(logging.WARNING)
        from delegate.runner import run
        from delegate.sweep import current_sweep

        try:
            plain = OmegaConf.to_container(cfg, resolve=True)
            out = Path(HydraConfig.get().runtime.output_dir)
            scrub_files(_hydra_files(out))
            metrics = run(plain, out, sweep=current_sweep())  # type: ignore[arg-type]
        except DelegateError as e:
            log.error("%s", e)  # one line, on the console and in the run's log file
            sys.exit(2)
        return metrics.get("accuracy", float("nan"))  # a dry run measures nothing

    task()


def _hydra_files(run_dir: Path) -> list[Path]:
    """The files Hydra wrote before the job started: its copies of the config and overrides,
    and in a multirun the sweep's ``multirun.yaml``."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hydra_cfg = HydraConfig.get()
    files = []
    if hydra_cfg.output_subdir is not None:
        files += sorted((run_dir / str(hydra_cfg.output_subdir)).glob("*.yaml"))
    if hydra_cfg.mode == RunMode.MULTIRUN:
        files.append(Path(str(hydra_cfg.sweep.dir)) / "multirun.yaml")
    return files


if __name__ == "__main__":
    main()
