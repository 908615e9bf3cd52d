"""Answer extraction and grading, one grader per answer type; the dataset's config chooses it.

- ``number`` (GSM8K, SVAMP, GSM-Hard; the default): the answer is one number, compared as an
  exact rational, or within ``rel_tol`` of the gold (``number.py``);
- ``latex`` (MATH-500): the answer is a LaTeX expression, compared by symbolic equivalence with
  ``math-verify`` (``latex.py``).

Graders are registered by name (``grade.py``: :data:`GRADERS`); a new answer type is one module
that registers its grader. Two readings of a text, both reported (``accuracy`` and
``accuracy_strict``):

- flexible, in this order: the last balanced ``\\boxed{}`` (``boxed.py``); the answer markers, a
  list of phrases and JSON fields that a prompt set can replace (``markers.py``); the grader's
  fallback (``latex``: the last inline math, then the last number; ``number``: the last number).
  Which rule answered is :attr:`Grade.extracted_by`;
- strict: the prompt's own marker only (``number``: the box, a ``####`` line, "the answer is";
  ``latex``: the box).

:func:`grade` reads and compares in one call. Symbolic checks can take long or never end; the
grading pool (``pool.py``) runs them in worker processes under a time limit.
"""

from __future__ import annotations

from collections.abc import Sequence

from delegate.scoring import code, latex, number
from delegate.scoring.boxed import last_boxed
from delegate.scoring.grade import EXTRACTED_BY, GRADERS, Grade, Grader, NotChecked
from delegate.scoring.markers import DEFAULT_MARKERS

# The default type first, then the others by name.
ANSWER_TYPES = tuple(sorted(GRADERS.names(), key=lambda name: name != "number"))

__all__ = [
    "ANSWER_TYPES",
    "DEFAULT_MARKERS",
    "EXTRACTED_BY",
    "Grade",
    "Grader",
    "answers_match",
    "extract_answer",
    "extract_strict",
    "grade",
    "grader",
    "is_correct",
    "is_correct_strict",
    "last_boxed",
]
_ = (code, latex, number)  # imported for their registration


def grader(answer_type: str) -> Grader:
    """The grader of ``answer_type``; ValueError naming the known types otherwise."""
    if answer_type not in GRADERS:
        raise ValueError(f"unknown answer type {answer_type!r}; known: {', '.join(ANSWER_TYPES)}")
    return GRADERS.get(answer_type)


def extract_strict(text: str, answer_type: str = "number") -> str | None:
    """The answer given with the prompt's own marker, or None."""
    return grader(answer_type).extract_strict(text or "")


def extract_answer(
    text: str, answer_type: str = "number", markers: Sequence[str] | None = None
) -> str | None:
    """The flexible reading: the box, else the first marker that states an answer, else the
    grader's fallback; None when nothing is found."""
    found = grader(answer_type).extract(text or "", DEFAULT_MARKERS if markers is None else markers)
    return found.answer


def answers_match(
    extracted: str | None, gold: str, answer_type: str = "number", rel_tol: float = 0.0
) -> bool:
    """Whether an extracted answer equals the gold answer under ``answer_type``'s rules;
    ``rel_tol`` (``number`` only) is the relative difference still counted as equal. A check
    cut off by its time limit counts as not equal."""
    try:
        return grader(answer_type).matches(extracted, gold, rel_tol)
    except NotChecked:
        return False


def grade(
    text: str,
    gold: str,
    answer_type: str = "number",
    rel_tol: float = 0.0,
    markers: Sequence[str] | None = None,
) -> Grade:
    """Both readings of ``text``, each compared with ``gold``, where the flexible one came from,
    and why a check was cut off (``error``; a cut-off check is wrong). Runs in the caller: for
    bounded grading off the event loop, use ``GradingPool.grade``."""
    kind = grader(answer_type)
    text = text or ""
    found = kind.extract(text, DEFAULT_MARKERS if markers is None else markers)
    strict = kind.extract_strict(text)
    try:
        correct = kind.matches(found.answer, gold, rel_tol)
        same = strict == found.answer
        correct_strict = correct if same else kind.matches(strict, gold, rel_tol)
    except NotChecked as e:
        return Grade(found.answer, strict, False, False, found.by, str(e))
    return Grade(found.answer, strict, correct, correct_strict, found.by)


def is_correct(text: str, gold: str, answer_type: str = "number", rel_tol: float = 0.0) -> bool:
    """Flexible grading: the answer found by ``extract_answer`` equals ``gold``."""
    return answers_match(extract_answer(text, answer_type), gold, answer_type, rel_tol)


def is_correct_strict(
    text: str, gold: str, answer_type: str = "number", rel_tol: float = 0.0
) -> bool:
    """Strict grading: only an answer given with the prompt's own marker counts."""
    return answers_match(extract_strict(text, answer_type), gold, answer_type, rel_tol)
