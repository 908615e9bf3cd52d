"""The ``number`` grader: answers that are one number (GSM8K, SVAMP, GSM-Hard).

Answers are compared as exact rationals (``Fraction``): ``1,000`` equals ``1000``, ``0.50`` equals
``1/2`` and ``3/4`` equals ``0.75``; ``-3`` differs from ``3``. With ``rel_tol`` > 0 two numbers
also match when they differ by at most that share of the larger one (GSM-Hard's targets carry
floating-point noise).

A number is read only where it is the whole answer: ``\\boxed{2\\sqrt{3}}``, ``(3, 9)`` and
``3\\pi`` are not the numbers 2, 3 and 3. Such answers are kept as their tidied text, which can
equal only the same text.
"""

from __future__ import annotations

import re
from fractions import Fraction

from delegate.scoring.markers import answer_phrase, last_boxed, marked_spans

# A number as people write it: optional sign (not a binary minus as in "5-3"), digit groups with
# thousands commas or plain digits, optional decimals.
_NUMBER = r"(?:(?<![\w.)}])-\s?)?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|(?<![\w.])\.\d+"
# A number, or a fraction of two.
_VALUE = rf"(?P<num>{_NUMBER})(?:\s*/\s*(?P<den>{_NUMBER}))?"
_VALUE_RE = re.compile(_VALUE)
# A whole answer stating one number: "x = 5", "1,250.50", "3/4", "18 dollars", "12 cm^2".
_WHOLE_RE = re.compile(
    rf"(?:[A-Za-z]\w*\s*=\s*)?{_VALUE}(?:\s+[A-Za-z]+\.?(?:\s*\^\{{?\d\}}?)?)*\.?"
)
# What, right after a number, makes it part of an expression rather than the answer: a letter or
# command attached (3x, 3\pi, 2^3, 2(1)), a command after a space (2 \sqrt{3}), an operator that
# goes on (6 + 9i), a list (3, 9). "36 = 3 x 12" restates 36, so "=" does not count.
_GOES_ON_RE = re.compile(
    r"[^\W\d_]|[\\^_{(\[]|\s*\\[A-Za-z]|\s*(?:[-+*/^×·])\s*[\w\\(]|\s*,\s*-?\d"
)
# What, right before a number, makes it part of an expression: an opening bracket, a list, an
# operator other than "=" ("x = 5" states 5), or a command (\sqrt 2).
_INSIDE_RE = re.compile(r"(?:[(\[{,+*/^_|<>]|\\[A-Za-z]+)\s*$")
_LATEX_FRAC_RE = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_TEXT_RE = re.compile(r"\\(?:text|textbf|textrm|mathrm|mbox)\s*\{([^{}]*)\}")
# LaTeX thousands separators: 32,\!348 and 1\,000.
_LATEX_GROUP_RE = re.compile(r"(?<=\d)(?:\{,\}|,?\\[,!]\s?)(?=\d{3})")
_PARENS_RE = re.compile(rf"\(\s*({_NUMBER})\s*\)")
_SPACING = (
    "\\left",
    "\\right",
    "\\!",
    "\\,",
    "\\;",
    "\\:",
    "\\ ",
    "\\quad",
    "\\qquad",
    "^\\circ",
    "^{\\circ}",
    "\\%",
    "\\(",
    "\\)",
    "\\[",
    "\\]",
    "**",
)


def _clean(s: str) -> str:
    """Text with LaTeX layout, currency and percent signs removed, fractions as a/b."""
    s = _TEXT_RE.sub(r" \1 ", s)
    s = _LATEX_FRAC_RE.sub(r"(\1)/(\2)", s)
    s = _LATEX_GROUP_RE.sub(lambda m: "," if "," in m.group(0) else "", s)
    for token in _SPACING:
        s = s.replace(token, " ")
    s = s.replace("\\$", "$").replace("$", " ").replace("%", " ")
    return _PARENS_RE.sub(r" \1 ", s)


def _plain(number: str) -> str:
    return number.replace(",", "").replace(" ", "")


def _canonical(m: re.Match[str]) -> str:
    num = _plain(m.group("num"))
    return f"{num}/{_plain(m.group('den'))}" if m.group("den") else num


def _as_text(s: str) -> str:
    """Canonical text of a non-numeric answer: no spaces, lower case, no final period."""
    return "".join(s.split()).rstrip(".").lower()


def normalize(answer: str) -> str:
    """Canonical text of an answer: its number if the whole answer is one number, else its text."""
    s = _clean(answer).strip()
    whole = _WHOLE_RE.fullmatch(s)
    return _canonical(whole) if whole else _as_text(s)


def to_number(answer: str) -> Fraction | None:
    """The exact value of a normalised answer, or None when it is not a number."""
    try:
        if "/" in answer:
            num, den = answer.split("/", 1)
            return Fraction(num) / Fraction(den)
        return Fraction(answer)
    except (ValueError, ZeroDivisionError):
        return None


def _read_span(span: str) -> str | None:
    """The answer stated after a marker: its first number unless that number is part of an
    expression (then the phrase's text), None when the span holds no number at all."""
    boxed = last_boxed(span)
    if boxed is not None and boxed.strip():
        return normalize(boxed)
    s = _clean(span)
    m = _VALUE_RE.search(s)
    if m is None:
        return None
    if _INSIDE_RE.search(s[: m.start()]) or _GOES_ON_RE.match(s[m.end() :]):
        phrase = answer_phrase(s)
        return _as_text(phrase) if phrase else None
    return _canonical(m)


def extract_strict(text: str) -> str | None:
    """The answer stated with an explicit marker (boxed, ``####``, "the answer is"), or None."""
    if not text:
        return None
    boxed = last_boxed(text)
    if boxed is not None and boxed.strip():
        return normalize(boxed)
    for span in marked_spans(text):
        found = _read_span(span)
        if found is not None:
            return found
    return None


def extract_answer(text: str) -> str | None:
    """The strict answer if there is one, else the last number (or fraction) in the text."""
    strict = extract_strict(text)
    if strict is not None or not text:
        return strict
    values = list(_VALUE_RE.finditer(_clean(text)))
    return _canonical(values[-1]) if values else None


def answers_match(extracted: str | None, gold: str, rel_tol: float = 0.0) -> bool:
    """Whether an extracted answer equals the gold answer (numerically when both are numbers)."""
    if extracted is None:
        return False
    want = normalize(gold)
    got_value, want_value = to_number(extracted), to_number(want)
    if got_value is not None and want_value is not None:
        if rel_tol > 0:
            return abs(got_value - want_value) <= Fraction(rel_tol) * max(
                abs(got_value), abs(want_value)
            )
        return got_value == want_value
    return extracted == want
