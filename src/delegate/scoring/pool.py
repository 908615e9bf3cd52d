"""Bounded grading off the event loop: a small, reused pool of worker processes.

Symbolic checks (``latex``) can take seconds, or never end: sympy evaluating ``10^{10^{10}}``
holds the interpreter lock inside one C call, so neither a thread nor math-verify's own timers
can stop it. Each check therefore runs in a worker process (``worker.py``) under a time limit; a
check that passes it has its process killed and replaced, and counts as wrong with the reason in
``Grade.error``. Cheap checks (``number``: exact arithmetic on text already read in linear time)
run in a thread (``asyncio.to_thread``): a round trip to a process would cost more than the
check. A text over ``THREAD_CHARS`` goes to a worker too, whatever its type: reading 1 MB takes
a few tenths of a second inside regular-expression calls that hold the interpreter lock, which
would stall the event loop from a thread as surely as on it. A code answer is run against its
tests in the sandbox (``code.grade_answer_async``, on the sandbox's own threads; its execution
kept on the grade), never in a worker and never on the loop.

The async methods wait in a thread of the pool's own, so the event loop goes on serving other
problems meanwhile; a caller cancelled while its check runs leaves that thread to finish the job
and give the worker back, so a late answer is never read as the next job's, and one cancelled
before its check started is dropped.

A worker is a fresh interpreter (``python -m delegate.scoring.worker``) joined by two pipes, not a
``multiprocessing`` child: a fork of a process that holds other threads (a model backend's) is
unsafe, and ``spawn`` and ``forkserver`` re-import the parent's main module in every child (a
script without a ``__main__`` guard would start pools in its workers). A worker imports
math-verify and grades one answer before it reports ready (about 0.4 s); that start does not
count against the time limit. Workers end with the pool (``close``, or the interpreter's exit)
and, on Linux, with the thread that started them even when the process is killed: they are
started from the pool's own threads, which live until ``close``.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from delegate.scoring import grade as grade_inline
from delegate.scoring import grader
from delegate.scoring.code import grade_answer_async
from delegate.scoring.grade import Grade
from delegate.scoring.markers import DEFAULT_MARKERS

log = logging.getLogger(__name__)

TIME_LIMIT_S = 10.0  # per answer: both its readings' checks, or one comparison of two answers
START_LIMIT_S = 60.0  # for a new worker to import math-verify and report ready
THREAD_CHARS = 20_000  # a cheap check of a longer text runs in a worker process, not a thread


# The directory that holds the ``delegate`` package, for the worker's import path.
_SOURCE_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(eq=False)  # a worker is itself, not its fields: kept in a set
class _Worker:
    process: subprocess.Popen[bytes]
    jobs: Connection
    answers: Connection
    ready: bool = False

    @classmethod
    def start(cls) -> _Worker:
        jobs_r, jobs_w = os.pipe()
        answers_r, answers_w = os.pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_SOURCE_ROOT, env.get("PYTHONPATH")) if p)
        command = [sys.executable, "-m", "delegate.scoring.worker", str(jobs_r), str(answers_w)]
        try:
            process = subprocess.Popen(
                command, pass_fds=(jobs_r, answers_w), stdin=subprocess.DEVNULL, env=env
            )
        finally:
            os.close(jobs_r)  # the worker's ends live in the worker only: its exit closes them
            os.close(answers_w)
        return cls(
            process, Connection(jobs_w, readable=False), Connection(answers_r, writable=False)
        )

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(5)
        self.jobs.close()
        self.answers.close()


class PoolClosed(RuntimeError):
    """The pool was closed while a check waited for a worker."""


class GradingPool:
    """``workers`` grading processes, each check limited to ``time_limit_s`` seconds (default:
    ``TIME_LIMIT_S`` as it is when the pool is made).

    Started by ``start()`` (or the first check), ended by ``close()``; ``async with`` does both.
    """

    def __init__(self, workers: int = 2, time_limit_s: float | None = None) -> None:
        limit = TIME_LIMIT_S if time_limit_s is None else time_limit_s  # read now: tests lower it
        if workers < 1 or limit <= 0:
            raise ValueError("a grading pool needs at least one worker and a positive time limit")
        self.workers, self.time_limit_s = workers, limit
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        self._live: set[_Worker] = set()
        self._lock = threading.Lock()
        self._lanes: _Lanes | None = None
        self._spawned = 0
        self.closed = False

    def start(self) -> GradingPool:
        """Start the worker processes (milliseconds; they import math-verify in the background,
        and a check waits for that); idempotent."""
        with self._lock:
            if self.closed:
                raise PoolClosed("this grading pool is closed")
            if self._lanes is not None:
                return self
            self._lanes = lanes = _Lanes(self.workers)
        # From the pool's threads, which live until close(): see the module's docstring.
        spawns = [lanes.submit(self._spawn) for _ in range(self.workers)]
        for spawn in spawns:  # started, not ready yet: a check waits for that
            self._idle.put(spawn.result())
        return self

    def pids(self) -> list[int]:
        """The process ids of the live workers."""
        with self._lock:
            return [w.process.pid for w in self._live]

    def spawned(self) -> int:
        """How many worker processes the pool has started (replacements included)."""
        return self._spawned

    def close(self) -> None:
        """Kill every worker and wait for each to end; checks still waiting fail with PoolClosed,
        and one running counts as cut off. Idempotent."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            workers, self._live = list(self._live), set()
        for worker in workers:
            worker.end()
        for _ in range(self.workers):
            self._idle.put(None)  # wakes every thread waiting for a worker
        if self._lanes is not None:
            self._lanes.shutdown()

    async def __aenter__(self) -> GradingPool:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def __enter__(self) -> GradingPool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def grade(
        self,
        text: str,
        gold: str,
        answer_type: str = "number",
        rel_tol: float = 0.0,
        markers: Sequence[str] | None = None,
    ) -> Grade:
        """``delegate.scoring.grade`` bounded by the time limit, never on the event loop."""
        if answer_type == "code":
            return await grade_answer_async(text, gold)
        if not grader(answer_type).slow and len(text or "") <= THREAD_CHARS:
            return await asyncio.to_thread(grade_inline, text, gold, answer_type, rel_tol, markers)
        job = ("grade", text, gold, answer_type, rel_tol, markers)
        answer, error = await self._submit(job)
        if error is None and isinstance(answer, Grade):
            return answer
        return _cut_off(text, answer_type, markers, error or str(answer))

    async def same(self, a: str, b: str, answer_type: str = "number", rel_tol: float = 0.0) -> bool:
        """Whether two extracted answers are equal under ``answer_type``'s rules (the cascade's
        vote); a comparison cut off by the time limit counts as not equal."""
        kind = grader(answer_type)
        if a == b:
            return True
        if not kind.slow or answer_type == "code":
            return await asyncio.to_thread(kind.matches, a, b, rel_tol)
        answer, error = await self._submit(("same", a, b, answer_type, rel_tol))
        if error is not None or not isinstance(answer, bool):
            log.warning("comparing %r with %r counts as different: %s", a[:80], b[:80], error)
            return False
        return answer

    async def _submit(self, job: tuple[Any, ...]) -> tuple[Any, str | None]:
        self.start()
        assert self._lanes is not None
        return await asyncio.wrap_future(self._lanes.submit(self._run, job))

    def _spawn(self) -> _Worker:
        worker = _Worker.start()
        with self._lock:
            self._spawned += 1
            if self.closed:  # closed while it started
                worker.end()
            else:
                self._live.add(worker)
        return worker

    def _replace(self, worker: _Worker) -> _Worker | None:
        """Kill ``worker`` and start another in its place (none once the pool is closed)."""
        with self._lock:
            self._live.discard(worker)
        worker.end()
        return None if self.closed else self._spawn()

    def _run(self, job: tuple[Any, ...]) -> tuple[Any, str | None]:
        """One job on an idle worker, in the caller's thread: its answer, or why there is none.
        A worker that ran over or died is replaced before its slot is given back."""
        worker = self._idle.get()
        if worker is None:
            self._idle.put(None)
            raise PoolClosed("the grading pool was closed")
        try:
            answer = self._on(worker, job)
        except _TimedOut:
            error = f"grading took over {self.time_limit_s:g} s: stopped, its worker process killed"
        except (EOFError, OSError) as e:  # the worker died, or the pool closed under it
            error = f"the grading worker process ended ({type(e).__name__})"
        except BaseException:
            self._give_back(self._replace(worker))  # its pipe may hold half a job
            raise
        else:
            self._give_back(worker)
            return answer, None
        self._give_back(self._replace(worker))
        return None, error

    def _give_back(self, worker: _Worker | None) -> None:
        if worker is not None and not self.closed:
            self._idle.put(worker)

    def _on(self, worker: _Worker, job: tuple[Any, ...]) -> Any:
        if not worker.ready:  # a new worker's start does not count against the time limit
            if not worker.answers.poll(START_LIMIT_S):
                raise EOFError("the grading worker did not start")
            worker.answers.recv()
            worker.ready = True
        worker.jobs.send(job)
        if not worker.answers.poll(self.time_limit_s):
            raise _TimedOut
        return worker.answers.recv()


