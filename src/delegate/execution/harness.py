"""The sandbox's inside: set up, drop privileges, run the program and its tests, report.

Run as a script, never imported by the framework: ``python3 -I harness.py JOB`` (standard library
only, so any Python 3.9+ interpreter runs it). ``JOB`` is a JSON file that the executor wrote:
the program, its prelude and its tests, the nonce, the limits, the user to become, the two
descriptors (status and report), the cgroup(s) to enter and whether to isolate the filesystem.

The process starts as the monitor (PID 1 of its own PID namespace when it has one): it enters
the execution's cgroup (when there is one), makes every mount read-only and mounts a fresh,
size-limited tmpfs as the working directory, writes ``<nonce> R`` to the status descriptor and
closes it, then forks the child that runs the program and waits for it. The child becomes the
unprivileged user (when asked), forbids itself new privileges, sets its resource limits, closes
every other descriptor and runs prelude, program and tests in one fresh
``__main__`` module. Only when the tests have run to their end does it write ``<nonce> P`` to the
report descriptor (write-only, append-only: the program cannot read anything back from it); an
exception writes ``<nonce> F <message>``. The monitor exits with the child's status (128 + signal
when a signal ended it); the executor reads the status, the report and the exit status.
"""

from __future__ import annotations

import builtins
import contextlib
import ctypes
import errno
import json
import linecache
import os
import re
import resource
import sys
import traceback
import types
from typing import Any

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
# statvfs flag -> mount flag: a bind remount must repeat the flags that a user namespace locks.
_KEPT_FLAGS = (
    (os.ST_NOSUID, MS_NOSUID),
    (os.ST_NODEV, MS_NODEV),
    (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_NOATIME, MS_NOATIME),
    (os.ST_NODIRATIME, MS_NODIRATIME),
    (os.ST_RELATIME, MS_RELATIME),
)
SETUP_FAILED = 71


def _mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None
) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    enc = [None if v is None else v.encode() for v in (source, target, fstype, data)]
    if libc.mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"mount {target}: {os.strerror(code)}")


def _unescape(match: re.Match[str]) -> str:
    return chr(int(match.group(1), 8))


def _mount_points() -> list[str]:
    points: list[str] = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            # mountinfo writes space, tab, newline and backslash as octal escapes
            points.append(re.sub(r"\\([0-7]{3})", _unescape, line.split()[4]))
    return points


