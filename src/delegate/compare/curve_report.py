"""Kept for old imports: what this module held lives in ``delegate.compare.render`` (the
``curves.csv`` columns), ``delegate.compare.rows`` (a row's curve and best-fixed columns),
``delegate.compare.references`` (the bootstrap's settings) and ``delegate.compare.report``
(``annotate``).

``CURVE_CSV_COLUMNS`` ends with the learned router's columns now, and ``ROW_COLUMNS`` with the
best fixed model's.
"""

from __future__ import annotations

from delegate.compare.references import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED
from delegate.compare.render import CURVE_CSV_COLUMNS
from delegate.compare.report import annotate
from delegate.compare.rows import CURVES_KEY, ROW_COLUMNS

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "CURVES_KEY",
    "CURVE_CSV_COLUMNS",
    "ROW_COLUMNS",
    "annotate",
]
