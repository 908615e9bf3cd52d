"""Multiruns as one sweep: a shared tag, a store made before any job, a report at the end.

``python -m delegate -m seed=1,2,3 strategy=llm,slm,router`` runs one job per combination. Hydra
calls ``SweepCallback`` (configured under ``hydra.callbacks``) before the first job and after the
last: before, it creates the MLflow store, the experiment and a parent run, so parallel jobs never
race to create a fresh SQLite database; after, it writes the comparison report
(``delegate.compare``) to the sweep directory and logs it to the parent run, with the comparison
as an MLflow table and each configuration's headline numbers as metrics
(``delegate.sweep_summary``). Each job tags its run with the sweep's id (``sweep_id``) and names
the parent run, so the UI groups them.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from delegate.paths import PROJECT_ROOT

log = logging.getLogger(__name__)


def sweep_id(sweep_dir: str | Path) -> str:
    """A sweep's id: its directory, relative to the project when inside it. Every job of a
    multirun sees the same directory, whichever launcher runs it."""
    path = Path(sweep_dir).resolve()
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def current_sweep() -> str | None:
    """The id of the sweep this Hydra job belongs to; None for a single run."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return None
    return sweep_id(hydra_cfg.sweep.dir)


def current_job() -> str | None:
    """This job's number in its multirun (Hydra's ``job.num``); None for a single run."""
    from hydra.core.hydra_config import HydraConfig

    if current_sweep() is None:
        return None
    return str(HydraConfig.get().job.num)


# Set by ``on_multirun_end``: how many of the sweep's jobs failed, for the exit status.
failed_jobs = 0
# The config of a multirun that started and has not been reported on (see ``end_interrupted``).
_pending: Any = None


def end_interrupted(reason: str) -> None:
    """A multirun stopped before its end (SIGTERM, Ctrl-C), so Hydra never calls
    ``on_multirun_end``: report on the jobs that finished, list the failed ones, and end the
    parent run FAILED with ``reason``. Nothing to do outside such a multirun."""
    if _pending is not None:
        SweepCallback().on_multirun_end(_pending, interrupted=reason)


def _overrides(argv: list[str]) -> str:
    """The command line, for the parent run's tag, with any secret-looking value masked."""
    from delegate.params import is_secret_key
    from delegate.secrets import scrub

    def masked(arg: str) -> str:
        key, sep, _ = arg.partition("=")
        return f"{key}=***" if sep and is_secret_key(key.lstrip("+~")) else arg

    return scrub(" ".join(masked(a) for a in argv))


def _summarize(parent: str, rows: list[dict[str, Any]]) -> None:
    """The comparison on the parent run; the report's files are its record, so a store that
    refuses the table costs the table only."""
    from delegate.sweep_summary import log_comparison

    try:
        log_comparison(parent, rows)
    except Exception as e:
        log.warning("the parent run %s has no comparison table: %s", parent, e)


def _tracking(config: Any) -> tuple[str, str]:
    return str(config.tracking.uri), str(config.tracking.experiment)


class SweepCallback(Callback):
    """Prepares the store before a multirun's jobs and reports on them after."""

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        global _pending
        from delegate import tracking

        if config.get("dry_run"):  # a dry run writes nothing to the store, in a sweep too
            return
        _pending = config
        uri, experiment = _tracking(config)
        sweep = sweep_id(config.hydra.sweep.dir)
        tracking.open_store(uri, experiment).start_sweep_run(sweep, _overrides(sys.argv[1:]))
        log.info("sweep %s: MLflow experiment %r at %s", sweep, experiment, uri)

    def on_multirun_end(self, config: Any, interrupted: str | None = None, **kwargs: Any) -> None:
        """Report on the jobs that finished, list those that did not, and end the parent run
        (FAILED if any job failed, or the sweep was ``interrupted`` before its last job)."""
        global failed_jobs, _pending
        from delegate import tracking

        _pending = None
        if config.get("dry_run"):
            return
        from delegate.compare.report import markdown, write_report

        uri, experiment = _tracking(config)
        sweep = sweep_id(config.hydra.sweep.dir)
        store = tracking.open_store(uri, experiment)
        parent = store.find_sweep_run(sweep)
        out = Path(str(config.hydra.sweep.dir))
        failures = store.failed_sweep_jobs(sweep)
        failed_jobs = len(failures)
        files: list[Path] = []
        if failures:
            listing = out / "failed_jobs.json"
            listing.write_text(json.dumps(failures, indent=2) + "\n", encoding="utf-8")
            files.append(listing)
        try:
            report, rows = write_report(experiment, sweep, out)
            files += report
            if parent:
                _summarize(parent, rows)
            print(markdown(rows), flush=True)  # the sweep's answer, where the user is looking
            log.info("sweep %s: comparison in %s", sweep, out)
            error = None
        except Exception as e:  # the runs are safe in the store; `delegate.compare` can retry
            log.error("sweep %s: no comparison report: %s", sweep, e)
            error = f"{type(e).__name__}: {e}"
        for failure in failures:
            log.error(
                "sweep %s: job %s failed (%s): %s",
                sweep,
                failure["job"],
                failure["overrides"],
                failure["error"],
            )
        if failures:
            error = error or f"{len(failures)} job(s) failed; see failed_jobs.json"
        if interrupted:
            error = f"{interrupted}: the sweep did not finish" + (f"; {error}" if error else "")
        if parent:
            store.end_sweep_run(parent, files, error)
        if error and not failures:
            failed_jobs = failed_jobs or 1  # no report: the sweep did not do its job either
