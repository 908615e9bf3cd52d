"""The ``latex`` grader: answers that are LaTeX expressions, intervals, tuples or words (MATH-500).

Flexible reading: the last balanced box, then the answer markers (``markers.py``; a marked span's
answer is its leading ``$...$`` or its first sentence, a JSON field's is its whole value), then
the last inline math, then the last number. Strict reading: a box only.

Equivalence is decided by Hugging Face's ``math-verify`` on the extracted text and the gold
answer (``\\frac{14}{3}`` = ``14/3``, ``3\\sqrt{13}`` = ``\\sqrt{117}``, ``6+9i`` = ``9i+6``,
``90^\\circ`` = ``90``; ``(-2,7)`` != ``[-2,7]``). Percent signs are dropped on both sides first,
as the number grader does. An answer (or gold) longer than ``MAX_ANSWER_CHARS`` (1,000 characters;
MATH-500's longest gold is far shorter) is not equivalent without calling math-verify, whose
parse of a long text can run to the time limit: the check raises :class:`AnswerTooLong`, and the
grade records why (``Grade.error``).

math-verify bounds its work with ``SIGALRM`` timers, which only the main thread may set: on the
main thread (the grading pool's workers, a script) its own timeouts apply, and one that fires is
reported as :class:`GradingTimeout`; on any other thread the check runs in a daemon thread that is
given up after the same time. Neither can stop sympy inside one long C call (``10^{10^{10}}``):
only the pool's time limit, which kills the worker process, can (``pool.py``).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from delegate.scoring.boxed import last_boxed, unboxed
from delegate.scoring.grade import GRADERS, Extraction, NotChecked
from delegate.scoring.inline_math import last_inline_math, without_delimiters
from delegate.scoring.markers import DEFAULT_MARKERS, answer_phrase, marked_spans

log = logging.getLogger(__name__)

TIMEOUT_S = 5  # per parse and per comparison, as math-verify's own default
MAX_ANSWER_CHARS = 1_000  # longer answers are not equivalent, and math-verify is not called
# The last-number fallback also reads a bare LaTeX fraction of numbers ("-\frac{10}{9}").
_NUMBER_RE = re.compile(
    r"-?\\[dtc]?frac\{\s*\d+\s*\}\{\s*\d+\s*\}|-?\d[\d,]*(?:\.\d+)?(?:\s*/\s*\d+)?"
)
# "The volume of $V$ is 120" after a marker states 120.
_STATED_RE = re.compile(r"\s(?:is|equals)\s+(?=\S)")
_PERCENT_RE = re.compile(r"\\?%")


class GradingTimeout(NotChecked):
    """A check ran past its time limit."""


class AnswerTooLong(NotChecked):
    """An answer (or gold) over ``MAX_ANSWER_CHARS``: not equivalent, not given to math-verify."""


class _TimeoutNotices(logging.Filter):
    """Drops math-verify's notice that its timeout is off (off the main thread, ours is on), and
    counts, per thread, the timeouts it reports, so that a check can tell it was cut off."""

    seen = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Timeout during"):
            self.seen.count = getattr(self.seen, "count", 0) + 1
        return "Timeout is disabled" not in message


def _timeouts() -> int:
    return int(getattr(_TimeoutNotices.seen, "count", 0))


def _math_verify() -> Any:
    import math_verify

    for name in ("math_verify.parser", "math_verify.grader"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _TimeoutNotices) for f in logger.filters):
            logger.addFilter(_TimeoutNotices())
    return math_verify


def extract_strict(text: str) -> str | None:
    """The content of the last ``\\boxed{}``, or None: the only explicit marker counted."""
    boxed = last_boxed(text) if text else None
    return boxed.strip() if boxed is not None and boxed.strip() else None


def _json_answer(value: str) -> str | None:
    """A JSON answer field's LaTeX: without a box or math delimiters around it."""
    answer = without_delimiters(unboxed(without_delimiters(value)))
    return answer or None


def _stated(phrase: str | None) -> str | None:
    """What a marked sentence states: the part after its last "is" (or "equals"), without math
    delimiters, when it has one ("The final answer is $5$", "The volume of $V$ is 120")."""
    if phrase is None:
        return None
    cut = deque(_STATED_RE.finditer(phrase), maxlen=1)
    answer = without_delimiters(phrase[cut[0].end() :]) if cut else phrase
    return answer or None


