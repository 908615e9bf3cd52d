"""``python -m delegate [overrides]``: compose the config with Hydra and run one experiment.

User errors (bad config values, missing files or keys) print one line and exit with status 2.
In a multirun (``-m``) a job's failure is that job's alone: it is logged, its MLflow run ends
FAILED (one is made for it if it failed before its run existed), the other jobs run, and the
multirun exits with status 1 after its report. SIGTERM (what schedulers and ``docker stop`` send)
stops a run as Ctrl-C does: FAILED with the reason, traces written, resumable.
Every log record is scrubbed of secrets, and so are Hydra's copies of the config and the command
line in the run directory (``.hydra/``) and a multirun's ``multirun.yaml``.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Any

from delegate.config import register_resolvers
from delegate.paths import CONF_DIR
from delegate.secrets import (
    install_log_scrubber,
    register_argv_secrets,
    register_config_secrets,
    scrub_files,
)

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
    register_argv_secrets(sys.argv[1:], _key_variables())
    signal.signal(signal.SIGTERM, _terminate)

    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
    def task(cfg: DictConfig) -> float:
        _quiet_loggers()
        from delegate.runner import run
        from delegate.sweep import current_job, current_sweep

        sweep, job = current_sweep(), current_job()
        overrides = " ".join(HydraConfig.get().overrides.task)
        plain: Any = None
        try:
            plain = OmegaConf.to_container(cfg, resolve=True)
            register_config_secrets(plain)  # before anything below writes or logs the config
            out = Path(HydraConfig.get().runtime.output_dir)
            scrub_files(_hydra_files(out))
            job_tags = (job, overrides) if job is not None else None
            metrics = run(plain, out, sweep=sweep, job=job_tags)
        except DelegateError as e:
            log.error("%s", e)  # one line, on the console and in the run's log file
            if sweep is None:
                sys.exit(2)
            _job_failed(plain, sweep, job, overrides, e)
            return float("nan")
        except Exception as e:  # a bug in one job must not stop the others
            if sweep is None:
                raise
            log.exception("job %s failed", job)
            _job_failed(plain, sweep, job, overrides, e)
            return float("nan")
        return metrics.get("accuracy", float("nan"))  # a dry run measures nothing

    from delegate import sweep as sweeps

    try:
        task()
    except BaseException as e:  # SIGTERM or Ctrl-C between or inside a multirun's jobs
        if isinstance(e, KeyboardInterrupt):
            sweeps.end_interrupted(str(e) or type(e).__name__)
        raise

    if sweeps.failed_jobs:
        sys.exit(1)


def _quiet_loggers() -> None:
    """After Hydra set up logging (``hydra.verbose`` included)."""
    # Request logs would carry auth headers at DEBUG: keep the HTTP layers quiet.
    for name in ("openai", "httpx", "httpx2", "httpcore", "httpcore2", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # A store that cannot be written is one line (tracking.StoreError); MLflow's own log of the
    # same database error, with its traceback, would bury it.
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)


def _key_variables() -> list[str]:
    """The variable names the model config files give as ``api_key_env``."""
    import yaml

    names = []
    for path in sorted(CONF_DIR.glob("[ls]lm/*.yaml")):
        try:
            value = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("api_key_env")
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(value, str):
            names.append(value)
    return names


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM before or after the run's event loop (inside it, the runner cancels the run)."""
    from delegate.runner import Terminated

    raise Terminated("stopped by SIGTERM")


def _job_failed(
    cfg: Any, sweep: str, job: str | None, overrides: str, error: BaseException
) -> None:
    """Make sure the store shows a failed job: its own run ended FAILED already if it had
    started; otherwise a FAILED run is made for it under the sweep's parent."""
    from delegate import tracking

    if not isinstance(cfg, dict) or job is None:
        return
    try:
        store = tracking.open_store(cfg["tracking"]["uri"], cfg["tracking"]["experiment"])
        if not store.sweep_job_has_run(sweep, job):
            message = f"{type(error).__name__}: {error}"
            store.record_failed_job(sweep, job, overrides, message)
    except Exception as e:  # the store itself is the problem: the log line is all there is
        log.error("job %s: could not record its failure in MLflow: %s", job, e)


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
