"""The grading pool with real worker processes: the same grades as grading inline, a check past
the time limit killed and counted wrong while the event loop goes on, and no process left behind
(after close, and when the process that owns the pool is killed)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path

import pytest

from delegate.scoring import Grade, answers_match, grade, grader
from delegate.scoring.code import make_gold
from delegate.scoring.grade import NotChecked
from delegate.scoring.pool import GradingPool, PoolClosed, close_shared_pool, shared_pool

# sympy works on 10^(10^10) inside one C call: math-verify's own timers cannot stop it in time.
SLOW = r"so \boxed{10^{10^{10}}}"


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture
def pool() -> Iterator[GradingPool]:
    with GradingPool(workers=2, time_limit_s=1.0) as started:
        yield started


LATEX_CASES = [
    (r"so \boxed{\dfrac{14}{3}}", r"\frac{14}{3}"),
    (r"so \boxed{\sqrt{117}}", r"3\sqrt{13}"),
    (r"so \boxed{\left(3, 9\right)}", "(3,9)"),
    (r"so \boxed{(-2,7)}", "[-2,7]"),
    ("The answer is $6+9i$.", "9i+6"),
]


def test_the_pool_grades_as_grading_inline_does(pool: GradingPool) -> None:
    async def all_grades() -> list[Grade]:
        return list(await asyncio.gather(*(pool.grade(t, g, "latex") for t, g in LATEX_CASES)))

    assert asyncio.run(all_grades()) == [grade(t, g, "latex") for t, g in LATEX_CASES]
    assert [g.correct for g in asyncio.run(all_grades())] == [True, True, True, False, True]


def test_a_check_past_the_time_limit_is_killed_and_counted_wrong(pool: GradingPool) -> None:
    before = set(pool.pids())
    asyncio.run(pool.grade(r"\boxed{1}", "1", "latex"))  # both workers started: timing is fair
    started = time.perf_counter()
    slow, ticks, _ = asyncio.run(ticking_while(pool.grade(SLOW, "1", "latex")))
    elapsed = time.perf_counter() - started
    assert slow.error is not None and "over 1 s" in slow.error
    assert (slow.correct, slow.correct_strict) == (False, False)
    assert (slow.extracted, slow.extracted_by) == ("10^{10^{10}}", "boxed")
    assert 1.0 <= elapsed < 4.0
    assert ticks >= 50  # the loop ran all along: 1 s of 5 ms ticks, with room for a busy box
    after = set(pool.pids())
    assert len(after) == 2 and len(before - after) == 1 and pool.spawned() == 3
    [killed] = before - after
    assert not alive(killed)
    # The replacement grades the next answer.
    assert asyncio.run(pool.grade(r"\boxed{\frac{1}{2}}", "0.5", "latex")).correct


def test_comparing_two_answers(pool: GradingPool) -> None:
    async def compare() -> list[bool]:
        return [
            await pool.same(r"\dfrac{14}{3}", r"\frac{14}{3}", "latex"),
            await pool.same("(3,9)", "(3, 4)", "latex"),
            await pool.same("12.0", "12", "number"),
            await pool.same("10^{10^{10}}", "1", "latex"),  # cut off: counts as different
        ]

    assert asyncio.run(compare()) == [True, False, True, False]


def test_numbers_are_graded_in_a_thread_without_a_process() -> None:
    with GradingPool(workers=1) as lazy:
        got = asyncio.run(lazy.grade(r"\boxed{3.2 \times 10^{6}}", "3200000"))
        assert got.correct and got.extracted_by == "boxed"
        assert asyncio.run(lazy.same("0.5", "1/2"))  # extracted answers, already normalised
        time.sleep(0.5)
        assert lazy.spawned() == 1  # started with the pool, never asked for a number


async def ticking_while(check: Awaitable[Grade]) -> tuple[Grade, int, float]:
    """``check``'s grade, how many 5 ms ticks the event loop served meanwhile, and the longest
    wait between two ticks (how long the loop was stalled)."""
    ticks, longest, last = 0, 0.0, time.perf_counter()

    async def tick() -> None:
        nonlocal ticks, longest, last
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            ticks, longest, last = ticks + 1, max(longest, now - last), now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    got = await check
    ticker.cancel()
    return got, ticks, longest


def test_a_1mb_number_answer_never_stalls_the_event_loop() -> None:
    text = "1" * 1_000_000  # a quarter to a half second of reading, mostly in regex calls
    with GradingPool(workers=1) as pool:
        asyncio.run(pool.grade(r"\boxed{1}", "1", "latex"))  # the worker's start is not timed
        got, ticks, longest = asyncio.run(ticking_while(pool.grade(text, "2")))
        short, _, _ = asyncio.run(ticking_while(pool.grade(r"so \boxed{2}", "2")))
    assert not got.correct and got.extracted_by == "last_number"
    # measured: in a worker 39 ticks, 12 ms at most; in a thread 7 ticks, 84 ms; on the loop none
    assert ticks >= 20 and longest < 0.08
    assert short.correct


def test_a_code_answer_runs_in_the_sandbox_never_on_the_loop() -> None:
    gold = make_gold("assert f() == 1\n", None, "", "")
    reply = "```python\nimport time\ndef f():\n    time.sleep(0.3)\n    return 1\n```"
    with GradingPool(workers=1) as lazy:
        got, ticks, _ = asyncio.run(ticking_while(lazy.grade(reply, gold, "code")))
        assert lazy.spawned() == 1  # no worker process was asked
    assert got.correct and got.execution is not None and got.execution.outcome == "passed"
    assert ticks >= 20  # 0.3 s asleep in the program while the loop ticked

    async def on_the_loop() -> tuple[bool, Grade]:
        with pytest.raises(NotChecked, match="on the event loop: not run"):
            grader("code").matches("def f():\n    return 1\n", gold, 0.0)
        inline = grade("```python\ndef f():\n    return 1\n```", gold, "code")
        return answers_match("def f():\n    return 1\n", gold, "code"), inline

    matched, inline = asyncio.run(on_the_loop())
    assert not matched and not inline.correct and "not run" in (inline.error or "")
    assert grader("code").matches("def f():\n    return 1\n", gold, 0.0)  # off a loop: runs


def test_close_ends_every_worker_and_a_closed_pool_refuses_work() -> None:
    pool = GradingPool(workers=2, time_limit_s=5.0).start()
    assert asyncio.run(pool.grade(r"\boxed{2}", "2", "latex")).correct
    pids = pool.pids()
    assert len(pids) == 2 and all(alive(p) for p in pids)
    pool.close()
    assert not any(alive(p) for p in pids) and pool.pids() == []
    with pytest.raises(PoolClosed):
        asyncio.run(pool.grade(r"\boxed{2}", "2", "latex"))
    pool.close()  # idempotent


def test_closing_mid_check_cuts_the_check_off() -> None:
    pool = GradingPool(workers=1, time_limit_s=60.0).start()

    async def close_during_check() -> Grade:
        check = asyncio.create_task(pool.grade(SLOW, "1", "latex"))
        await asyncio.sleep(1.5)  # the worker is inside sympy by now
        await asyncio.get_running_loop().run_in_executor(None, pool.close)
        return await check

    started = time.perf_counter()
    cut = asyncio.run(close_during_check())
    assert cut.error is not None and not cut.correct
    assert time.perf_counter() - started < 10


OWNER = """
import asyncio, sys
from delegate.scoring.pool import GradingPool
pool = GradingPool(workers=2, time_limit_s=600).start()
async def main():
    assert (await pool.grade(r"\\boxed{1}", "1", "latex")).correct
    print(*pool.pids(), flush=True)
    await pool.grade(sys.argv[1], "1", "latex")
