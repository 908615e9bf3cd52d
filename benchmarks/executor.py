"""The code executor's speed: reference solutions per second, and one execution's overhead.

    PYTHONPATH=src .venv/bin/python benchmarks/executor.py [--workers 2] [--repeat 40]

Grades the 164 HumanEval and the 500 MBPP reference solutions (each in a fenced block, against
its hidden tests) through ``delegate.scoring.code`` with ``--workers`` sandboxes in flight, and
times one sandboxed execution of a trivial program against a bare ``python -c pass`` subprocess
of the same interpreter (medians of ``--repeat``). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from importlib import resources

from delegate.data import load_problems
from delegate.execution import Limits, Sandbox, protections
from delegate.scoring.code import grade_gold_async


def references(source: str) -> list[tuple[str, str]]:
    """(reply, gold) for every problem of ``source``, the reply its reference solution."""
    path = resources.files("delegate.data").joinpath(f"{source}/test.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    problems = load_problems({"name": source})
    if source == "humaneval":
        code = [row["prompt"] + row["canonical_solution"] for row in rows]
    else:
        code = [row["code"] for row in rows]
    return [(f"```python\n{c}\n```", p.gold) for c, p in zip(code, problems, strict=True)]


async def grade_all(sandbox: Sandbox, pairs: list[tuple[str, str]]) -> tuple[float, int]:
    start = time.perf_counter()
    results = await asyncio.gather(*(grade_gold_async(r, g, sandbox=sandbox) for r, g in pairs))
    return time.perf_counter() - start, sum(r.passed for r in results)


def overhead(sandbox: Sandbox, repeat: int) -> tuple[float, float]:
    """Median seconds of one sandboxed trivial execution and of a bare interpreter start."""
    python = protections().plan.python
    sandboxed, bare = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        assert sandbox.run("x = 1\n", "assert x == 1\n").passed
        sandboxed.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run([python, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - start)
    return statistics.median(sandboxed), statistics.median(bare)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    found = protections()
    sandbox = Sandbox(Limits(), workers=args.workers)
    print(f"plan: {found.plan.name}; missing: {', '.join(found.missing) or 'none'}")
    print(f"cores: {os.cpu_count()}, workers: {args.workers}, python: {found.plan.python}\n")
    print("| measured | figure |\n|---|---|")
    for source in ("humaneval", "mbpp"):
        pairs = references(source)
        seconds, passed = asyncio.run(grade_all(sandbox, pairs))
        rate = len(pairs) / seconds
        print(
            f"| {source}: {len(pairs)} references | {passed} passed in {seconds:.1f} s, "
            f"{rate:.1f} programs/s |"
        )
    run_s, bare_s = overhead(sandbox, args.repeat)
    print(f"| one sandboxed execution (median of {args.repeat}) | {run_s * 1000:.0f} ms |")
    print(f"| bare `python -c pass` subprocess (median) | {bare_s * 1000:.0f} ms |")
    print(f"| overhead of the sandbox | {(run_s - bare_s) * 1000:.0f} ms ({run_s / bare_s:.1f}x) |")
    sandbox.close()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
