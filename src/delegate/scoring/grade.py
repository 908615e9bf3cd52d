"""What grading one answer yields (:class:`Grade`), the protocol every grader follows, and the
registry of graders by answer type (``number``, ``latex``; ``code`` joins the same way).

A grader reads the answer out of a model's text (flexibly: the last balanced ``\\boxed{}``, then
the answer markers, then its own fallback; strictly: the prompt's own marker only) and compares an
answer with the gold. :func:`grade` runs both readings and both comparisons in one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from delegate.registry import Registry

if TYPE_CHECKING:
    from delegate.execution import ExecutionResult

# ``fence`` and ``reply`` are the code grader's: a fenced block, or a whole reply that is code.
ExtractedBy = Literal[
    "boxed", "marker", "json", "last_math", "last_number", "fence", "reply", "none"
]
EXTRACTED_BY: tuple[ExtractedBy, ...] = (
    "boxed",
    "marker",
    "json",
    "last_math",
    "last_number",
    "fence",
    "reply",
    "none",
)


class NotChecked(Exception):
    """A check that did not run to its end (cut off at its time limit, an answer too long to
    compare, a blocking check asked for on the event loop): it counts as wrong, with this as
    its reason."""


@dataclass(frozen=True)
class Extraction:
    """An answer read out of a text, and the rule that found it (``none``: no answer)."""

    answer: str | None
    by: ExtractedBy


@dataclass(frozen=True)
class Grade:
    """One answer graded: the flexible and strict readings, whether each equals the gold, the
    rule the flexible reading came from, and why the check was cut off (None when it was not;
    a check cut off counts as wrong)."""

    extracted: str | None
    extracted_strict: str | None
    correct: bool
    correct_strict: bool
    extracted_by: ExtractedBy
    error: str | None = None
    execution: ExecutionResult | None = None  # a code answer's run against its tests


class Grader(Protocol):
    """How one answer type reads and compares answers.

    ``slow`` says whether a comparison may take long (symbolic algebra): such checks run in the
    grading pool's processes, under its time limit; cheap ones run where they are asked for.
    """

    name: str
    slow: bool

    def extract(self, text: str, markers: Sequence[str]) -> Extraction:
        """The flexible reading: boxed, then ``markers`` in order, then the grader's fallback."""
        ...

    def extract_strict(self, text: str) -> str | None:
        """The answer given with the prompt's own marker, or None."""
        ...

    def matches(self, extracted: str | None, gold: str, rel_tol: float) -> bool:
        """Whether an extracted answer (or another sample's) equals ``gold``."""
        ...


GRADERS: Registry[Grader] = Registry("answer type", "dataset.answer_type")


def grader(answer_type: str) -> Grader:
    """The grader of ``answer_type``; ConfigError naming the known types otherwise."""
    return GRADERS.get(answer_type)
