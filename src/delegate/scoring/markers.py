"""Where a solution states its final answer: ``\\boxed{...}``, a ``#### x`` line, "the answer is".

Shared by every answer type; each grader decides what to make of the text it finds there.
"""

from __future__ import annotations

import re

_BOX_COMMANDS = ("\\boxed", "\\fbox")
_HASHES_RE = re.compile(r"####\s*([^\n]*)")
_ANSWER_IS_RE = re.compile(r"answer\s+is\s*:?\s*([^\n]*)", re.IGNORECASE)
# A sentence ends at a period followed by a space or the end (not the point of "3.5"), or a line.
_SENTENCE_END_RE = re.compile(r"\.(?=\s|$)|\n")
# Math delimiters an answer may come wrapped in, longest first so "$$" is not read as "$".
_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_INLINE_MATH_RE = re.compile(r"\$([^$]+)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)


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


def marked_spans(text: str) -> list[str]:
    """The rest of the line after the last ``####`` and after the last "answer is", in that
    order of trust (a ``####`` line is a deliberate answer format, "answer is" may be prose)."""
    spans = []
    for pattern in (_HASHES_RE, _ANSWER_IS_RE):
        found = pattern.findall(text)
        if found:
            spans.append(found[-1])
    return spans


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


def last_inline_math(text: str) -> str | None:
    """Content of the last ``$...$``, ``\\(...\\)`` or ``\\[...\\]`` in the text."""
    found = [next(g for g in m.groups() if g is not None) for m in _INLINE_MATH_RE.finditer(text)]
    found = [f.strip() for f in found if f.strip()]
    return found[-1] if found else None