class _TimedOut(Exception):
    pass


_Job = tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]


class _Lanes:
    """``n`` daemon threads that run the pool's blocking calls (a job on a worker, a worker's
    start) for its coroutines. Daemon threads, not an executor's: at the interpreter's exit, a
    job still waiting for a worker must not hold the exit up; the pool's ``close`` (run at exit)
    ends the workers. A job whose caller was cancelled before it started is skipped."""

    def __init__(self, n: int) -> None:
        self._jobs: queue.SimpleQueue[
            tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None
        ]
        self._jobs = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._serve, name="grading", daemon=True) for _ in range(n)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self._jobs.put((future, fn, args))
        return future

    def shutdown(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(10)

    def _serve(self) -> None:
        while (item := self._jobs.get()) is not None:
            future, fn, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as e:  # the caller gets it, the lane goes on
                future.set_exception(e)


def _cut_off(text: str, answer_type: str, markers: Sequence[str] | None, error: str) -> Grade:
    """The Grade of a check that could not finish: the readings, both wrong, and why."""
    kind = grader(answer_type)
    found = kind.extract(text or "", DEFAULT_MARKERS if markers is None else markers)
    return Grade(found.answer, kind.extract_strict(text or ""), False, False, found.by, error)


_shared: GradingPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> GradingPool:
    """The process's shared pool, made (not yet started) on first use and closed at exit; a
    closed one is replaced by a new one."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.closed:
            _shared = GradingPool()
            atexit.register(_shared.close)
        return _shared


def close_shared_pool() -> None:
    """Close the shared pool, if there is one (a later ``shared_pool()`` makes a new one)."""
    with _shared_lock:
        pool = _shared
    if pool is not None:
        pool.close()
