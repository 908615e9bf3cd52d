"""Gathering concurrent requests into batches for a local model.

Problems run concurrently, so a local model receives many requests at once; one batched
``generate`` serves them far faster than one call each. The batcher collects requests that share
generation settings (their ``group``) for a short window or until ``max_size`` are waiting, runs
them as one batch in a worker thread, and hands each caller its own result. While a batch runs, new
requests wait and form the next batch, so a busy model is fed full batches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """Runs ``run_batch(items) -> results`` (same order, same length) on gathered requests."""

    def __init__(self, run_batch: Callable[[list[T]], list[R]], max_size: int, window_s: float):
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.run_batch, self.max_size, self.window_s = run_batch, max_size, window_s
        self._pending: dict[Hashable, list[tuple[T, asyncio.Future[R]]]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._busy = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self.batch_sizes: list[int] = []  # for benchmarks and tests

    async def submit(self, group: Hashable, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.setdefault(group, []).append((item, future))
        if not self._busy:
            if len(self._pending[group]) >= self.max_size:
                self._start_next()
            elif self._timer is None:
                self._timer = loop.call_later(self.window_s, self._start_next)
        return await future

    def _start_next(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._busy or not self._pending:
            return
        # The fullest group first: it gains most from batching.
        group = max(self._pending, key=lambda g: len(self._pending[g]))
        waiting = self._pending[group]
        batch, rest = waiting[: self.max_size], waiting[self.max_size :]
        if rest:
            self._pending[group] = rest
        else:
            del self._pending[group]
        self._busy = True
        task = asyncio.ensure_future(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        self.batch_sizes.append(len(batch))
        try:
            results = await asyncio.to_thread(self.run_batch, [item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"batch of {len(batch)} returned {len(results)} results")
        except Exception as e:
            for _, future in batch:
                if not future.done():
                    future.set_exception(e)
        else:
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
        finally:
            self._busy = False
            self._start_next()
