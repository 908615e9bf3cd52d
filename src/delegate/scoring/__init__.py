"""Answer extraction and grading, one grader per answer type; the dataset's config chooses it.

- ``number`` (GSM8K, SVAMP, GSM-Hard; the default): the answer is one number, compared as an
  exact rational, or within ``rel_tol`` of the gold (``number.py``);
- ``latex`` (MATH-500): the answer is a LaTeX expression, compared by symbolic equivalence with
  ``math-verify`` (``latex.py``).

Two extractors, both reported (as ``accuracy_strict`` and ``accuracy``):

- strict: only an explicit answer marker counts. ``number``: the last balanced ``\\boxed{...}``,
  then the last ``#### x`` line, then the last "the answer is x"; ``latex``: a ``\\boxed{}``
  answer only;
- flexible: the strict answer, else a looser reading (``number``: the last number in the text;
  ``latex``: "the answer is", then the last inline math, then the last number).
"""

from __future__ import annotations

from delegate.scoring import latex, number
from delegate.scoring.markers import last_boxed

ANSWER_TYPES = ("number", "latex")

__all__ = [
    "ANSWER_TYPES",
    "answers_match",
    "extract_answer",
    "extract_strict",
    "is_correct",
    "is_correct_strict",
    "last_boxed",
]


def _check(answer_type: str) -> None:
    if answer_type not in ANSWER_TYPES:
        raise ValueError(f"unknown answer type {answer_type!r}; known: {', '.join(ANSWER_TYPES)}")


def extract_strict(text: str, answer_type: str = "number") -> str | None:
    """The answer given with an explicit marker, or None."""
    _check(answer_type)
    return latex.extract_strict(text) if answer_type == "latex" else number.extract_strict(text)


def extract_answer(text: str, answer_type: str = "number") -> str | None:
    """The strict answer if there is one, else the flexible reading, else None."""
    _check(answer_type)
    return latex.extract_answer(text) if answer_type == "latex" else number.extract_answer(text)


def answers_match(
    extracted: str | None, gold: str, answer_type: str = "number", rel_tol: float = 0.0
) -> bool:
    """Whether an extracted answer equals the gold answer under ``answer_type``'s rules;
    ``rel_tol`` (``number`` only) is the relative difference still counted as equal."""
    _check(answer_type)
    if answer_type == "latex":
        return latex.answers_match(extracted, gold)
    return number.answers_match(extracted, gold, rel_tol)


def is_correct(text: str, gold: str, answer_type: str = "number", rel_tol: float = 0.0) -> bool:
    """Flexible grading: the answer found by ``extract_answer`` equals ``gold``."""
    return answers_match(extract_answer(text, answer_type), gold, answer_type, rel_tol)


def is_correct_strict(
    text: str, gold: str, answer_type: str = "number", rel_tol: float = 0.0
) -> bool:
    """Strict grading: only an answer given with an explicit marker counts."""
    return answers_match(extract_strict(text, answer_type), gold, answer_type, rel_tol)
