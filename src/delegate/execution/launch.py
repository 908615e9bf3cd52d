"""Launching one program in the sandbox and reading what came of it.

A ``Plan`` says how this machine runs programs (which namespaces, which user, which interpreter);
``protections.py`` chooses it once. ``launch`` runs one program under a plan: a fresh temporary
directory, the job file, an empty environment, a new session; at the wall-time limit the whole
process group is killed (and with it the PID namespace); the directory is removed whatever
happens. The outcome is read from the report line that carries this run's nonce and from the
exit status, never from what the program printed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import select
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from delegate.execution.result import ExecutionResult, Limits

log = logging.getLogger(__name__)

HARNESS = Path(__file__).with_name("harness.py")
SETUP_FAILED = 71  # the harness's exit code when it could not set the sandbox up
REPORT_BYTES = 64 * 1024


class SandboxError(RuntimeError):
    """The sandbox itself could not be set up: nothing of the program ran."""


@dataclass(frozen=True)
class Plan:
    """How this machine runs a program: the command before the interpreter (``unshare`` and its
    namespaces, or nothing), the user to become (``None``: stay), whether to make the
    filesystem read-only around a private tmpfs, and the interpreter."""

    name: str
    prefix: tuple[str, ...]
    uid: int | None
    gid: int | None
    isolate_fs: bool
    python: str


def _job(plan: Plan, limits: Limits, work: str, fd: int, program: dict[str, str]) -> dict:
    return {
        **program,
        "nonce": "",  # set by the caller, which keeps it
        "report_fd": fd,
        "workdir": work,
        "uid": plan.uid,
        "gid": plan.gid,
        "isolate_fs": plan.isolate_fs,
        "tmpfs_bytes": limits.workdir_bytes,
        "message_chars": limits.message_chars,
        "limits": {
            "cpu_s": max(1, int(limits.timeout_s + 0.999)),
            "memory_bytes": limits.memory_bytes,
            "processes": limits.processes,
            "file_bytes": limits.file_bytes,
        },
    }


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _read_start(path: Path, limit: int) -> bytes:
    with path.open("rb") as f:
        return f.read(limit)


def _report(raw: bytes, nonce: str) -> tuple[bool, str | None, str | None]:
    """(sandbox started, outcome letter P/F/S, message) from the lines carrying ``nonce``."""
    started, letter, message = False, None, None
    for line in raw.decode("utf-8", "replace").splitlines():
        parts = line.split(" ", 2)
        if parts[0] != nonce or len(parts) < 2:
            continue  # the program's own writes cannot carry a nonce it never saw
        if parts[1] == "R":
            started = True
        elif letter is None and parts[1] in ("P", "F", "S"):
            letter = parts[1]
            text = parts[2] if len(parts) > 2 else ""
            message = text.replace("\\n", "\n").replace("\\\\", "\\")
    return started, letter, message


def _classify(rc: int, timed_out: bool, letter: str | None, message: str | None) -> tuple:
    if timed_out:
        return "timeout", "the wall-time limit was reached"
    if letter == "P" and rc == 0:
        return "passed", ""
    if letter == "F":
        return "failed", message or ""
    if rc == 128 + signal.SIGXCPU:
        return "timeout", "the CPU-time limit was reached"
    if rc >= 128 or rc < 0:
        number = rc - 128 if rc >= 128 else -rc
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return "crashed", f"the interpreter was killed by {name}"
    return "failed", f"the program exited (status {rc}) before the tests finished"


def _wait(proc: subprocess.Popen, timeout_s: float) -> int:
    """``proc``'s exit status, woken by its pidfd at once (``Popen.wait`` with a timeout polls
    with sleeps of up to 50 ms, more than a whole execution takes)."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        return proc.wait(timeout=timeout_s)
    try:
        ready, _, _ = select.select([pidfd], [], [], timeout_s)
    finally:
        os.close(pidfd)
    if not ready:
        raise subprocess.TimeoutExpired(proc.args, timeout_s)
    return proc.wait()


def _run(cmd: list[str], cwd: str, fds: tuple[int, int], timeout_s: float) -> tuple[int, bool]:
    out_fd, report_fd = fds
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=out_fd,
        stderr=subprocess.STDOUT,
        pass_fds=(report_fd,),
        cwd=cwd,
        env={},  # nothing of the run's environment: no API keys
        start_new_session=True,
    )
    timed_out = False
    try:
        rc = _wait(proc, timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc.pid)
        rc = proc.wait()
    finally:
        _kill_group(proc.pid)  # whatever of the group outlived its leader
    return rc, timed_out


def launch(plan: Plan, limits: Limits, program: dict[str, str]) -> ExecutionResult:
    """Run ``program`` (``prelude``, ``code``, ``tests``) once under ``plan``."""
    nonce = secrets.token_hex(16)
    tmp = tempfile.mkdtemp(prefix="delegate-exec-")
    start = time.perf_counter()
    try:
        root = Path(tmp)
        work = root / "work"
        work.mkdir()
        if plan.uid is not None and not plan.isolate_fs:
            os.chown(work, plan.uid, plan.gid if plan.gid is not None else -1)
        with (root / "out").open("w+b") as out, (root / "report").open("w+b") as report:
            job = _job(plan, limits, str(work), report.fileno(), program)
            job["nonce"] = nonce
            job_path = root / "job.json"
            job_path.write_text(json.dumps(job), encoding="utf-8")
            cmd = [*plan.prefix, plan.python, "-I", str(HARNESS), str(job_path)]
            rc, timed_out = _run(cmd, tmp, (out.fileno(), report.fileno()), limits.timeout_s)
        duration = time.perf_counter() - start
        output = _read_start(root / "out", limits.output_bytes).decode("utf-8", "replace")
        started, letter, message = _report(_read_start(root / "report", REPORT_BYTES), nonce)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if letter == "S" or (not started and not timed_out):
        raise SandboxError(f"the sandbox ({plan.name}) did not start: {message or output[-500:]}")
    outcome, text = _classify(rc, timed_out, letter, message)
    return ExecutionResult(outcome, text[: limits.message_chars], duration, output)
