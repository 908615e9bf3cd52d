"""One control group per execution: memory and processes capped for all of a program's
processes together (``setrlimit`` caps each process alone, so N children get N times the limit).

``find_layout`` finds where this process may create groups: cgroup v1 (a ``memory`` and a
``pids`` hierarchy, under this process's own groups) or v2 (one hierarchy whose parent group
delegates both controllers: this process's own group, else the hierarchy's root). ``Group`` is
one execution's group (one directory per hierarchy): created with the limits before the launch,
entered by the harness's monitor before anything of the program runs (it writes ``0`` to each
``cgroup.procs``), and after the run every process left in it killed and the directories removed.
Groups are named ``delegate-exec-<pid>-<random>``; ``sweep`` removes those of dead processes.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "delegate-exec-"
CONTROLLERS = ("memory", "pids")


@dataclass(frozen=True)
class Layout:
    """Where groups are created: ``version`` 1 (``parents``: the memory parent, the pids parent)
    or 2 (``parents``: one parent with both controllers)."""

    version: int
    parents: tuple[str, ...]


def _unescape(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def _mounts(proc: Path) -> list[tuple[str, str, str, set[str]]]:
    """(root, mount point, type, super options) of every cgroup mount."""
    found = []
    for line in (proc / "mountinfo").read_text().splitlines():
        head, _, tail = line.partition(" - ")
        fields, rest = head.split(), tail.split()
        if len(fields) >= 5 and len(rest) >= 3 and rest[0] in ("cgroup", "cgroup2"):
            root, point = _unescape(fields[3]), _unescape(fields[4])
            found.append((root, point, rest[0], set(rest[2].split(","))))
    return found


def _own_groups(proc: Path) -> dict[str, str]:
    """This process's group per controller (``""``: the v2 hierarchy)."""
    groups: dict[str, str] = {}
    for line in (proc / "cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            groups[name] = path
    return groups


def _under(root: str, point: str, path: str) -> str:
    rel = os.path.relpath(path, root) if path.startswith(root) else "."
    return os.path.normpath(os.path.join(point, rel))


def _usable(parent: str) -> bool:
    return os.path.isdir(parent) and os.access(parent, os.W_OK | os.X_OK)


def _v2_parent(point: str, own: str) -> str | None:
    for parent in (own, point):
        try:
            delegated = set(Path(parent, "cgroup.subtree_control").read_text().split())
        except OSError:
            continue
        if delegated >= set(CONTROLLERS) and _usable(parent):
            return parent
    return None


def find_layout(proc: Path = Path("/proc/self")) -> Layout | None:
    """Where this process can create groups with both controllers; ``None``: nowhere."""
    try:
        mounts, groups = _mounts(proc), _own_groups(proc)
    except (OSError, ValueError):
        return None
    v1 = []
    for name in CONTROLLERS:
        for root, point, kind, options in mounts:
            if kind == "cgroup" and name in options and name in groups:
                v1.append(_under(root, point, groups[name]))
                break
    if len(v1) == len(CONTROLLERS) and all(_usable(p) for p in v1):
        return Layout(1, tuple(v1))
    for root, point, kind, _ in mounts:
        if kind == "cgroup2" and "" in groups:
            parent = _v2_parent(point, _under(root, point, groups[""]))
            if parent:
                return Layout(2, (parent,))
    return None


def _write(path: Path, value: object, optional: bool = False) -> None:
    try:
        path.write_text(str(value))
    except OSError:
        if not optional:
            raise


class Group:
    """One execution's group: memory capped at ``memory_bytes`` and processes at ``processes``
    for everything in it together. Raises ``OSError`` when it cannot be made."""

    def __init__(self, layout: Layout, memory_bytes: int, processes: int) -> None:
        self.layout = layout
        name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(6)}"
        self.dirs = [Path(parent, name) for parent in layout.parents]
        try:
            for d in self.dirs:
                d.mkdir()
            memory, pids = self.dirs[0], self.dirs[-1]
            if layout.version == 1:
                _write(memory / "memory.limit_in_bytes", memory_bytes)
                _write(memory / "memory.memsw.limit_in_bytes", memory_bytes, optional=True)
            else:
                _write(memory / "memory.max", memory_bytes)
                _write(memory / "memory.swap.max", 0, optional=True)
                _write(memory / "memory.oom.group", 1, optional=True)
            _write(pids / "pids.max", processes)
        except OSError:
            self.remove()
            raise

    @property
    def procs_files(self) -> list[str]:
        """The files the monitor writes ``0`` to, to enter the group."""
        return [str(d / "cgroup.procs") for d in self.dirs]

    def oom_kills(self) -> int:
        """How many processes the kernel killed for the group's memory limit."""
        name = "memory.oom_control" if self.layout.version == 1 else "memory.events"
        try:
            text = (self.dirs[0] / name).read_text()
        except OSError:
            return 0
        found = re.search(r"^oom_kill (\d+)", text, re.MULTILINE)
        return int(found.group(1)) if found else 0

    def remove(self, deadline_s: float = 5.0) -> bool:
        """Kill every process left in the group and remove its directories; ``False`` (and a
        warning) when some could not be removed by the deadline."""
        left = [d for d in self.dirs if d.exists()]
        deadline = time.monotonic() + deadline_s
        while left:
            for d in list(left):
                if _kill_all(d) == 0 and _rmdir(d):
                    left.remove(d)
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.002)
        if left:
            log.warning("code execution: could not remove the cgroup(s) %s", left)
        return not left


def _kill_all(group: Path) -> int:
    """SIGKILL every process in ``group``; how many there were."""
    with contextlib.suppress(OSError):
        (group / "cgroup.kill").write_text("1")  # v2, kernels 5.14+: the whole group at once
    try:
        pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
    except OSError:
        return 0
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


def _rmdir(group: Path) -> bool:
    try:
        group.rmdir()
    except FileNotFoundError:
        return True
    except OSError as e:
        if e.errno != errno.EBUSY:  # EBUSY: its last processes are still being torn down
            log.debug("code execution: rmdir %s: %s", group, e)
        return False
    return True


def _owner_alive(name: str) -> bool:
    try:
        os.kill(int(name[len(PREFIX) :].split("-")[0]), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def sweep(layout: Layout) -> None:
    """Remove the groups that executions of dead processes left (a run killed mid-execution)."""
    for parent in layout.parents:
        with contextlib.suppress(OSError):
            for d in Path(parent).glob(PREFIX + "*"):
                if d.is_dir() and not _owner_alive(d.name):
                    _kill_all(d)
                    with contextlib.suppress(OSError):
                        d.rmdir()


def leftovers(layout: Layout) -> list[str]:
    """This process's groups still present (for tests: none should be, after every run)."""
    mine = f"{PREFIX}{os.getpid()}-"
    return [str(d) for p in layout.parents for d in Path(p).glob(mine + "*")]
