"""Kept for old imports: where delegation fails, one category per router or cascade problem.

The categories and ``attribute`` live in ``delegate.attribution`` now, outside the report package,
so that a run (which records each problem's category) does not load the report.
"""

from __future__ import annotations

from delegate.attribution import CASCADE_CATEGORIES, CATEGORIES, ROUTER_CATEGORIES, attribute

__all__ = ["CASCADE_CATEGORIES", "CATEGORIES", "ROUTER_CATEGORIES", "attribute"]
