"""Problems in flight, and those parked on a call whose answer comes later.

The problem loop runs at most ``concurrency`` problems at once. A call sent through a provider's
Batch API (``llm.batch=true``) returns hours later, and a batch is worth most when it holds every
request of the run: so a problem that parks on such a call gives up its place, the next problem
starts, and once every problem in flight is parked (none running, none about to start) the parked
calls are sent together. A problem back from a batch finishes without waiting for a place again:
what is left of it (grading, recording) is short, and re-taking a place could only delay it.

The loop sets the current ``InFlight`` (``tracking``); a backend that batches reads it with
``current()``. Outside a loop there is none, and a batching backend sends what it has gathered at
once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from delegate.models.base import Completion, Message, ModelWrapper


@dataclass(eq=False)
class Slot:
    """One problem's place in the loop: ``key`` names the problem (its id), so a request it
    parks can be named the same way in every session of a run."""

    key: str
    held: bool = False
    active: int = 0  # its model calls under way (``calling``)
    waiting: int = 0  # of those, parked on a deferred call (a cascade's samples wait together)

    @property
    def parked(self) -> bool:
        """Every call it has under way is parked (a call still looking in the response cache,
        say, may yet park: the batch waits for it)."""
        return self.waiting > 0 and self.waiting >= self.active


class InFlight:
    """At most ``concurrency`` problems running; listeners told when all in flight are parked."""

    def __init__(self, concurrency: int) -> None:
        self._gate = asyncio.Semaphore(concurrency)
        self._slots: set[Slot] = set()  # problems started and not finished
        self.starting = 0  # waiting for a place
        self._listeners: list[Callable[[], None]] = []
        self._check_scheduled = False

    @property
    def running(self) -> int:
        return len(self._slots)

    @property
    def parked(self) -> int:
        return sum(slot.parked for slot in self._slots)

    @asynccontextmanager
    async def problem(self, key: str) -> AsyncIterator[Slot]:
        """Hold a place while the problem runs (released early if it parks)."""
        slot = Slot(key)
        self.starting += 1
        try:
            await self._gate.acquire()
        finally:
            self.starting -= 1
        slot.held = True
        self._slots.add(slot)
        token = _slot.set(slot)
        try:
            yield slot
        finally:
            _slot.reset(token)
            self._slots.discard(slot)
            if slot.held:
                slot.held = False
                self._gate.release()
            self._changed()

    @contextmanager
    def parked_call(self) -> Iterator[Slot | None]:
        """Mark the current problem's call parked on a deferred answer until the block ends;
        the problem's place goes to the next problem."""
        slot = _slot.get()
        if slot is None:  # a call outside any problem: nothing to count
            yield None
            return
        slot.waiting += 1
        if slot.held:
            slot.held = False
            self._gate.release()
        self._changed()
        try:
            yield slot
        finally:
            slot.waiting -= 1

    def when_all_parked(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` each time every problem in flight is parked."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    @property
    def all_parked(self) -> bool:
        return bool(self._slots) and self.starting == 0 and all(s.parked for s in self._slots)

    def _changed(self) -> None:
        # Checked on the next turn of the loop: a released place is taken by the next problem
        # only then, and a check now would see every problem parked for a moment.
        if not self._check_scheduled:
            self._check_scheduled = True
            asyncio.get_running_loop().call_soon(self._check)

    def _check(self) -> None:
        self._check_scheduled = False
        if self.all_parked:
            for listener in list(self._listeners):
                listener()


@contextmanager
def calling() -> Iterator[None]:
    """Count a model call of the current problem as under way (``CountedChatModel``)."""
    slot, flight = _slot.get(), _current.get()
    if slot is None:
        yield
        return
    slot.active += 1
    try:
        yield
    finally:
        slot.active -= 1
        if flight is not None:
            flight._changed()


class CountedChatModel(ModelWrapper):
    """The outermost wrapper of a run's model: each call counted as under way for its problem,
    so a batch is sent only once none of a problem's calls can still join it."""

    async def complete(self, messages: list[Message], **options: Any) -> Completion:
        with calling():
            return await self.inner.complete(messages, **options)


_current: ContextVar[InFlight | None] = ContextVar("delegate_in_flight", default=None)
_slot: ContextVar[Slot | None] = ContextVar("delegate_slot", default=None)


def current() -> InFlight | None:
    """The problem loop's ``InFlight``, if a loop is running in this context."""
    return _current.get()


@contextmanager
def tracking(in_flight: InFlight) -> Iterator[InFlight]:
    """Make ``in_flight`` current for the tasks created inside the block."""
    token = _current.set(in_flight)
    try:
        yield in_flight
    finally:
        _current.reset(token)
