"""Kept for old imports: the comparison by level and by source lives in
``delegate.compare.levels`` now.

``by_group`` changed its arguments: it takes the typed comparison rows (``ComparisonRow``) and
the configurations (``Configuration``, each holding its pooled records), where it took the row
dicts and the ``RunResult`` list; ``report.build(loaded)`` gives both (``.rows`` and
``.configs.values()``). A ``RunResult`` (``compare.runs``) holds its per-sample table as typed
``records`` (``ProblemRecord``), where it held row dicts as ``problems``. ``LEVEL_COLUMNS`` ends
with an ``attribution`` column now. The files are written by ``report.write_report`` and the
figure is drawn by ``figures.by_level``.
"""

from __future__ import annotations

from delegate.compare.levels import FIGURES, LEVEL_COLUMNS, SOURCE_COLUMNS, by_group

__all__ = ["FIGURES", "LEVEL_COLUMNS", "SOURCE_COLUMNS", "by_group"]
