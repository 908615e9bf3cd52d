"""Resuming interrupted runs: the same command continues the same MLflow run.

A run is found by its configuration identity (``delegate.identity``: the ``config_id`` tag, which
covers the dataset file's content) and its seed.

Each finished problem is appended to the run directory's ``per_sample.jsonl`` as it is scored, and
the run carries that file's path as the ``delegate.records`` tag. When the same config runs again
and its latest run did not finish (killed: still RUNNING; Ctrl-C or a crash: FAILED), that run is
reopened and only the missing problems are solved. Problems that had errored are tried again, and
a record whose question differs from the problem's text now is never reused. A
FINISHED run is never resumed, nor one still RUNNING in a live process on this host (its
``delegate.owner`` tag); ``resume=false`` always starts a new run.

A run stopped by its budget (``budget_usd``) ends KILLED and is resumed like any other; with
``retry_errors=true`` a FINISHED run's good records are carried into a new run (tagged
``retry_of``), which solves only the errored problems again: the finished run stays as it was
whatever happens to the retry. What every session of a run billed (``spent_usd``) is kept in
``budget.json`` beside the records, so a continued run counts it against its budget.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from delegate import records
from delegate.data import Problem
from delegate.errors import DelegateError
from delegate.models import batch_ledger
from delegate.models.budget import read_spent
from delegate.outputs import BUDGET_FILE
from delegate.records import ProblemRecord
from delegate.tags import BATCH_IDS_TAG, OWNER_TAG, RECORDS_TAG
from delegate.tracking import Store

log = logging.getLogger(__name__)

__all__ = ["BUDGET_FILE", "OWNER_TAG", "RECORDS_TAG", "Previous", "find_resumable", "owner"]


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _still_running(run_owner: str | None) -> bool:
    """Whether the process named by an OWNER_TAG value is a live ``delegate`` process on this
    host. A reused PID (another program now) does not count."""
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
        pass
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return b"delegate" in cmdline.read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no /proc (not Linux): trust the PID
    except OSError:
        return True


@dataclass(frozen=True)
class Previous:
    """What an unfinished run already measured."""

    run_id: str
    records: list[ProblemRecord]
    elapsed_s: float  # loop time those records took
    spent_usd: float = 0.0  # what all its sessions billed, work later discarded included
    status: str = "FAILED"
    metrics: dict[str, float] = field(default_factory=dict)  # what it logged, if it finished

    total: int = 0  # problems in the run's sample
    batch_ids: tuple[str, ...] = ()  # provider batches its sessions submitted (llm.batch=true)

    @property
    def finished(self) -> bool:
        return self.status == "FINISHED"

    @property
    def errored(self) -> int:
        """Problems without a good record: errored, or never finished."""
        return self.total - len(self.records)


def find_resumable(
    store: Store,
    config_id: str,
    seed: int,
    problems: Sequence[Problem],
    retry_errors: bool = False,
) -> Previous | None:
    """The latest run of this configuration and seed, if it did not finish (or, with
    ``retry_errors``, whatever its status), with its good records."""
    run = store.latest_run(config_id, seed)
    if run is None or (run.status == "FINISHED" and not retry_errors):
        return None
    if run.status == "RUNNING" and _still_running(run.tags.get(OWNER_TAG)):
        raise DelegateError(
            f"the same run ({run.run_id}) is in progress in process "
            f"{run.tags[OWNER_TAG]}; wait for it, or start a separate run with resume=false"
        )
    path = run.tags.get(RECORDS_TAG)
    wanted = {p.id: p.question for p in problems}
    records, elapsed = read_records(Path(path), wanted) if path else ([], 0.0)
    spent = spent_before(Path(path)) if path else 0.0
    log.info(
        "%s run %s (%s): %d of %d problems already done, $%.4f billed so far",
        "reopening finished" if run.status == "FINISHED" else "resuming unfinished",
        run.run_id,
        run.status,
        len(records),
        len(problems),
        spent,
    )
    return Previous(
        run.run_id,
        records,
        elapsed,
        spent,
        run.status,
        run.metrics,
        total=len(problems),
        batch_ids=tuple(batch_ledger.parse(run.tags.get(BATCH_IDS_TAG))),
    )


def spent_before(records_path: Path) -> float:
    """What a run billed in all its sessions: saved in ``budget.json`` beside its records, or,
    for a run without that file, what its records say they billed (errored ones included)."""
    saved = read_spent(records_path.parent / BUDGET_FILE)
    if saved is not None:
        return saved
    if not records_path.is_file():
        return 0.0
    total = 0.0
    for line in records_path.read_text(encoding="utf-8").splitlines():
        try:
            total += float(json.loads(line).get("billed_usd") or 0.0)
        except (json.JSONDecodeError, TypeError, ValueError, AttributeError):
            continue
    return total


def read_records(path: Path, wanted: Mapping[int, str]) -> tuple[list[ProblemRecord], float]:
    """Records of ``wanted`` problems (id -> question) that finished without error on that very
    question, and the loop time they took, read through the one record reader.

    A kill can cut the last line short; such a line is skipped (its problem is solved again).
    """
    if not path.is_file():
        return [], 0.0
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    by_id: dict[int, ProblemRecord] = {}
    elapsed = 0.0
    for row, record in zip(rows, records.read_records(rows), strict=True):
        if wanted.get(record.problem_id) == record.question and record.error is None:
            by_id[record.problem_id] = record
            elapsed = max(elapsed, float(row.get("elapsed_s", 0.0)))
    return list(by_id.values()), elapsed
