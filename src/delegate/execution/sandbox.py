"""The executor's API: run a program against its tests, synchronously or off the event loop.

``Sandbox`` holds the limits and a bound on executions in flight (the number of cores by
default, shared by its sync and async calls); ``run_tests`` and ``run_tests_async`` use one
default sandbox per process. The plan (what this machine can protect) is detected on first use.
"""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from delegate.execution.launch import launch
from delegate.execution.protections import Protections, detect
from delegate.execution.result import ExecutionResult, Limits


class Sandbox:
    """Runs programs against tests under ``limits``, at most ``workers`` at once.

    Args:
        limits: the bounds of each execution (``Limits()``: 10 s, 4 GiB, ...).
        workers: executions in flight at once; ``None``: the number of cores.
    """

    def __init__(self, limits: Limits | None = None, workers: int | None = None) -> None:
        self.limits = limits or Limits()
        self.workers = workers or os.cpu_count() or 1
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers!r}")
        self._slots = threading.BoundedSemaphore(self.workers)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def protections(self) -> Protections:
        """What this machine's plan protects and what it does not (detected once)."""
        return detect()

    def run(self, code: str, tests: str, prelude: str = "") -> ExecutionResult:
        """Run ``prelude``, then ``code``, then ``tests`` in one fresh sandboxed interpreter.

        Blocks the calling thread (at most ``limits.timeout_s`` plus start-up and clean-up).
        Raises ``SandboxError`` when the sandbox itself could not be set up.
        """
        program = {"prelude": prelude, "code": code, "tests": tests}
        plan = detect().plan
        with self._slots:
            return launch(plan, self.limits, program)

    async def run_async(self, code: str, tests: str, prelude: str = "") -> ExecutionResult:
        """``run`` on the sandbox's own threads, so the event loop never waits on a program."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor(), self.run, code, tests, prelude)

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="sandbox")
            return self._pool

    def close(self) -> None:
        """Stop the worker threads (executions in flight finish first)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    """The process's shared sandbox with the default limits."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Sandbox()
        return _default


def configure_default(limits: Limits) -> Sandbox:
    """Give the shared sandbox these limits (a run's ``code.*`` settings); returns it."""
    global _default
    with _default_lock:
        old, _default = _default, Sandbox(limits)
    if old is not None:
        old.close()
    return _default


def run_tests(
    code: str, tests: str, prelude: str = "", *, sandbox: Sandbox | None = None
) -> ExecutionResult:
    """Run ``code`` against ``tests`` (after ``prelude``) in the sandbox; blocks."""
    return (sandbox or default_sandbox()).run(code, tests, prelude)


async def run_tests_async(
    code: str, tests: str, prelude: str = "", *, sandbox: Sandbox | None = None
) -> ExecutionResult:
    """Run ``code`` against ``tests`` (after ``prelude``) off the event loop."""
    return await (sandbox or default_sandbox()).run_async(code, tests, prelude)
