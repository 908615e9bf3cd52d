"""Which provider batches a run has submitted, so that no session of it pays for one twice.

A batch is recorded on the run (tag ``batch_ids``) the moment it is created. When an interrupted
command runs again, its session reopens the run and hands the batching backend a ledger that
knows those batches: a request already in one is collected from it, not sent again. With
``retry_errors=true`` a request whose line failed there is sent again, in a new batch.

The runner makes the ledger current for the problem loop (``recording``); a batching backend
reads it with ``current()``. Without one (a model used outside a run) nothing is known or kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

SEPARATOR = ","  # between the ids in the tag's value


@dataclass
class BatchLedger:
    """The batches of this run: ``known`` from its earlier sessions, each new one ``add``-ed and
    passed, with all the others, to ``record`` (which writes the tag)."""

    known: list[str] = field(default_factory=list)
    retry_failed: bool = False
    record: Callable[[str], None] = lambda value: None

    def add(self, batch_id: str) -> None:
        if batch_id not in self.known:
            self.known.append(batch_id)
        self.record(SEPARATOR.join(self.known))


def parse(value: str | None) -> list[str]:
    """The batch ids in a ``batch_ids`` tag's value."""
    return [part for part in (value or "").split(SEPARATOR) if part]


_current: ContextVar[BatchLedger | None] = ContextVar("delegate_batch_ledger", default=None)


def current() -> BatchLedger | None:
    return _current.get()


@contextmanager
def recording(
    known: Sequence[str], retry_failed: bool, record: Callable[[str], None]
) -> Iterator[BatchLedger]:
    """A ledger current for the tasks created inside the block."""
    ledger = BatchLedger(list(known), retry_failed, record)
    token = _current.set(ledger)
    try:
        yield ledger
    finally:
        _current.reset(token)
