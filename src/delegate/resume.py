"""Resuming interrupted runs: the same command continues the same MLflow run.

A run is identified by a digest of its resolved config (less the keys that cannot change results:
``progress``, ``concurrency``, ``resume``, ``cache``), stored as the ``delegate.config_hash`` tag.
Each finished problem is appended to the run directory's ``per_sample.jsonl`` as it is scored, and
the run carries that file's path as the ``delegate.records`` tag. When the same config runs again
and its latest run did not finish (killed: still RUNNING; Ctrl-C or a crash: FAILED), that run is
reopened and only the missing problems are solved. Problems that had errored are tried again. A
FINISHED run is never resumed, nor one still RUNNING in a live process on this host (its
``delegate.owner`` tag); ``resume=false`` always starts a new run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from delegate.data import Problem
from delegate.errors import DelegateError
from delegate.records import ProblemRecord

log = logging.getLogger(__name__)

HASH_TAG = "delegate.config_hash"
RECORDS_TAG = "delegate.records"
OWNER_TAG = "delegate.owner"  # host:pid of the process running it


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _still_running(run_owner: str | None) -> bool:
    """Whether the process named by an OWNER_TAG value is alive on this host."""
    if not run_owner or ":" not in run_owner:
        return False
    host, _, pid = run_owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's run cannot be checked; a stale RUNNING run is resumable
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_IGNORED_KEYS = ("progress", "concurrency", "resume", "cache")


def config_hash(cfg: Mapping[str, Any]) -> str:
    """A digest of everything in the config that can change a run's results."""
    kept = {k: v for k, v in cfg.items() if k not in _IGNORED_KEYS}
    text = json.dumps(kept, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Previous:
    """What an unfinished run already measured."""

    run_id: str
    records: list[ProblemRecord]
    elapsed_s: float  # loop time those records took


def find_unfinished(
    experiment_id: str, digest: str, problems: Sequence[Problem]
) -> Previous | None:
    """The latest run with this config digest, if it did not finish, with its good records."""
    from mlflow.tracking import MlflowClient

    runs = MlflowClient().search_runs(
        [experiment_id],
        filter_string=f"tags.`{HASH_TAG}` = '{digest}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs or runs[0].info.status == "FINISHED":
        return None
    run = runs[0]
    if run.info.status == "RUNNING" and _still_running(run.data.tags.get(OWNER_TAG)):
        raise DelegateError(
            f"the same run ({run.info.run_id}) is in progress in process "
            f"{run.data.tags[OWNER_TAG]}; wait for it, or start a separate run with resume=false"
        )
    path = run.data.tags.get(RECORDS_TAG)
    wanted = {p.id for p in problems}
    records, elapsed = read_records(Path(path), wanted) if path else ([], 0.0)
    log.info(
        "resuming unfinished run %s (%s): %d of %d problems already done",
        run.info.run_id,
        run.info.status,
        len(records),
        len(problems),
    )
    return Previous(run.info.run_id, records, elapsed)


def read_records(path: Path, wanted: set[int]) -> tuple[list[ProblemRecord], float]:
    """Records of ``wanted`` problems that finished without error, and the loop time they took.

    A kill can cut the last line short; such a line is skipped (its problem is solved again).
    """
    if not path.is_file():
        return [], 0.0
    by_id: dict[int, ProblemRecord] = {}
    elapsed = 0.0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        record = ProblemRecord.from_row(row)
        if record.problem_id in wanted and record.error is None:
            by_id[record.problem_id] = record
            elapsed = max(elapsed, float(row.get("elapsed_s", 0.0)))
    return list(by_id.values()), elapsed