def isolate_filesystem(workdir: str, uid: int, gid: int, size: int) -> None:
    """Every mount read-only in this mount namespace; ``workdir`` a fresh private tmpfs."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    for point in _mount_points():
        try:
            kept = 0
            vfs = os.statvfs(point).f_flag
            for st_flag, ms_flag in _KEPT_FLAGS:
                kept |= ms_flag if vfs & st_flag else 0
            _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept, None)
        except OSError as e:
            # a mount point hidden under a later mount, or gone: nothing reachable to protect
            if e.errno not in (errno.ENOENT, errno.ENOTDIR):
                raise
    options = f"size={size},mode=0700,uid={uid},gid={gid}"
    _mount("tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV, options)


def drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise OSError("the user did not change")


def forbid_new_privileges() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_no_new_privs = 38
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")


def set_limits(limits: dict[str, Any]) -> None:
    cpu = int(limits["cpu_s"])
    pairs = (
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_AS, limits["memory_bytes"], limits["memory_bytes"]),
        (resource.RLIMIT_NPROC, limits["processes"], limits["processes"]),
        (resource.RLIMIT_FSIZE, limits["file_bytes"], limits["file_bytes"]),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_NOFILE, 256, 256),
    )
    for which, soft, hard in pairs:
        resource.setrlimit(which, (soft, hard))


def close_other_fds(keep: set[int]) -> None:
    for fd in sorted(int(n) for n in os.listdir("/proc/self/fd")):
        if fd not in keep:
            with contextlib.suppress(OSError):  # the listing's own descriptor, closed by now
                os.close(fd)


def _line_of(name: str, sources: dict[str, str], lineno: int) -> str:
    lines = sources.get(name, "").splitlines()
    return lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""


def describe(error: BaseException, sources: dict[str, str], bound: int) -> str:
    """One bounded line: the exception and the innermost line of the tests (else the program)."""
    try:
        kind = type(error).__name__
        text = str(error)
        if isinstance(error, SystemExit):
            return f"the program exited (SystemExit: {text}) before the tests finished"[:bound]
        where = ""
        if isinstance(error, SyntaxError) and error.filename in sources:
            where = f"{error.filename} line {error.lineno}"
        for frame, lineno in traceback.walk_tb(error.__traceback__):
            name = frame.f_code.co_filename
            if name in sources and (name == "<tests>" or not where.startswith("<tests>")):
                where = f"{name} line {lineno}: {_line_of(name, sources, lineno)}"
        head = f"{kind}: {text}" if text else kind
        return (f"{head} (at {where})" if where else head)[:bound]
    except BaseException:  # a hostile exception whose str() itself fails
        return "an exception that could not be described"


def run_program(job: dict[str, Any], fd: int) -> None:
    """Prelude, program and tests in one fresh ``__main__``; the report only at their end."""
    nonce = job["nonce"]
    write, exit_now = os.write, os._exit
    sources = {"<prelude>": job["prelude"], "<solution>": job["code"], "<tests>": job["tests"]}
    for name, text in sources.items():
        linecache.cache[name] = (len(text), None, text.splitlines(True), name)
    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = module
    sys.argv = ["solution.py"]
    try:
        for name, text in sources.items():
            exec(compile(text, name, "exec"), module.__dict__)
    except BaseException as error:
        message = describe(error, sources, job["message_chars"])
        line = nonce + " F " + message.replace("\\", "\\\\").replace("\n", "\\n") + "\n"
    else:
        line = nonce + " P\n"
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()  # os._exit below skips the interpreter's own flush
    try:
        write(fd, line.encode("utf-8", "replace"))
    finally:
        exit_now(0)


def child(job: dict[str, Any]) -> None:
    fd = job["report_fd"]
    try:
        os.chdir(job["workdir"])
        if job["uid"] is not None:
            drop_privileges(job["uid"], job["gid"])
        forbid_new_privileges()
        set_limits(job["limits"])
    except (OSError, ValueError) as e:
        os.write(fd, (job["nonce"] + f" S {e}\n").encode())
        os._exit(SETUP_FAILED)
    # the report descriptor is write-only: nothing the program holds reads the nonce back
    close_other_fds({0, 1, 2, fd})
    run_program(job, fd)


def wait_for(pid: int) -> int:
    """The child's exit code (128 + signal when killed); as PID 1, reap orphans meanwhile."""
    while True:
        done, status = os.waitpid(-1 if os.getpid() == 1 else pid, 0)
        if done == pid:
            return (
                os.waitstatus_to_exitcode(status)
                if os.WIFEXITED(status)
                else (128 + os.WTERMSIG(status))
            )


def enter_cgroups(procs_files: list[str]) -> None:
    """Move this process (and so everything it starts) into the execution's cgroup(s)."""
    for path in procs_files:
        with open(path, "w") as f:
            f.write("0")


def main() -> None:
    with open(sys.argv[1]) as f:
        job = json.load(f)
    os.unlink(sys.argv[1])  # the nonce is in it; a program of the same user must not find it
    status = job["status_fd"]
    try:
        enter_cgroups(job["cgroup_procs"])  # before the mounts turn read-only
        if job["isolate_fs"]:
            uid = 0 if job["uid"] is None else job["uid"]
            gid = 0 if job["gid"] is None else job["gid"]
            isolate_filesystem(job["workdir"], uid, gid, job["tmpfs_bytes"])
        os.write(status, (job["nonce"] + " R\n").encode())
        os.close(status)  # before the fork: no process of the sandbox holds it while one runs
        pid = os.fork()
    except OSError as e:
        os.write(job["report_fd"], (job["nonce"] + f" S {e}\n").encode())
        os._exit(SETUP_FAILED)
    if pid == 0:
        try:
            child(job)
        finally:
            os._exit(SETUP_FAILED)
    os.close(job["report_fd"])
    os._exit(min(wait_for(pid), 255))


if __name__ == "__main__":
    main()
