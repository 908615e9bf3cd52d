"""A real cascade on ``dataset=math500`` against deterministic OpenAI-compatible servers on
127.0.0.1: samples that spell one answer differently are one answer to the cascade's vote (the
``latex`` grader's), samples that really differ escalate, and the run lands on the cascade curve
that ``compare.curves.cascade_curve`` simulates from its records (``slm_answer`` regraded with
the problem's grader)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from delegate.data import draw_sample, load_problems
from delegate.records import ProblemRecord
from delegate.runner import run
from delegate.scoring import answers_match
from delegate.strategies.cascade import sample_seed

from ..helpers import resolved
from .test_cascade import SEED, K, N, lands_on_curve, simulated
from .test_cascade import _overrides as cascade_overrides
from .test_cascade import _records as records_in_order

pytestmark = pytest.mark.integration
# Per problem, per sample (greedy first): R the gold in the sample's own spelling, W one wrong
# answer in the sample's own spelling, X a wrong answer of that sample alone.
PATTERNS = ["RRRR", "RRRX", "WWRX", "WWWW", "RXXX", "WRWW"]
CONFIDENCE = [1.0, 0.75, 0.5, 1.0, 0.25, 0.75]
LLM_RIGHT = [True, True, True, True, False, True]


def spelled(answer: str, index: int) -> str:
    """``answer`` as sample ``index`` writes it: the same value, another spelling."""
    if index == 1:
        return answer.replace("\\frac", "\\dfrac").replace("(", "\\left(").replace(")", "\\right)")
    if index == 2:
        return answer.replace(", ", ",").replace(",", ", ")
    if index == 3:
        return (
            f"{answer}.0" if answer.lstrip("-").isdigit() else answer.replace("\\frac", "\\tfrac")
        )
    return answer


def _problems() -> list[Any]:
    return list(draw_sample(load_problems(resolved("dataset=math500")["dataset"]), N, SEED))


def _answer(pattern: str, gold: str, index: int) -> str:
    kind = pattern[index]
    if kind == "R":
        return spelled(gold, index)
    wrong = "7" if gold != "7" else "8"
    return spelled(wrong, index) if kind == "W" else str(1000 + index)


def _question(request: dict[str, Any]) -> str:
    return str(request["messages"][-1]["content"])


def _servers(table_server: Any) -> tuple[Any, Any]:
    problems = _problems()
    row_of = {p.question: (i, p) for i, p in enumerate(problems)}
    index_of = {(p.id, sample_seed(SEED, p.id, i)): i for p in problems for i in range(1, K)}

    def slm(request: dict[str, Any]) -> tuple[str, int, int]:
        row, problem = row_of[_question(request)]
        index = 0 if "seed" not in request else index_of[(problem.id, request["seed"])]
        return f"Working... \\boxed{{{_answer(PATTERNS[row], problem.gold, index)}}}", 20, 5

    def llm(request: dict[str, Any]) -> tuple[str, int, int]:
        row, problem = row_of[_question(request)]
        answer = problem.gold if LLM_RIGHT[row] else "1000"
        return f"The answer is \\boxed{{{answer}}}.", 100, 30

    return table_server(slm), table_server(llm)


def _overrides(slm_url: str, llm_url: str, store: str, *extra: str) -> list[str]:
    return cascade_overrides(slm_url, llm_url, store, *extra, dataset="math500")


def _records(run_dir: Path) -> list[ProblemRecord]:
    return records_in_order(run_dir, _problems())


def test_the_spellings_are_equal_and_the_wrong_answers_are_not() -> None:
    # The premise of the runs below, checked with the grader itself.
    for problem in _problems():
        assert problem.answer_type == "latex"
        for index in range(K):
            assert answers_match(spelled(problem.gold, index), problem.gold, "latex")
            assert answers_match(spelled("7", index), "7", "latex")
            assert not answers_match(spelled("7", index), problem.gold, "latex")


def test_spellings_of_one_answer_do_not_escalate_and_differing_answers_do(
    table_server: Any, store: str, tmp_path: Path
) -> None:
    slm_server, llm_server = _servers(table_server)
    urls = (slm_server.url, llm_server.url, store)
    metrics = run(
        resolved(*_overrides(*urls, "strategy=cascade", "cascade.threshold=1.0")), tmp_path / "one"
    )
    records = _records(tmp_path / "one")
    assert [r.confidence for r in records] == CONFIDENCE
    # Only the problems whose samples really differ escalate: not the first and the fourth,
    # whose four samples are one answer (right, then wrong) spelled four ways.
    assert [r.escalated for r in records] == [False, True, True, False, True, True]
    assert metrics["escalation_rate"] == pytest.approx(4 / 6)
    problems = _problems()
    first = records[0]
    assert first.slm_answers == tuple(spelled(problems[0].gold, i) for i in range(K))
    assert first.slm_answer == problems[0].gold and first.correct and first.answer_type == "latex"


def test_a_math500_cascade_lands_on_its_simulated_curve(
    table_server: Any, store: str, tmp_path: Path
) -> None:
    slm_server, llm_server = _servers(table_server)
    urls = (slm_server.url, llm_server.url, store)
    run(resolved(*_overrides(*urls, "strategy=llm")), tmp_path / "llm")
    threshold = 0.75
    metrics = run(
        resolved(*_overrides(*urls, "strategy=cascade", f"cascade.threshold={threshold}")),
        tmp_path / "cascade",
    )
    strong, cascade = _records(tmp_path / "llm"), _records(tmp_path / "cascade")
    weak = [answers_match(r.slm_answer, r.gold, r.answer_type, r.rel_tol) for r in cascade]
    # The small model's majority is right on problems 1, 2 and 5 (the earliest of a four-way tie).
    assert weak == [True, True, False, False, True, False]
    curve = simulated(cascade, strong, weak)
    lands_on_curve(metrics, curve, threshold)
    # By hand: problems 3 and 5 escalate (0.5 and 0.25 < 0.75); right are 1 and 2 (small
    # model) and 3 (large model): 3 of 6.
    assert [r.escalated for r in cascade] == [False, False, True, False, True, False]
    assert metrics["accuracy"] == 0.5
    # At threshold 0 (nothing escalates) the simulated all-small end is the small model's
    # accuracy as the live run grades it.
    never = run(
        resolved(*_overrides(*urls, "strategy=cascade", "cascade.threshold=0")), tmp_path / "zero"
    )
    [low] = curve[np.isclose(curve["strong_share"], 0.0)].to_dict("records")
    assert never["accuracy"] == pytest.approx(low["accuracy"]) == pytest.approx(0.5)
