"""What one execution is allowed (``Limits``) and what came of it (``ExecutionResult``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Outcome = Literal["passed", "failed", "timeout", "crashed", "no_code"]
OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "timeout", "crashed", "no_code")


@dataclass(frozen=True)
class Limits:
    """The bounds of one execution.

    ``timeout_s`` is wall time from launch to exit (CPU time is capped at the same, rounded up);
    ``memory_bytes`` the address space of each process and, where the machine has cgroups, the
    memory of all of an execution's processes together; ``processes`` the processes of the
    sandbox's user (per user, ``setrlimit``) and, with cgroups, of each execution (so without
    cgroups the memory of one execution is bounded by ``processes`` x ``memory_bytes``);
    ``file_bytes`` the largest file it may write; ``workdir_bytes`` its directory's size (a tmpfs,
    where the machine allows one); ``output_bytes`` the captured output kept; ``message_chars``
    the failure message kept.
    """

    timeout_s: float = 10.0
    memory_bytes: int = 4 * 2**30
    processes: int = 16
    file_bytes: int = 16 * 2**20
    workdir_bytes: int = 64 * 2**20
    output_bytes: int = 16 * 2**10
    message_chars: int = 2000

    def __post_init__(self) -> None:
        if not self.timeout_s > 0:
            raise ValueError(f"timeout_s must be above 0, got {self.timeout_s!r}")
        for name in ("memory_bytes", "processes", "file_bytes", "workdir_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class ExecutionResult:
    """One program run against its tests.

    ``outcome``: ``passed`` (the harness saw every test run to the end), ``failed`` (a test or
    the program raised, or it exited before the tests finished), ``timeout`` (wall or CPU time
    ran out), ``crashed`` (the interpreter died: a signal, an abort) or ``no_code`` (the reply
    held no program). ``message`` is the failing test's line and exception, bounded;
    ``output`` the start of what the program printed (stdout and stderr), bounded.
    """

    outcome: Outcome
    message: str = ""
    duration_s: float = 0.0
    output: str = ""

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"
