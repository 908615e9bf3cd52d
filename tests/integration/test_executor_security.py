"""Hostile programs, each run for real by the real executor: every one fails or is contained,
its outcome recorded, and nothing of it is left behind (no process, no temporary directory).

Tests of a protection the machine lacks are skipped with the reason (``protections().missing``);
on the CI machines (root, ``unshare``) every one runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import os
import select
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from delegate.execution import Limits, Sandbox, cgroups, protections
from delegate.execution.launch import Plan, launch
from delegate.execution.protections import (
    GROUP_LIMITS,
    NO_LEFTOVERS,
    NO_NETWORK,
    READ_ONLY,
    UNPRIVILEGED,
    candidate_plans,
)

pytestmark = pytest.mark.integration

FAST = Sandbox(Limits(timeout_s=2.0, memory_bytes=512 * 2**20, output_bytes=4096))


def needs(protection: str) -> None:
    if protection in protections().missing:
        pytest.skip(f"this machine's executor lacks: {protection}")


def sandbox_processes() -> list[str]:
    """Command lines of processes still running from a sandbox (its job file's directory)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "delegate-exec-" in cmd:
            found.append(cmd)
    return found


def temp_dirs() -> set[str]:
    import tempfile

    return {p.name for p in Path(tempfile.gettempdir()).glob("delegate-exec-*")}


@pytest.fixture(autouse=True)
def nothing_left() -> Iterator[None]:
    before = temp_dirs()
    yield
    deadline = time.monotonic() + 2.0
    while sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.05)  # a killed PID namespace is torn down by the kernel, not at once
    assert sandbox_processes() == []
    assert temp_dirs() <= before
    layout = protections().plan.cgroup
    assert layout is None or cgroups.leftovers(layout) == []


def run(code: str, tests: str = "") -> tuple[str, str, str]:
    result = FAST.run(code, tests)
    return result.outcome, result.message, result.output


def test_a_correct_program_passes_and_a_wrong_one_fails() -> None:
    assert run("def f():\n    return 1\n", "assert f() == 1\n")[0] == "passed"
    outcome, message, _ = run("def f():\n    return 2\n", "assert f() == 1\n")
    assert outcome == "failed" and "assert f() == 1" in message


@pytest.mark.parametrize(
    "code",
    [
        "import sys\nsys.exit(0)\n",
        "raise SystemExit\n",
        "import os\nos._exit(0)\n",
        "import os, sys\nos.execv(sys.executable, [sys.executable, '-c', ''])\n",
    ],
    ids=["sys.exit", "SystemExit", "os._exit", "exec"],
)
def test_exiting_with_status_0_before_the_tests_fails(code: str) -> None:
    outcome, message, _ = run(code, "assert False, 'never reached'\n")
    assert outcome == "failed" and "before the tests finished" in message


def test_printing_words_of_success_fails() -> None:
    code = "print('passed')\nprint('OK: all tests passed', flush=True)\nimport os\nos._exit(0)\n"
    outcome, _, output = run(code, "assert False\n")
    assert outcome == "failed" and "all tests passed" in output


def test_a_program_sleeping_past_the_limit_times_out() -> None:
    start = time.monotonic()
    outcome, message, _ = run("import time\ntime.sleep(60)\n")
    assert outcome == "timeout" and "wall-time" in message
    assert time.monotonic() - start < 5.0


def test_a_busy_loop_times_out() -> None:
    assert run("while True:\n    pass\n")[0] == "timeout"


def test_a_fork_bomb_is_contained() -> None:
    code = (
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    )
    assert run(code)[0] in ("timeout", "failed", "crashed")
    assert run("x = 1\n", "assert x == 1\n")[0] == "passed"  # the machine still runs programs


def test_allocating_past_the_memory_limit_fails() -> None:
    outcome, message, _ = run("block = bytearray(2 * 2**30)\n")
    assert outcome in ("failed", "crashed") and "MemoryError" in message


# children that each allocate (and touch) a block, say so on a pipe and hold it; the parent
# counts how many held theirs at once, then exits 0 before tests that pass
FORKED_ALLOCATORS = """
import os, select, time
r, w = os.pipe()
for _ in range({n}):
    if os.fork() == 0:
        block = b"x" * ({mb} * 2**20)
        os.write(w, b"x")
        time.sleep(30)
        os._exit(0)
os.close(w)
held, deadline = 0, time.monotonic() + 3.0
while held < {n} and select.select([r], [], [], max(0.0, deadline - time.monotonic()))[0]:
    data = os.read(r, 64)
    if not data:
        break
    held += len(data)
print("held", held, flush=True)
"""


