"""Kept for old imports: the curve families live in ``delegate.compare.families`` now, and a
table cell read back as text in ``delegate.record_cells``.

``answer_text`` is ``record_cells.as_text``. ``Curve`` and ``sample_family`` are
``families.Curve`` and ``families.sample_family``; a curve's ``members`` are typed
(``families.Member``) where they were dicts.
"""

from __future__ import annotations

from delegate.compare.families import Curve, sample_family
from delegate.record_cells import as_text as answer_text

__all__ = ["Curve", "answer_text", "sample_family"]
