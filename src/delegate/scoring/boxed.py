"""The last balanced ``\\boxed{...}`` (or ``\\fbox{...}``) of a text, found in linear time.

Every brace of the text is matched once, left to right, with a stack; each box command is then
checked against that table in constant time. Trying each box from the last one and scanning
forward for its closing brace (the obvious way) is quadratic in the number of unclosed boxes: an
answer of 100,000 ``\\boxed{`` would take hours.
"""

from __future__ import annotations

import re
from functools import lru_cache

_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BRACE_RE = re.compile(r"[{}]")


def _closing_braces(text: str) -> dict[int, int]:
    """The position of each ``{`` that is closed, mapped to the position of its ``}``."""
    closing: dict[int, int] = {}
    opened: list[int] = []
    for m in _BRACE_RE.finditer(text):
        if m.group() == "{":
            opened.append(m.start())
        elif opened:
            closing[opened.pop()] = m.start()
    return closing


@lru_cache(maxsize=4)  # both readings of one text (flexible and strict) look for its box
def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` whose braces balance, nested braces included."""
    starts = [m.end() - 1 for m in _BOX_RE.finditer(text)]  # each box's opening brace
    if not starts:
        return None
    closing = _closing_braces(text[starts[0] :])
    for start in reversed(starts):
        end = closing.get(start - starts[0])
        if end is not None:
            return text[start + 1 : starts[0] + end]
    return None


def unboxed(answer: str) -> str:
    """An answer without the box it may come wrapped in (``\\boxed{3}`` is ``3``)."""
    inner = last_boxed(answer)
    return inner if inner is not None and inner.strip() else answer
