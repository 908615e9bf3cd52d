"""The ``latex`` grader: answers that are LaTeX expressions, intervals, tuples or words (MATH-500).

Extraction finds the final answer's text; equivalence is decided by Hugging Face's ``math-verify``
on that text and the gold answer (``\\frac{14}{3}`` = ``14/3``, ``3\\sqrt{13}`` = ``\\sqrt{117}``,
``6+9i`` = ``9i+6``, ``90^\\circ`` = ``90``; ``(-2,7)`` != ``[-2,7]``). Percent signs are dropped
on both sides first, as the number grader does.

math-verify bounds its work with ``SIGALRM`` timers, which only the main thread may set. On the
main thread (where the runner grades) its own timeouts apply; on any other thread the check runs
in a daemon thread that is given up after the same time, and counts as not equal.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache
from typing import Any

from delegate.scoring.markers import answer_phrase, last_boxed, last_inline_math, marked_spans

log = logging.getLogger(__name__)

TIMEOUT_S = 5  # per parse and per comparison, as math-verify's own default
_NUMBER_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:\s*/\s*\d+)?")
_PERCENT_RE = re.compile(r"\\?%")


class _QuietTimeoutNotice(logging.Filter):
    """Drops math-verify's notice that its timeout is off: off the main thread, ours is on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Timeout is disabled" not in record.getMessage()


def _math_verify() -> Any:
    import math_verify

    for name in ("math_verify.parser", "math_verify.grader"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _QuietTimeoutNotice) for f in logger.filters):
            logger.addFilter(_QuietTimeoutNotice())
    return math_verify


def extract_strict(text: str) -> str | None:
    """The content of the last ``\\boxed{}``, or None: the only explicit marker counted."""
    boxed = last_boxed(text) if text else None
    return boxed.strip() if boxed is not None and boxed.strip() else None


def extract_answer(text: str) -> str | None:
    """The boxed answer, else the one after ``####`` or "the answer is", else the last inline
    math (``$...$``), else the last number in the text."""
    strict = extract_strict(text)
    if strict is not None or not text:
        return strict
    for span in marked_spans(text):
        phrase = answer_phrase(span)
        if phrase is not None:
            return phrase
    math = last_inline_math(text)
    if math is not None:
        return math
    numbers = _NUMBER_RE.findall(text)
    return numbers[-1].strip() if numbers else None


def answers_match(extracted: str | None, gold: str) -> bool:
    """Whether an extracted answer is mathematically equivalent to the gold answer."""
    if extracted is None or not extracted.strip():
        return False
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
        log.warning("gave up comparing %r with gold %r after %d s", answer, gold, 3 * TIMEOUT_S)
        return False
    return result[0]


def _equivalent(gold: str, answer: str, timeout_s: int | None) -> bool:
    verify = _math_verify().verify
    return bool(
        verify(_parse(gold, timeout_s), _parse(answer, timeout_s), timeout_seconds=timeout_s)
    )


@lru_cache(maxsize=4096)
def _parse(answer: str, timeout_s: int | None) -> list[Any]:
    """math-verify's reading of one answer, as the content of a box (gold answers repeat)."""
    mv = _math_verify()
    config = mv.LatexExtractionConfig(boxed_match_priority=0)
    tidy = _PERCENT_RE.sub("", answer).strip()
    parsed: list[Any] = mv.parse(
        "\\boxed{" + tidy + "}", extraction_config=[config], parsing_timeout=timeout_s
    )
    return parsed