asyncio.run(main())
"""


def test_no_worker_outlives_a_killed_owner(tmp_path: Path) -> None:
    script = tmp_path / "owner.py"
    script.write_text(OWNER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    owner = subprocess.Popen(
        [sys.executable, str(script), SLOW], stdout=subprocess.PIPE, text=True, env=env
    )
    assert owner.stdout is not None
    pids = [int(p) for p in owner.stdout.readline().split()]
    assert len(pids) == 2 and all(alive(p) for p in pids)
    time.sleep(1.0)  # one worker is deep in sympy now
    owner.send_signal(signal.SIGKILL)
    owner.wait(10)
    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in pids)


EXITS = """
import asyncio, sys
from delegate.scoring.pool import shared_pool
async def main():
    pool = shared_pool()
    assert (await pool.grade(r"\\boxed{1}", "1", "latex")).correct
    print(*pool.pids(), flush=True)
    checks = [asyncio.create_task(pool.grade(sys.argv[1], "1", "latex")) for _ in range(4)]
    await asyncio.wait(checks, timeout=1.0)  # one runs in each worker, two wait for a worker
asyncio.run(main())  # cancels the checks and returns: the interpreter exits with them pending
"""


def test_an_exit_with_checks_pending_is_prompt_and_leaves_no_worker(tmp_path: Path) -> None:
    script = tmp_path / "exits.py"
    script.write_text(EXITS)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(script), SLOW], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 8  # under the 10 s limit: no check was waited for
    pids = [int(p) for p in done.stdout.split()]
    assert len(pids) == 2 and not any(alive(p) for p in pids)


def test_the_shared_pool_is_one_until_closed() -> None:
    first = shared_pool()
    assert shared_pool() is first
    close_shared_pool()
    assert first.closed and shared_pool() is not first
    close_shared_pool()
