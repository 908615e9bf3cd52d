"""The last inline math of a text (``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]``), found in
one pass: delimiters are paired left to right as they come, so an answer full of unclosed
``\\(`` costs one scan, not one scan per opener as a lazy regular expression would."""

from __future__ import annotations

import re

# An escaped dollar (\$, currency in LaTeX) is text, not a delimiter.
_TOKEN_RE = re.compile(r"(?<!\\)\$\$|(?<!\\)\$|\\\(|\\\)|\\\[|\\\]")
_CLOSER = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}


def last_inline_math(text: str) -> str | None:
    """Content of the last ``$...$``, ``$$...$$``, ``\\(...\\)`` or ``\\[...\\]`` in the text."""
    opened: str | None = None
    start = 0
    last: str | None = None
    for m in _TOKEN_RE.finditer(text):
        token = m.group()
        if opened is None:
            if token in _CLOSER:
                opened, start = token, m.end()
        elif token == _CLOSER[opened]:
            content = text[start : m.start()].strip()
            last = content or last
            opened = None
    return last


def without_delimiters(answer: str) -> str:
    """An answer without the one pair of math delimiters it may be wrapped in (``$9$`` is ``9``),
    and without a final period after them."""
    s = answer.strip().rstrip(".").rstrip()
    for opening in ("$$", "$", "\\(", "\\["):
        closing = _CLOSER[opening]
        if len(s) >= len(opening) + len(closing) and s.startswith(opening) and s.endswith(closing):
            return s[len(opening) : len(s) - len(closing)].strip()
    return answer.strip()