def extract(text: str, markers: Sequence[str]) -> Extraction:
    """The flexible reading and the rule that found it (see the module's docstring)."""
    strict = extract_strict(text)
    if strict is not None:
        return Extraction(strict, "boxed")
    if not text:
        return Extraction(None, "none")
    for rule, span in marked_spans(text, markers):
        answer = _json_answer(span) if rule == "json" else _stated(answer_phrase(span))
        if answer is not None:
            return Extraction(answer, rule)
    math = last_inline_math(text)
    if math is not None:
        return Extraction(math, "last_math")
    numbers = _NUMBER_RE.findall(text)
    return Extraction(numbers[-1].strip(), "last_number") if numbers else Extraction(None, "none")


def extract_answer(text: str) -> str | None:
    """The flexible reading with the default markers (see ``extract``)."""
    return extract(text, DEFAULT_MARKERS).answer


def answers_match(extracted: str | None, gold: str) -> bool:
    """Whether an extracted answer is mathematically equivalent to the gold answer; a check cut
    off by its time limit counts as not equivalent."""
    try:
        return check(extracted, gold)
    except NotChecked as e:
        log.warning("%s", e)
        return False


def check(extracted: str | None, gold: str) -> bool:
    """``answers_match``, raising GradingTimeout when the check was cut off and AnswerTooLong
    (at once) when either side is over ``MAX_ANSWER_CHARS``."""
    if extracted is None or not extracted.strip():
        return False
    longest = max(len(extracted), len(gold))
    if longest > MAX_ANSWER_CHARS:
        raise AnswerTooLong(
            f"an answer of {longest:,} characters is over the {MAX_ANSWER_CHARS:,} compared: "
            "not equivalent (math-verify not run)"
        )
    if threading.current_thread() is threading.main_thread():
        return _equivalent(gold, extracted, TIMEOUT_S)
    return _equivalent_in_daemon(gold, extracted)


def _equivalent_in_daemon(gold: str, answer: str) -> bool:
    result: list[bool] = []
    worker = threading.Thread(
        target=lambda: result.append(_equivalent(gold, answer, None)),
        name="latex-grader",
        daemon=True,  # a check that never ends must not keep the process alive
    )
    worker.start()
    worker.join(3 * TIMEOUT_S)  # two parses and one comparison
    if not result:
        raise GradingTimeout(
            f"gave up comparing {answer[:80]!r} with gold {gold[:80]!r} after {3 * TIMEOUT_S} s"
        )
    return result[0]


def _equivalent(gold: str, answer: str, timeout_s: int | None) -> bool:
    verify = _math_verify().verify
    before = _timeouts()
    same = bool(
        verify(_parse(gold, timeout_s), _parse(answer, timeout_s), timeout_seconds=timeout_s)
    )
    if not same and _timeouts() != before:
        raise GradingTimeout(f"math-verify timed out ({timeout_s} s) on {answer[:80]!r}")
    return same


def _tidy(answer: str) -> str:
    return _PERCENT_RE.sub("", without_delimiters(answer)).replace("\u2212", "-").strip()


@lru_cache(maxsize=4096)
def _parse(answer: str, timeout_s: int | None) -> list[Any]:
    """math-verify's reading of one answer, as the content of a box (gold answers repeat)."""
    mv = _math_verify()
    config = mv.LatexExtractionConfig(boxed_match_priority=0)
    parsed: list[Any] = mv.parse(
        "\\boxed{" + _tidy(answer) + "}", extraction_config=[config], parsing_timeout=timeout_s
    )
    return parsed


class LatexGrader:
    """The ``latex`` answer type; its comparisons are symbolic and may be slow, so they run in
    the grading pool's processes."""

    name = "latex"
    slow = True

    def extract(self, text: str, markers: Sequence[str]) -> Extraction:
        return extract(text, markers)

    def extract_strict(self, text: str) -> str | None:
        return extract_strict(text)

    def matches(self, extracted: str | None, gold: str, rel_tol: float) -> bool:
        return check(extracted, gold)


GRADERS.register("latex")(LatexGrader())
