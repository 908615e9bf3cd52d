"""Every reference solution passes its tests through the real grader and sandbox; wrong fails.

Each reference is wrapped in a fenced block, as a model would answer. The whole of it runs in
parallel (one sandbox per core) and takes about half a minute on 2 cores.
"""

from __future__ import annotations

import asyncio
import json
from importlib import resources

import pytest

from delegate.data import Problem, load_problems
from delegate.execution import ExecutionResult
from delegate.scoring.code import check_examples_async, grade_gold, grade_gold_async

DATA = resources.files("delegate.data")


def references(source: str) -> list[tuple[Problem, str]]:
    rows = [json.loads(line) for line in DATA.joinpath(f"{source}/test.jsonl").open()]
    problems = load_problems({"name": source})
    if source == "humaneval":
        code = [row["prompt"] + row["canonical_solution"] for row in rows]
    else:
        code = [row["code"] for row in rows]
    fenced = [f"Here is the function.\n```python\n{c}\n```\n" for c in code]
    return list(zip(problems, fenced, strict=True))


async def _grade_all(pairs: list[tuple[Problem, str]]) -> list[ExecutionResult]:
    return await asyncio.gather(*(grade_gold_async(reply, p.gold) for p, reply in pairs))


async def _examples_all(pairs: list[tuple[Problem, str]]) -> list[ExecutionResult | None]:
    return await asyncio.gather(*(check_examples_async(reply, p.gold) for p, reply in pairs))


@pytest.mark.parametrize(("source", "size"), [("humaneval", 164), ("mbpp", 500)])
def test_every_reference_solution_passes_its_tests(source: str, size: int) -> None:
    pairs = references(source)
    results = asyncio.run(_grade_all(pairs))
    outcomes = zip(pairs, results, strict=True)
    failures = [(p.id, r.outcome, r.message) for (p, _), r in outcomes if not r.passed]
    assert len(results) == size and failures == []


def test_every_humaneval_reference_passes_its_stated_examples() -> None:
    pairs = references("humaneval")
    results = [r for r in asyncio.run(_examples_all(pairs)) if r is not None]
    assert len(results) == 138 and all(r.passed for r in results), [
        r.message for r in results if not r.passed
    ]


def test_a_sample_of_mbpp_references_passes_its_stated_example() -> None:
    pairs = references("mbpp")[::25]
    results = asyncio.run(_examples_all(pairs))
    assert len(results) == 20 and all(r is not None and r.passed for r in results)


def test_a_wrong_solution_fails_and_says_which_test() -> None:
    problem, _ = references("humaneval")[0]  # has_close_elements
    wrong = "```python\ndef has_close_elements(numbers, threshold):\n    return False\n```"
    result = grade_gold(wrong, problem.gold)
    assert result.outcome == "failed"
    assert result.message.startswith("AssertionError") and "<tests>" in result.message
    mbpp, _ = references("mbpp")[0]
    assert grade_gold(
        "```python\ndef remove_Occ(s, ch):\n    return s\n```", mbpp.gold
    ).outcome == ("failed")


def test_stated_examples_pass_where_hidden_tests_fail() -> None:
    # a program that hard-codes the stated example: the cascade's check passes it, grading not
    mbpp, _ = references("mbpp")[0]  # remove_Occ("hello","l") == "heo"
    cheat = "```python\ndef remove_Occ(s, ch):\n    return 'heo'\n```"
    (stated,) = asyncio.run(_examples_all([(mbpp, cheat)]))
    assert stated is not None and stated.passed
    assert grade_gold(cheat, mbpp.gold).outcome == "failed"
