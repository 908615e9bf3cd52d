"""The cascade on code: ``confidence=vote`` groups samples by their behaviour on the stated
examples, and the report's simulated cascade grades the small model's programs by running them
(real sandbox, real HumanEval problems)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from delegate.compare.report import annotate, compare
from delegate.compare.runs import Loaded, RunResult
from delegate.data import Problem, load_problems
from delegate.identity import identity_document, run_identity
from delegate.records import read_records
from delegate.strategies.cascade import code_verdict

RIGHT = (
    "def has_close_elements(numbers, threshold):\n"
    "    return any(abs(a - b) < threshold\n"
    "               for i, a in enumerate(numbers) for b in numbers[i + 1:])\n"
)
RIGHT_TOO = (  # other text, same behaviour on the examples
    "def has_close_elements(numbers, threshold):\n"
    "    s = sorted(numbers)\n"
    "    return any(y - x < threshold for x, y in zip(s, s[1:]))\n"
)
RIGHT_THIRD = "def has_close_elements(numbers, threshold):\n" + (
    "    for i in range(len(numbers)):\n"
    "        for j in range(i + 1, len(numbers)):\n"
    "            if abs(numbers[i] - numbers[j]) < threshold:\n"
    "                return True\n"
    "    return False\n"
)
# the stated example is has_close_elements([1.0, 2.0, 3.0], 0.5) == False: both fail it alike
ALWAYS_TRUE = "def has_close_elements(numbers, threshold):\n    return True\n"
ALWAYS_TRUE_TOO = "def has_close_elements(numbers, threshold):\n    return 1 == 1\n"


@pytest.fixture(scope="module")
def problem() -> Problem:
    first = load_problems({"name": "humaneval"})[0]
    assert "has_close_elements" in first.question and first.answer_type == "code"
    return first


def test_vote_groups_programs_by_their_behaviour_on_the_stated_examples(problem: Problem) -> None:
    # two wrong programs fail the same example with the same message: one group of 2; three
    # differently written right ones pass: one group of 3; no program belongs to no group
    programs = [ALWAYS_TRUE, RIGHT, RIGHT_TOO, ALWAYS_TRUE_TOO, None, RIGHT_THIRD]
    best, share = asyncio.run(code_verdict(programs, problem, "vote"))
    assert (best, share) == (1, 3 / 6)
    best, share = asyncio.run(code_verdict([ALWAYS_TRUE, ALWAYS_TRUE_TOO, RIGHT], problem, "vote"))
    assert (best, share) == (0, 2 / 3)  # the majority is the failing behaviour
    best, share = asyncio.run(code_verdict([ALWAYS_TRUE, RIGHT], problem, "tests"))
    assert (best, share) == (1, 1 / 2)  # tests: the first that passes, the share that do


# --- the simulated cascade curve on a code run -----------------------------------------------

PROMPTS = {"system": "Write the function.", "user": "{question}", "review_user": "{draft}"}
DATASET = {"name": "humaneval", "split": "test", "answer_type": "code", "content_sha256": "x"}


def document(strategy: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    roles = {"llm": ["llm"]}.get(strategy, ["llm", "slm"])
    models = {r: {"backend": "openai", "model": "big" if r == "llm" else "small"} for r in roles}
    fields = ("system", "user", "review_user") if strategy == "cascade" else ("system", "user")
    ident = run_identity(strategy, settings, models, {f: PROMPTS[f] for f in fields}, DATASET)
    return identity_document(ident, PROMPTS)


def run(doc: dict[str, Any], rows: list[dict[str, Any]]) -> RunResult:
    strategy = doc["identity"]["strategy"]
    slm = "small" if "slm" in doc["identity"] else "none"
    tags = {"strategy": strategy, "llm": "big", "slm": slm, "prompt": "code", "dataset": "h"}
    return RunResult(f"{strategy}-1", doc["config_id"], tags, "1", "s1", {}, read_records(rows))


def test_the_simulated_cascade_curve_runs_the_small_models_programs(problem: Problem) -> None:
    # three problems (the same task, three ids): the small model's majority program is right on
    # #1 and #3, wrong on #2; LLM-only is right on all three
    programs = {1: RIGHT, 2: ALWAYS_TRUE, 3: RIGHT_TOO}
    confidence = {1: 1.0, 2: 0.4, 3: 0.6}

    def row(pid: int, correct: bool, llm_cost: float, **extra: Any) -> dict[str, Any]:
        return {
            "problem_id": pid,
            "question": problem.question,
            "gold": problem.gold,
            "final_text": "",
            "correct": correct,
            "correct_strict": correct,
            "cost_usd": llm_cost + 0.001,
            "llm_cost_usd": llm_cost,
            "slm_cost_usd": 0.001,
            "answer_type": "code",
            **extra,
        }

    cascade_doc = document(
        "cascade", {"samples": 3, "temperature": 0.7, "threshold": 0.5, "escalate": "fresh"}
    )
    llm_doc = document("llm")
    cascade_rows = [
        row(p, p != 2 or confidence[p] < 0.5, 0.01 if confidence[p] < 0.5 else 0.0, slm_answer=a)
        | {"confidence": confidence[p], "escalated": confidence[p] < 0.5}
        for p, a in programs.items()
    ]
    llm_rows = [row(p, True, 0.01) | {"slm_cost_usd": 0.0, "cost_usd": 0.01} for p in programs]
    data = Loaded(
        [run(llm_doc, llm_rows), run(cascade_doc, cascade_rows)],
        {llm_doc["config_id"]: llm_doc, cascade_doc["config_id"]: cascade_doc},
    )
    rows, _ = compare(data)
    [curve] = annotate(rows, data)
    assert curve.kind == "simulated_cascade" and curve.summary["problems"] == 3
    # the small model's programs, run against the hidden tests: right on #1 and #3
    assert curve.summary["weak_accuracy"] == pytest.approx(2 / 3)
    assert curve.summary["strong_accuracy"] == 1.0
    # escalating by confidence (0.4: #2 first) recovers the whole gap at a third escalated
    assert curve.table["accuracy"].tolist() == pytest.approx([2 / 3, 1.0, 1.0, 1.0])
