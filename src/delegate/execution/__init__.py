"""The one place that runs model-written code: a sandboxed executor and its threat model.

Threat model. A program comes from a model and is run against a problem's tests. It may be
wrong, careless or hostile: it may loop, fork without end, allocate without bound, flood its
output, crash the interpreter, end early with status 0, print words of success, signal or kill
the process that launched it, read the run's API keys or private files, write anywhere, open
network connections, or start processes meant to outlive it. What holds, on a machine where every
protection is available (root with ``unshare``, as on the CI machines; ``protections()`` says
what this machine has, and the run logs once what is missing):

- each program runs in its own interpreter, in its own session and process group, launched with
  an empty environment (no API keys, nothing of the run's variables) from a fresh temporary
  directory that is removed afterwards;
- inside new mount, network and PID namespaces (``unshare``): no network interface but a downed
  loopback, so no connection to any host, 127.0.0.1 included; every mount read-only, its working
  directory a private size-limited tmpfs that vanishes with it; its own ``/proc``, no other
  process visible or signallable, and every process it started killed when it ends;
- as ``nobody`` (when the run is root), with no supplementary groups and no new privileges
  (``PR_SET_NO_NEW_PRIVS``): files only their owner may read stay unreadable;
- resource limits (``setrlimit``): CPU time, address space (4 GiB), processes (16, per user),
  file size, no core files; wall time (10 s by default) enforced by the launcher, which kills
  the whole process group (and so the PID namespace) at the limit; output kept up to a bound;
- in its own cgroup where the run may create one (``cgroups.py``): memory and processes capped
  for all of the execution's processes together, so forked children share one memory limit; a
  kill at that limit is a crash; the cgroup removed after the run;
- a pass needs the harness's report, written only after the last test, carrying a random nonce
  the program is not told; an early exit, printed success or a killed parent never counts. The
  nonce is on no descriptor the program holds (the monitor's "started" line goes to a status
  file it closes before the program's process is forked; the report descriptor is write-only).

Limits, stated plainly. This is process isolation with kernel namespaces, not a virtual machine:
a kernel exploit escapes it. The program runs in the same interpreter as its tests, so a program
written against this harness in particular (walking the interpreter's frames to find the nonce,
or returning objects that compare equal to anything) can make failing tests pass; it still cannot
leave the sandbox. The process limit counts every process of ``nobody`` on the machine; without
a cgroup, memory is capped per process only, so one execution (or all of them together) can hold
``processes`` x ``memory_bytes`` (16 x 4 GiB by default), and as root without ``nobody`` there is
no process limit. Without
root and without user namespaces, no namespace is used: the program can use the network, write
where the user can, read the user's files, signal the user's processes and leave processes that
start their own session; the log says so. As a non-root user with user namespaces, the program
keeps that user's read access to files.

- ``sandbox.py``: ``Sandbox``, ``run_tests``, ``run_tests_async`` (the API);
- ``protections.py``: which plan this machine supports, detected once;
- ``cgroups.py``: one cgroup per execution (memory and processes of all its processes);
- ``launch.py``: one execution under a plan, and reading its outcome;
- ``harness.py``: the inside (run as a script, standard library only);
- ``result.py``: ``Limits`` and ``ExecutionResult``.
"""

from delegate.execution.launch import SandboxError
from delegate.execution.protections import Protections, detect
from delegate.execution.result import OUTCOMES, ExecutionResult, Limits, Outcome
from delegate.execution.sandbox import (
    Sandbox,
    configure_default,
    default_sandbox,
    run_tests,
    run_tests_async,
)


def protections() -> Protections:
    """What this machine's executor protects and what it does not (detected once)."""
    return detect()


__all__ = [
    "OUTCOMES",
    "ExecutionResult",
    "Limits",
    "Outcome",
    "Protections",
    "Sandbox",
    "SandboxError",
    "configure_default",
    "default_sandbox",
    "protections",
    "run_tests",
    "run_tests_async",
]
