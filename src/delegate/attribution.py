"""Where delegation fails: one category per router or cascade problem, read off its record.

For ``strategy=router``:

- ``right``: the final answer is right.
- ``error``: the problem failed (its ``error`` is set).
- ``wrong_without_delegation``: wrong, and the small model was never asked.
- ``accepted_wrong_delegation``: wrong, and the final answer is one the small model gave.
- ``spoiled_right_delegation``: wrong, though the small model had given the right answer.
- ``wrong_after_delegation``: any other wrong answer after a delegation (the large model's own
  step went wrong with the small model's help neither right nor taken).

For ``strategy=cascade``: ``right``, ``error``, ``confident_and_wrong`` (not escalated, wrong) and
``escalated_and_wrong``. Other strategies get "" (no category). The small model's answers are
graded with the problem's own grader, as the final answer was. The run records the category per
problem (``ProblemRecord.attribution``); the report recomputes it for rows written before the
column existed.

It lives outside ``delegate.compare`` because every run needs it (``records``) and a run should
not load the report; ``delegate.compare.attribution`` re-exports it for old imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from delegate.scoring import ANSWER_TYPES, answers_match, extract_answer

if TYPE_CHECKING:
    from delegate.records import ProblemRecord

ROUTER_CATEGORIES = (
    "right",
    "wrong_without_delegation",
    "accepted_wrong_delegation",
    "spoiled_right_delegation",
    "wrong_after_delegation",
    "error",
)
CASCADE_CATEGORIES = ("right", "confident_and_wrong", "escalated_and_wrong", "error")
CATEGORIES = {"router": ROUTER_CATEGORIES, "cascade": CASCADE_CATEGORIES}


def _grader(record: ProblemRecord) -> tuple[str, float]:
    kind = record.answer_type if record.answer_type in ANSWER_TYPES else "number"
    return kind, record.rel_tol


def _small_answers(record: ProblemRecord) -> list[str]:
    """The answers the small model gave the large one, as the grader extracts them (its boxed
    answer, else its whole reply)."""
    kind, _ = _grader(record)
    found = []
    for call in record.tool_call_log:
        if call.get("tool") != "small_model" or call.get("slm_text") is None:
            continue
        given = call.get("answer")
        text = str(given if given is not None else call["slm_text"])
        extracted = extract_answer(text, kind) or (text if given is not None else None)
        if extracted is not None:
            found.append(extracted)
    return found


def _after_delegation(taken: bool, had_right: bool) -> str:
    if taken:
        return "accepted_wrong_delegation"
    return "spoiled_right_delegation" if had_right else "wrong_after_delegation"


def _without_grading(record: ProblemRecord, strategy: str) -> str | None:
    """The category when no answer needs comparing, else None (a router's wrong answer after
    a delegation)."""
    if strategy not in CATEGORIES:
        return ""
    if record.error is not None:
        return "error"
    if record.correct:
        return "right"
    if strategy == "cascade":
        return "escalated_and_wrong" if record.escalated else "confident_and_wrong"
    return "wrong_without_delegation" if record.slm_tool_calls == 0 else None


def attribute(record: ProblemRecord, strategy: str) -> str:
    """The record's category under ``strategy`` (see the module's docstring); "" for a
    strategy without categories. Compares answers inline: for the report, not a run's loop."""
    known = _without_grading(record, strategy)
    if known is not None:
        return known
    kind, tol = _grader(record)
    small, final = _small_answers(record), record.extracted
    taken = final is not None and any(answers_match(a, final, kind, tol) for a in small)
    return _after_delegation(taken, any(answers_match(a, record.gold, kind, tol) for a in small))


async def attribute_async(record: ProblemRecord, strategy: str) -> str:
    """``attribute``, with the answers compared off the event loop by the grading pool (bounded
    like every grade), as a run's loop needs."""
    known = _without_grading(record, strategy)
    if known is not None:
        return known
    from delegate.scoring.pool import shared_pool

    kind, tol = _grader(record)
    small, final, pool = _small_answers(record), record.extracted, shared_pool()
    taken = final is not None and any([await pool.same(a, final, kind, tol) for a in small])
    right = any([await pool.same(a, record.gold, kind, tol) for a in small])
    return _after_delegation(taken, right)
