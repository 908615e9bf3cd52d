"""The ``number`` grader: answers that are one number (GSM8K, SVAMP, GSM-Hard).

Answers are compared as exact rationals (``Fraction``): ``1,000`` equals ``1000``, ``0.50`` equals
``1/2`` and ``3/4`` equals ``0.75``; ``-3`` differs from ``3``. With ``rel_tol`` > 0 two numbers
also match when they differ by at most that share of the larger one (GSM-Hard's targets carry
floating-point noise).

A number is read only where it is the whole answer: ``\\boxed{2\\sqrt{3}}``, ``(3, 9)`` and
``3\\pi`` are not the numbers 2, 3 and 3. Such answers are kept as their tidied text, which can
equal only the same text. Numbers are read as models write them: ``\u2212 3`` (U+2212 minus),
thin spaces between digit groups, ``3.2 \\times 10^{6}``, ``3.2 \\cdot 10^6`` and ``3.2e6``.

Flexible reading: the last balanced box, then the answer markers (``markers.py``), then the last
number or fraction in the text. Strict reading: the box, the last ``####`` line, the last "answer
is" (GSM8K's own format and the prompt's). Every step is linear in the text's length.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from delegate.scoring.boxed import last_boxed
from delegate.scoring.grade import GRADERS, Extraction
from delegate.scoring.markers import DEFAULT_MARKERS, answer_phrase, marked_spans

STRICT_MARKERS = ("####", "answer is")
_TAIL = 4000  # characters of a text's end searched first for its last number

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
# Spaces typeset between digit groups (thin, narrow no-break, no-break, figure, hair).
_THIN = "\u2009\u202f\u00a0\u2007\u200a"
_THIN_GROUP_RE = re.compile(rf"(?<=\d)[{_THIN}](?=\d{{3}}(?!\d))")
_THIN_RE = re.compile(rf"[{_THIN}]")
# Scientific notation: 3.2 \times 10^{6}, 3.2 \cdot 10^6, 3.2 × 10^6, 3.2e6. Exponents of up to
# three digits only, so that no answer can ask for a number of a billion digits.
_MANTISSA = r"(?<![\w.])(\d+(?:\.\d+)?)"
_TIMES_TEN_RE = re.compile(
    _MANTISSA
    + r"\s*(?:\\times|\\cdot|×|·|\*)\s*10\s*\^\s*(?:\{\s*([-+]?\d{1,3})\s*\}|([-+]?\d{1,3}))"
)
_E_NOTATION_RE = re.compile(_MANTISSA + r"[eE]([-+]?\d{1,3})(?![\w.])")
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


def _scaled(m: re.Match[str]) -> str:
    exponent = next(g for g in m.groups()[1:] if g is not None)
    return format(Decimal(m.group(1)).scaleb(int(exponent)), "f")


def _clean(s: str) -> str:
    """Text with LaTeX layout, currency and percent signs removed, fractions as a/b, numbers in
    scientific notation written out."""
    s = s.replace("\u2212", "-")
    s = _THIN_RE.sub(" ", _THIN_GROUP_RE.sub("", s))
    s = _E_NOTATION_RE.sub(_scaled, _TIMES_TEN_RE.sub(_scaled, s))
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
    # What comes just before the number decides; a bounded look keeps the search linear.
    if _INSIDE_RE.search(s[max(0, m.start() - 64) : m.start()]) or _GOES_ON_RE.match(s, m.end()):
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
    for _, span in marked_spans(text, STRICT_MARKERS):
        found = _read_span(span)
        if found is not None:
            return found
    return None


def extract(text: str, markers: Sequence[str]) -> Extraction:
    """The flexible reading and its rule: the box, the first of ``markers`` whose span states a
    number (or a non-numeric answer), else the last number (or fraction) in the text."""
    if not text:
        return Extraction(None, "none")
    boxed = last_boxed(text)
    if boxed is not None and boxed.strip():
        return Extraction(normalize(boxed), "boxed")
    for rule, span in marked_spans(text, markers):
        found = _read_span(span)
        if found is not None:
            return Extraction(found, rule)
    last = last_number(text)
    return Extraction(last, "last_number") if last is not None else Extraction(None, "none")


def last_number(text: str) -> str | None:
    """The last number (or fraction) in the text. Cleaning costs a pass per rule, so only the
    end of the text is cleaned: from a space or line break at least ``_TAIL`` characters before
    its last digit (the whole text when there is none, or when the number found starts the
    window and may have been cut)."""
    end = max(text.rfind(digit) for digit in "0123456789")
    if end < 0 and text.isascii():  # no digit at all (other scripts' digits are not ASCII)
        return None
    start = max(0, end - _TAIL)
    if start > 0:
        start = max(text.rfind(" ", 0, start), text.rfind("\n", 0, start)) + 1
    found = deque(_VALUE_RE.finditer(_clean(text[start:])), maxlen=1)
    if start > 0 and (not found or found[0].start() == 0):
        found = deque(_VALUE_RE.finditer(_clean(text)), maxlen=1)
    return _canonical(found[0]) if found else None


def extract_answer(text: str) -> str | None:
    """The flexible reading with the default markers (see ``extract``)."""
    return extract(text, DEFAULT_MARKERS).answer


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


class NumberGrader:
    """The ``number`` answer type; its comparisons are exact arithmetic, cheap enough to run
    anywhere."""

    name = "number"
    slow = False

    def extract(self, text: str, markers: Sequence[str]) -> Extraction:
        return extract(text, markers)

    def extract_strict(self, text: str) -> str | None:
        return extract_strict(text)

    def matches(self, extracted: str | None, gold: str, rel_tol: float) -> bool:
        return answers_match(extracted, gold, rel_tol)


GRADERS.register("number")(NumberGrader())
