"""Answer extraction and grading for numeric word problems.

Two extractors, both reported (as ``accuracy_strict`` and ``accuracy``):

- strict: only an explicit answer marker counts: the last balanced ``\\boxed{...}``, then the last
  ``#### x`` line, then the last "the answer is x";
- flexible: the strict markers, then the last number in the text.

Answers are compared as exact rationals (``Fraction``): ``1,000`` equals ``1000``, ``0.50`` equals
``1/2``, and ``-3`` differs from ``3``. Answers that are not numbers fall back to comparing their
normalised text.
"""

from __future__ import annotations

import re
from fractions import Fraction

_BOX_COMMANDS = ("\\boxed", "\\fbox")
# A number as people write it: optional sign (not a binary minus as in "5-3"), digit groups with
# thousands commas or plain digits, optional decimals.
_NUMBER = r"(?:(?<![\w.)}])-\s?)?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|(?<![\w.])\.\d+"
_NUMBER_RE = re.compile(_NUMBER)
_FRACTION_RE = re.compile(rf"^({_NUMBER})\s*/\s*({_NUMBER})$")
_HASHES_RE = re.compile(r"####\s*([^\n]*)")
_ANSWER_IS_RE = re.compile(r"answer\s+is\s*:?\s*([^\n]*)", re.IGNORECASE)
_LATEX_FRAC_RE = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_TEXT_RE = re.compile(r"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}")


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` whose braces balance, nested braces included."""
    starts = sorted(
        (m.start(), len(cmd)) for cmd in _BOX_COMMANDS for m in re.finditer(re.escape(cmd), text)
    )
    for start, length in reversed(starts):
        i = start + length
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text) or text[i] != "{":
            continue
        depth = 0
        for j in range(i, len(text)):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    return text[i + 1 : j]
    return None


def _clean_latex(s: str) -> str:
    s = _TEXT_RE.sub(r" \1 ", s)
    s = _LATEX_FRAC_RE.sub(r"(\1)/(\2)", s)
    for token in ("\\left", "\\right", "\\!", "\\,", "\\;", "\\ ", "^\\circ", "^{\\circ}", "\\%"):
        s = s.replace(token, " ")
    return s.replace("\\$", "$").replace("$", " ").replace("%", " ")


def normalize(answer: str) -> str:
    """Canonical text of an answer: the number it states if it states one, else tidied text."""
    s = _clean_latex(answer).strip()
    frac = _FRACTION_RE.match(s.replace("(", "").replace(")", "").strip())
    if frac:
        return f"{_plain(frac.group(1))}/{_plain(frac.group(2))}"
    m = _NUMBER_RE.search(s)
    if m:
        return _plain(m.group(0))
    return " ".join(s.rstrip(".").split()).lower()


def _plain(number: str) -> str:
    return number.replace(",", "").replace(" ", "")


def to_number(answer: str) -> Fraction | None:
    """The exact value of a normalised answer, or None when it is not a number."""
    try:
        if "/" in answer:
            num, den = answer.split("/", 1)
            return Fraction(num) / Fraction(den)
        return Fraction(answer)
    except (ValueError, ZeroDivisionError):
        return None


def _first_number(span: str) -> str | None:
    boxed = last_boxed(span)
    if boxed is not None:
        return normalize(boxed)
    m = _NUMBER_RE.search(_clean_latex(span))
    return _plain(m.group(0)) if m else None


def extract_strict(text: str) -> str | None:
    """The answer stated with an explicit marker (boxed, ``####``, "the answer is"), or None."""
    if not text:
        return None
    boxed = last_boxed(text)
    if boxed is not None and boxed.strip():
        return normalize(boxed)
    for pattern in (_HASHES_RE, _ANSWER_IS_RE):
        matches = pattern.findall(text)
        if matches:
            found = _first_number(matches[-1])
            if found is not None:
                return found
    return None


def extract_answer(text: str) -> str | None:
    """The strict answer if there is one, else the last number in the text, else None."""
    strict = extract_strict(text)
    if strict is not None or not text:
        return strict
    numbers = _NUMBER_RE.findall(_clean_latex(text))
    return _plain(numbers[-1]) if numbers else None


def answers_match(extracted: str | None, gold: str) -> bool:
    """Whether an extracted answer equals the gold answer (numerically when both are numbers)."""
    if extracted is None:
        return False
    want = normalize(gold)
    got_value, want_value = to_number(extracted), to_number(want)
    if got_value is not None and want_value is not None:
        return got_value == want_value
    return extracted == want


def is_correct(text: str, gold: str) -> bool:
    """Flexible grading: the answer found by ``extract_answer`` equals ``gold``."""
    return answers_match(extract_answer(text), gold)


def is_correct_strict(text: str, gold: str) -> bool:
    """Strict grading: only an answer given with an explicit marker counts."""
    return answers_match(extract_strict(text), gold)
