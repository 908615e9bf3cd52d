"""Launching one program in the sandbox and reading what came of it.

A ``Plan`` says how this machine runs programs (which namespaces, which user, which interpreter);
``protections.py`` chooses it once. ``launch`` runs one program under a plan: a fresh temporary
directory, the job file, an empty environment, a new session; at the wall-time limit the whole
process group is killed (and with it the PID namespace); the directory is removed whatever
happens. The outcome is read from the report line that carries this run's nonce and from the
exit status, never from what the program printed.

Two descriptors reach the harness: the status file, on which the monitor writes ``<nonce> R``
once the sandbox is set up and which it closes before it forks the program's process, and the
report file, write-only and append-only, on which only the end of the tests writes ``<nonce> P``
(or ``F``, or ``S`` when the child's set-up failed). So the program never holds a descriptor it
could read the nonce back from, and the launcher closes its own copies once the harness started;
both files are created mode 0600, so ``nobody`` cannot reopen them through ``/proc``.

When the plan has a cgroup layout, the execution runs in its own group (``cgroups``): memory and
processes capped for all its processes together; a kill by the group's memory limit is a crash
whatever the report says; the group is removed after the run.
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

from delegate.execution.cgroups import Group, Layout
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
    filesystem read-only around a private tmpfs, the interpreter, and where to create each
    execution's cgroup (``None``: no cgroup)."""

    name: str
    prefix: tuple[str, ...]
    uid: int | None
    gid: int | None
    isolate_fs: bool
    python: str
    cgroup: Layout | None = None


def _job(plan: Plan, limits: Limits, work: str, program: dict[str, str]) -> dict:
    return {
        **program,
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
    """(sandbox started, outcome letter P/F/S, message) from the lines carrying ``nonce``
    (``launch`` sets the letter M when the cgroup's memory limit killed a process)."""
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
    if letter == "M":  # the kernel killed a process of the execution at its cgroup's memory limit
        return "crashed", f"the memory limit ({message}, all its processes together) was reached"
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


def _start(cmd: list[str], cwd: str, fds: list[int]) -> subprocess.Popen:
    out_fd, *passed = fds
    return subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=out_fd,
        stderr=subprocess.STDOUT,
        pass_fds=passed,
        cwd=cwd,
        env={},  # nothing of the run's environment: no API keys
        start_new_session=True,
    )


def _finish(proc: subprocess.Popen, timeout_s: float) -> tuple[int, bool]:
    """(exit status, timed out): the whole process group killed at the limit and after."""
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


def _write_only(path: Path) -> int:
    """A new file only the launcher's user may open, as a write-only, append-only descriptor."""
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)


def _execute(plan: Plan, limits: Limits, root: Path, job: dict) -> tuple[int, bool]:
    """Write the job, run the harness on it; (exit status, timed out). The launcher closes its
    copies of the descriptors once the harness holds them."""
    fds = [_write_only(root / name) for name in ("out", "status", "report")]
    try:
        job["status_fd"], job["report_fd"] = fds[1], fds[2]
        job_path = root / "job.json"
        job_path.write_text(json.dumps(job), encoding="utf-8")
        cmd = [*plan.prefix, plan.python, "-I", str(HARNESS), str(job_path)]
        proc = _start(cmd, str(root), fds)
    finally:
        for fd in fds:
            os.close(fd)
    return _finish(proc, limits.timeout_s)


def _group(plan: Plan, limits: Limits) -> Group | None:
    if plan.cgroup is None:
        return None
    try:
        # the monitor is in the group too: one process more than the program may have
        return Group(plan.cgroup, limits.memory_bytes, limits.processes + 1)
    except OSError as e:
        raise SandboxError(f"the sandbox ({plan.name}) could not create its cgroup: {e}") from e


def launch(plan: Plan, limits: Limits, program: dict[str, str]) -> ExecutionResult:
    """Run ``program`` (``prelude``, ``code``, ``tests``) once under ``plan``."""
    nonce = secrets.token_hex(16)
    tmp = tempfile.mkdtemp(prefix="delegate-exec-")
    group = None
    start = time.perf_counter()
    try:
        root = Path(tmp)
        (root / "work").mkdir()
        if plan.uid is not None and not plan.isolate_fs:
            os.chown(root / "work", plan.uid, plan.gid if plan.gid is not None else -1)
        group = _group(plan, limits)
        job = _job(plan, limits, str(root / "work"), program)
        job["nonce"], job["cgroup_procs"] = nonce, group.procs_files if group else []
        rc, timed_out = _execute(plan, limits, root, job)
        duration = time.perf_counter() - start
        output = _read_start(root / "out", limits.output_bytes).decode("utf-8", "replace")
        raw = b"".join(_read_start(root / name, REPORT_BYTES) for name in ("status", "report"))
        started, letter, message = _report(raw, nonce)
        if group is not None and group.oom_kills() and not timed_out:
            letter, message = "M", f"{limits.memory_bytes // 2**20} MiB"
    finally:
        if group is not None:
            group.remove()
        shutil.rmtree(tmp, ignore_errors=True)
    if letter == "S" or (not started and not timed_out):
        raise SandboxError(f"the sandbox ({plan.name}) did not start: {message or output[-500:]}")
    outcome, text = _classify(rc, timed_out, letter, message)
    return ExecutionResult(outcome, text[: limits.message_chars], duration, output)
