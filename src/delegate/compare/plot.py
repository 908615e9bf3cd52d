"""Kept for old imports: ``frontier`` lives in ``delegate.compare.analysis.summaries`` now, and
``pareto`` in ``delegate.compare.figures``, where its rows are the typed comparison rows
(``rows.ComparisonRow``) rather than their dicts.
"""

from __future__ import annotations

from delegate.compare.analysis.summaries import frontier
from delegate.compare.figures import pareto

__all__ = ["frontier", "pareto"]
