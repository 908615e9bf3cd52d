"""Grading a run's final answers off the event loop, each by its problem's grader.

Everything goes through the grading pool (``pool.py``): symbolic checks in its worker processes
under a time limit, number checks in a thread, and a code answer run against its hidden tests in
the sandbox (``code.py``, ``delegate.execution``), its execution kept on the grade for the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

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
    """``text`` graded against ``problem``'s gold with its own grader, never on the loop."""
    pool = shared_pool()
    return await pool.grade(text, problem.gold, problem.answer_type, problem.rel_tol, markers)
