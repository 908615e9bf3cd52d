"""Where a solution states its final answer in words or structure: the answer markers.

Markers are data: a list of phrases tried in order, each at its last occurrence in the text. The
default list, :data:`DEFAULT_MARKERS`, is overridden by a prompt set's ``answer_markers``. A
phrase matches case-insensitively, with any run of spaces between its words, and in bold
(``**Answer:**``, ``**Answer**:``, ``**Final Answer**``); the answer is the rest of its line, or
the next non-blank line when the marker ends its line. A marker written ``json:<field>`` reads
that field of a JSON object instead (``{"reasoning": "...", "answer": "\\\\frac{1}{2}"}``), with
JSON's string escapes decoded, so doubled backslashes become LaTeX's single ones.

Every search here is one regular-expression pass without nested repetition, so reading markers
is linear in the text's length; what a marker's span holds is cut at :data:`MAX_SPAN` characters.
"""

from __future__ import annotations

import re
import string
from collections import deque
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Literal

# The order is the trust: a JSON answer field and a "####" line are formats a prompt asked for;
# "answer is" ends most free-form solutions (and "The final answer is" of the Minerva format, so
# it comes before "final answer:"); a bare "Answer:" is the loosest.
DEFAULT_MARKERS: tuple[str, ...] = ("json:answer", "####", "answer is", "final answer:", "answer:")
JSON_PREFIX = "json:"
MAX_SPAN = 2000

# A sentence ends at a period followed by a space or the end (not the point of "3.5"), or a line.
_SENTENCE_END_RE = re.compile(r"\.(?=\s|$)|\n")
# Math delimiters an answer may come wrapped in, longest first so "$$" is not read as "$".
_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_BOLD = r"(?:\*\*|__)?"
# A JSON string (escapes kept, to be decoded) or a bare JSON number.
_JSON_VALUE = r'("(?:[^"\\]|\\.)*+"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)'
# JSON escapes, decoded as JSON does, except \b \f \n \r \t before a letter: there a model wrote
# one backslash of a LaTeX command (\frac, \neq, \theta), which stays as written.
_JSON_ESCAPE_RE = re.compile(r'\\(?:(["\\/])|([bfnrt])(?![A-Za-z])|u([0-9a-fA-F]{4}))')
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_NEXT_LINE_RE = re.compile(r"\s*([^\n]*)")
_JSON_CONTROL = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}

Rule = Literal["marker", "json"]


def check_markers(markers: Sequence[str]) -> tuple[str, ...]:
    """The markers as a tuple of non-empty phrases; ValueError naming the first bad one."""
    out = []
    for marker in markers:
        if not isinstance(marker, str) or not marker.strip():
            raise ValueError(f"an answer marker must be a non-empty string, got {marker!r}")
        if marker.startswith(JSON_PREFIX) and not re.fullmatch(r"\w+", marker[len(JSON_PREFIX) :]):
            raise ValueError(f"a JSON answer marker is json:<field>, got {marker!r}")
        out.append(marker.strip())
    return tuple(out)


@lru_cache(maxsize=256)
def _phrase_re(phrase: str) -> re.Pattern[str]:
    """The phrase's pattern, on ASCII-lowered text, starting at its first word (a bold opening
    before it changes nothing, so it is not matched)."""
    words = phrase.lower().split()
    colon = words[-1].endswith(":") and len(words[-1]) > 1
    if colon:
        words[-1] = words[-1][:-1]
    body = r"[\s*]+".join(re.escape(w) for w in words)
    start = r"(?<![a-z])" if phrase[0].isalpha() else ""
    # After the phrase: its colon (the bold closing before or after it), or, for "Final Answer"
    # written without one, a closing bold; a phrase without a colon takes an optional one.
    tail = rf"{_BOLD}\s*:{_BOLD}|\*\*|__" if colon else rf"{_BOLD}\s*:?{_BOLD}"
    return re.compile(rf"{start}{body}(?:{tail})")


def _last_phrase(phrase: str, lowered: str) -> re.Match[str] | None:
    """The phrase's last occurrence in ``lowered``: candidates are found from the end with
    ``str.rfind`` on its first word (fast, and linear however many there are), each checked with
    the pattern in place."""
    pattern, anchor = _phrase_re(phrase), phrase.lower().split()[0].rstrip(":")
    end = len(lowered)
    while (end := lowered.rfind(anchor, 0, end)) >= 0:
        m = pattern.match(lowered, end)
        if m is not None:
            return m
    return None


@lru_cache(maxsize=64)
def _json_re(field: str) -> re.Pattern[str]:
    return re.compile(rf'"{re.escape(field)}"\s*:\s*{_JSON_VALUE}')


def _rest_of_line(text: str, start: int) -> str:
    """The text after ``start`` up to the end of its line, or the next non-blank line when the
    rest of this one is blank; at most MAX_SPAN characters."""
    end = text.find("\n", start)
    line = text[start : end if end >= 0 else len(text)]
    if line.strip() or end < 0:
        return line[:MAX_SPAN]
    m = _NEXT_LINE_RE.match(text, end)
    return m.group(1)[:MAX_SPAN] if m else ""


def decode_json_string(raw: str) -> str:
    """The text of a JSON string literal's body, escapes decoded (see ``_JSON_ESCAPE_RE``)."""

    def decode(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(1)
        if m.group(2):
            return _JSON_CONTROL[m.group(2)]
        return chr(int(m.group(3), 16))

    return _JSON_ESCAPE_RE.sub(decode, raw)


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    last = deque(pattern.finditer(text), maxlen=1)
    return last[0] if last else None


def json_field(text: str, field: str) -> str | None:
    """The last value of ``field`` in a JSON object in the text, decoded; None if there is none."""
    m = _last(_json_re(field), text)
    if m is None:
        return None
    value = m.group(1)
    return decode_json_string(value[1:-1]) if value.startswith('"') else value


def marked_spans(text: str, markers: Sequence[str] = DEFAULT_MARKERS) -> Iterator[tuple[Rule, str]]:
    """What follows each marker's last occurrence, in the markers' order, with the rule that found
    it (``json`` for a ``json:<field>`` marker, else ``marker``)."""
    lowered = text.translate(_ASCII_LOWER)  # same length, so positions carry over
    for marker in markers:
        if marker.startswith(JSON_PREFIX):
            value = json_field(text, marker[len(JSON_PREFIX) :])
            if value is not None:
                yield "json", value[:MAX_SPAN]
            continue
        m = _last_phrase(marker, lowered)
        if m is not None:
            yield "marker", _rest_of_line(text, m.end())


def answer_phrase(span: str) -> str | None:
    """The answer at the start of a marked span: the content of a leading ``$...$`` (or
    ``\\(...\\)``, ``\\[...\\]``) if there is one, else the span up to the end of its sentence."""
    s = span.replace("**", "").strip().lstrip(":").strip()
    for opening, closing in _DELIMITERS:
        if s.startswith(opening):
            end = s.find(closing, len(opening))
            if end > 0:
                return s[len(opening) : end].strip() or None
    cut = _SENTENCE_END_RE.search(s)
    phrase = (s[: cut.start()] if cut else s).strip()
    return phrase or None