def test_forked_allocators_share_one_memory_limit() -> None:
    # setrlimit caps each process: 8 children x 80 MB under a 100 MB limit held 640 MB and passed
    needs(GROUP_LIMITS)
    sandbox = Sandbox(Limits(timeout_s=8.0, memory_bytes=100 * 2**20), workers=1)
    result = sandbox.run(FORKED_ALLOCATORS.format(n=8, mb=80), "assert True\n")
    assert result.outcome == "crashed" and "memory limit" in result.message
    held = int(result.output.split("held")[1].split()[0]) if "held" in result.output else 0
    assert held * 80 <= 100  # never more than one 80 MB block at once


def test_without_cgroups_the_process_limit_bounds_the_aggregate() -> None:
    # the defence without cgroups: processes x memory per process (16 x 4 GiB by default)
    needs(UNPRIVILEGED)  # the process limit does not bind root
    plan = dataclasses.replace(protections().plan, cgroup=None)
    code = (
        "import os, time\nforked = 0\nfor _ in range(40):\n    try:\n"
        "        if os.fork() == 0:\n            time.sleep(30)\n            os._exit(0)\n"
        "        forked += 1\n    except OSError:\n        break\nprint('forked', forked)\n"
    )
    result = launch(plan, Limits(timeout_s=5.0), {"prelude": "", "code": code, "tests": ""})
    assert Limits().processes == 16
    assert result.outcome == "passed"
    assert int(result.output.split("forked")[1].split()[0]) < Limits().processes


def test_the_nonce_cannot_be_read_back_from_the_report_descriptor() -> None:
    # the monitor writes "<nonce> R" before the program runs: read back, it would forge a pass
    pread = (
        "import os\n"
        "for fd in range(3, 256):\n"
        "    try:\n"
        "        line = os.pread(fd, 4096, 0).decode(errors='replace').split('\\n')[0]\n"
        "    except OSError:\n"
        "        continue\n"
        "    parts = line.split()\n"
        "    if len(parts) == 2 and parts[1] == 'R':\n"
        "        os.write(fd, (parts[0] + ' P\\n').encode())\n"
        "        os._exit(0)\n"
    )
    outcome, message, _ = run(pread, "assert False, 'the tests fail'\n")
    assert outcome == "failed" and "the tests fail" in message


def test_the_nonce_cannot_be_read_through_proc() -> None:
    code = (
        "import contextlib, os\n"
        "for d in (f'/proc/{pid}/fd' for pid in ('self', os.getppid(), 1)):\n"
        "    for name in os.listdir(d) if os.access(d, os.R_OK) else []:\n"
        "        with contextlib.suppress(OSError), open(f'{d}/{name}', 'rb') as f:\n"
        "            parts = f.read(4096).decode(errors='replace').split('\\n')[0].split()\n"
        "            if len(parts) == 2 and parts[1] == 'R':\n"
        "                for fd in range(3, 256):\n"
        "                    with contextlib.suppress(OSError):\n"
        "                        os.write(fd, (parts[0] + ' P\\n').encode())\n"
        "                print('found the nonce', flush=True)\n"
        "                os._exit(0)\n"
    )
    outcome, message, output = run(code, "assert False, 'the tests fail'\n")
    assert outcome == "failed" and "the tests fail" in message
    assert "found the nonce" not in output


def test_writing_outside_its_directory_fails_and_writes_nothing(tmp_path: Path) -> None:
    needs(READ_ONLY)
    target = tmp_path / "open"
    target.mkdir()
    target.chmod(0o777)  # open to all: only the sandbox's read-only mounts stop the write
    for path in (target / "evil", Path("/tmp") / f"delegate-evil-{os.getpid()}"):
        code = f"open({str(path)!r}, 'w').write('x')\n"
        outcome, message, _ = run(code)
        assert outcome == "failed" and ("Read-only" in message or "Permission" in message)
        assert not path.exists()
    assert (
        run("open('mine.txt', 'w').write('x')\n", "assert open('mine.txt').read() == 'x'")[0]
        == "passed"
    )


def test_the_environment_holds_no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-0123456789")
    monkeypatch.setenv("DELEGATE_CANARY", "canary-value-42")
    code = (
        "import os\nprint(dict(os.environ))\n"
        "for pid in ('self', '1', str(os.getppid())):\n"
        "    try:\n"
        "        print(open(f'/proc/{pid}/environ').read())\n"
        "    except OSError as e:\n"
        "        print(e)\n"
    )
    outcome, _, output = run(code, "import os\nassert 'OPENAI_API_KEY' not in os.environ\n")
    assert outcome == "passed"
    assert "canary" not in output and "OPENAI" not in output


def test_a_file_only_its_owner_may_read_stays_unread(tmp_path: Path) -> None:
    needs(UNPRIVILEGED)
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o755)
    tmp_path.chmod(0o755)
    secret = folder / "secret"
    secret.write_text("root-only-secret")
    secret.chmod(stat.S_IRUSR | stat.S_IWUSR)
    code = f"print(open({str(secret)!r}).read())\n"
    outcome, message, output = run(code)
    assert outcome == "failed" and "Permission" in message
    assert "root-only-secret" not in output + message


