"""``python -m delegate [overrides]``: compose the config with Hydra and run one experiment.

User errors (bad config values, missing files or keys) print one line and exit with status 2.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from delegate.config import register_resolvers
from delegate.paths import CONF_DIR

log = logging.getLogger("delegate")


def main() -> None:
    if not CONF_DIR.is_dir():
        sys.exit(f"error: no config directory at {CONF_DIR}; install with 'make setup' (editable)")
    register_resolvers()

    import hydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import DictConfig, OmegaConf

    from delegate.errors import DelegateError

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
            metrics = run(plain, out, sweep=current_sweep())  # type: ignore[arg-type]
        except DelegateError as e:
            log.error("%s", e)  # one line, on the console and in the run's log file
            sys.exit(2)
        return metrics["accuracy"]

    task()


if __name__ == "__main__":
    main()
