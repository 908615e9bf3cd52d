"""Grading a run's final answers off the event loop, each by its problem's grader.

Symbolic and numeric answers go to the grading pool (``pool.py``: worker processes under a time
limit, so no check can stall the run or outlive its limit); a code answer is run against its
hidden tests in the sandbox (``code.py``, ``delegate.execution``), and its execution is kept on
the grade for the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from delegate.scoring.code import grade_answer_async
from delegate.scoring.grade import Grade
from delegate.scoring.pool import shared_pool


class Gradable(Protocol):
    @property
    def gold(self) -> str: ...
    @property
    def answer_type(self) -> str: ...
    @property
    def rel_tol(self) -> float: ...


async def grade_answer(text: str, problem: Gradable, markers: Sequence[str] | None) -> Grade:
    """``text`` graded against ``problem``'s gold with its own grader."""
    if problem.answer_type == "code":
        return await grade_answer_async(text, problem.gold)
    pool = shared_pool()
    return await pool.grade(text, problem.gold, problem.answer_type, problem.rel_tol, markers)