def test_no_connection_reaches_a_listening_socket_on_127_0_0_1() -> None:
    needs(NO_NETWORK)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        code = (
            "import socket\n"
            f"socket.create_connection(('127.0.0.1', {port}), timeout=1).sendall(b'leak')\n"
        )
        outcome, message, _ = run(code)
        assert outcome == "failed" and "OSError" in message
        assert select.select([server], [], [], 0.2)[0] == []  # nobody knocked


def test_signalling_the_parent_or_everyone_spares_the_run() -> None:
    needs(NO_LEFTOVERS)
    for code in (
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
        "import os, signal\nos.kill(-1, signal.SIGKILL)\n",
    ):
        outcome, _, _ = run(code, "assert False\n")
        assert outcome in ("failed", "crashed")
    assert run("x = 1\n", "assert x == 1\n")[0] == "passed"


def test_a_process_started_to_outlive_the_program_is_killed() -> None:
    needs(NO_LEFTOVERS)
    code = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\n"
    assert run(code, "assert True\n")[0] == "passed"
    # the fixture checks that no process of the sandbox is left


def test_flooding_the_output_is_bounded() -> None:
    code = "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n"
    outcome, _, output = run(code)
    assert outcome in ("failed", "crashed", "timeout")
    assert 0 < len(output) <= 4096


@pytest.mark.parametrize(
    ("code", "signal_name"),
    [
        ("import os\nos.abort()\n", "SIGABRT"),
        ("import ctypes\nctypes.string_at(0)\n", "SIGSEGV"),
        ("import faulthandler\nfaulthandler._sigsegv()\n", "SIGSEGV"),
    ],
    ids=["abort", "null-deref", "sigsegv"],
)
def test_crashing_the_interpreter_is_recorded(code: str, signal_name: str) -> None:
    outcome, message, _ = run(code, "assert True\n")
    assert outcome == "crashed" and signal_name in message


def test_executions_run_in_parallel_off_the_event_loop() -> None:
    sandbox = Sandbox(Limits(timeout_s=5.0), workers=2)

    async def main() -> tuple[list[str], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        runs = [sandbox.run_async("import time\ntime.sleep(0.6)\n", "") for _ in range(2)]
        results = await asyncio.gather(*runs)
        task.cancel()
        return [r.outcome for r in results], ticks

    start = time.monotonic()
    outcomes, ticks = asyncio.run(main())
    sandbox.close()
    assert outcomes == ["passed", "passed"]
    assert time.monotonic() - start < 1.15  # two 0.6 s programs side by side, not one by one
    assert ticks >= 30  # the loop kept running while they did


def test_every_plan_this_machine_supports_holds_the_basics() -> None:
    # the weaker plans are the fallbacks of machines without root or unshare
    plans: list[Plan] = candidate_plans()
    assert dataclasses.replace(protections().plan, cgroup=None) in plans
    layout = protections().plan.cgroup
    grouped = [dataclasses.replace(p, cgroup=layout) for p in plans] if layout else []
    for plan in plans + grouped:
        ok = launch(plan, Limits(timeout_s=5.0), {"prelude": "", "code": "x = 1", "tests": ""})
        if ok.outcome != "passed":
            continue  # not available here (detection skips it too)
        bad = launch(plan, Limits(timeout_s=5.0), {"prelude": "", "code": "", "tests": "1/0"})
        assert bad.outcome == "failed" and "ZeroDivisionError" in bad.message, plan.name
        early = launch(
            plan,
            Limits(timeout_s=5.0),
            {"prelude": "", "code": "import os\nos._exit(0)", "tests": "1/0"},
        )
        assert early.outcome == "failed", plan.name


def test_the_missing_protections_are_named() -> None:
    found = protections()
    assert set(found.missing).isdisjoint(found.got)
    if os.geteuid() == 0 and found.plan.name == "namespaces":
        assert found.missing == ()


def test_a_missing_protection_is_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # the package's ``protections`` is the function; the module is imported by its path
    module = importlib.import_module("delegate.execution.protections")
    plain = [p for p in candidate_plans() if p.name == "plain"]
    monkeypatch.setattr(module, "candidate_plans", lambda: plain)
    monkeypatch.setattr(module, "find_layout", lambda: None)
    module.detect.cache_clear()
    try:
        with caplog.at_level("INFO", logger="delegate.execution.protections"):
            first = protections()
            assert FAST.run("x = 1\n", "assert x == 1\n").outcome == "passed"
            assert protections() is first
        warnings = [r for r in caplog.records if r.levelname == "WARNING"]
        assert len(warnings) == 1 and "(plain) runs model-written programs WITHOUT" in (
            warnings[0].getMessage()
        )
        assert first.plan.name == "plain" and first.missing == module.OPTIONAL
        for missing in module.OPTIONAL:
            assert missing in warnings[0].getMessage()
    finally:
        module.detect.cache_clear()  # the next test detects this machine's own plan again
