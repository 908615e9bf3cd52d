"""Which protections this machine offers: detected once, by running a probe in each plan.

Plans, strongest first: as root, ``unshare`` with mount, network and PID namespaces and the
program run as ``nobody``; as another user, the same namespaces inside a user namespace (the
program keeps that user's file access); else a plain child process with resource limits (as
``nobody`` when root). Each plan is tried with a trivial program through the real harness; the
first whose probe passes is used. Then, where this process may create control groups
(``cgroups.find_layout``), the plan is probed once more with each execution in its own cgroup
(memory and processes capped for all of a program's processes together); it keeps the cgroup
only if the probe ran inside one. The protections the chosen plan lacks are logged once.
"""

from __future__ import annotations

import functools
import grp
import logging
import os
import pwd
import shutil
import stat
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from delegate.execution.cgroups import PREFIX, find_layout, sweep
from delegate.execution.launch import Plan, SandboxError, launch
from delegate.execution.result import Limits

log = logging.getLogger(__name__)

ALWAYS = (
    "own process and process group, killed at the limit",
    "fresh temporary directory, removed afterwards",
    "empty environment (no API keys)",
    "per-process limits on CPU time, memory and file size; wall time; processes",
    "bounded captured output",
    "a pass needs this run's nonce after the last test",
)
UNPRIVILEGED = "runs as nobody: cannot read files only their owner may read"
NO_NETWORK = "no network (network namespace)"
READ_ONLY = "cannot write outside its directory (read-only mounts, private tmpfs)"
NO_LEFTOVERS = "no process outlives it, none outside it can be signalled (PID namespace)"
GROUP_LIMITS = "memory and processes capped for all of its processes together (cgroup)"
OPTIONAL = (UNPRIVILEGED, NO_NETWORK, READ_ONLY, NO_LEFTOVERS, GROUP_LIMITS)
NAMESPACES = ("--mount", "--net", "--ipc", "--pid", "--fork", "--kill-child", "--mount-proc")


@dataclass(frozen=True)
class Protections:
    """The plan chosen on this machine and what it does and does not protect."""

    plan: Plan
    got: tuple[str, ...]
    missing: tuple[str, ...]


def _others_can_use(path: str) -> bool:
    """Whether a user without any of the owner's rights can reach and read ``path``."""
    p = Path(path).resolve()
    for parent in p.parents:
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            return False
    return bool(os.stat(p).st_mode & stat.S_IROTH)


def _python_for_nobody() -> str | None:
    """An interpreter that ``nobody`` can run with its standard library: this one, else the
    system's (a root-only home, as with pyenv under /root, hides this one's library)."""
    candidates = [(sys.executable, os.path.dirname(os.__file__))]
    candidates += [(p, p) for p in ("/usr/bin/python3", "/usr/local/bin/python3")]
    for exe, library in candidates:
        if os.path.exists(exe) and _others_can_use(exe) and _others_can_use(library):
            return exe
    return None


def _nobody() -> tuple[int, int]:
    try:
        uid = pwd.getpwnam("nobody").pw_uid
    except KeyError:
        uid = 65534
    for group in ("nogroup", "nobody"):
        try:
            return uid, grp.getgrnam(group).gr_gid
        except KeyError:
            continue
    return uid, 65534


def candidate_plans() -> list[Plan]:
    """The plans this machine might support, strongest first."""
    unshare = shutil.which("unshare")
    plans: list[Plan] = []
    if os.geteuid() == 0:
        python = _python_for_nobody()
        if python:
            uid, gid = _nobody()
            if unshare:
                plans.append(Plan("namespaces", (unshare, *NAMESPACES), uid, gid, True, python))
            plans.append(Plan("nobody", (), uid, gid, False, python))
        plans.append(Plan("plain", (), None, None, False, sys.executable))
        return plans
    if unshare:
        prefix = (unshare, "--user", "--map-root-user", *NAMESPACES)
        plans.append(Plan("user-namespace", prefix, None, None, True, sys.executable))
    plans.append(Plan("plain", (), None, None, False, sys.executable))
    return plans


def _probe(plan: Plan, program: dict[str, str] | None = None) -> bool:
    try:
        result = launch(plan, Limits(timeout_s=20.0), program or _PROBE)
    except (SandboxError, OSError) as e:
        log.debug("code execution: plan %s unavailable: %s", plan.name, e)
        return False
    return result.passed


_PROBE = {"prelude": "", "code": "def f():\n    return 1\n", "tests": "assert f() == 1\n"}
_IN_GROUP = {
    "prelude": "",
    "code": "",
    "tests": f"assert {PREFIX!r} in open('/proc/self/cgroup').read()\n",
}


def with_cgroup(plan: Plan) -> Plan:
    """``plan`` with a cgroup per execution where this machine allows it, else ``plan``."""
    layout = find_layout()
    if layout is None:
        return plan
    sweep(layout)
    grouped = replace(plan, cgroup=layout)
    return grouped if _probe(grouped, _IN_GROUP) else plan


def _got(plan: Plan) -> tuple[str, ...]:
    got = []
    if plan.uid is not None:
        got.append(UNPRIVILEGED)
    if "--net" in plan.prefix:
        got.append(NO_NETWORK)
    if plan.isolate_fs:
        got.append(READ_ONLY)
    if "--pid" in plan.prefix:
        got.append(NO_LEFTOVERS)
    if plan.cgroup is not None:
        got.append(GROUP_LIMITS)
    return tuple(got)


@functools.cache
def detect() -> Protections:
    """The strongest working plan on this machine (probed once per process), logged once."""
    plans = candidate_plans()
    chosen = with_cgroup(next((p for p in plans if _probe(p)), plans[-1]))
    got = _got(chosen)
    missing = tuple(p for p in OPTIONAL if p not in got)
    if missing:
        log.warning(
            "code execution (%s) runs model-written programs WITHOUT: %s",
            chosen.name,
            "; ".join(missing),
        )
    else:
        log.info("code execution (%s): every protection is in place", chosen.name)
    return Protections(chosen, ALWAYS + got, missing)
