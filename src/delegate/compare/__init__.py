"""Comparing strategies on identical problems, from the MLflow store alone. Nothing here calls a
model.

``python -m delegate.compare --experiment NAME [--sweep ID] [--out DIR]``. The data flows down:

- ``runs``: the store's finished runs, typed (``RunResult``, its per-sample table read into
  records); the only module here that speaks to MLflow.
- ``table``: the runs grouped by configuration, once; each configuration's pooled numbers.
- ``references``: each configuration against its LLM-only and SLM-only references (paired test,
  oracle, cost-matched random mix, PGR and the bootstrap test against the mix).
- ``families``: the curves the logged answers trace (simulated cascades, router families);
  ``learned``: the cross-fitted learned-router curve of every LLM-only and SLM-only pair.
- ``fixed``: the best fixed model at a routed row's cost; ``attribution`` and ``failures``: where
  each router and cascade problem went wrong, and ``attribution.csv``.
- ``rows``: the typed comparison row, and its flat columns; ``levels``: the same by level and
  by source.
- ``render`` (one cell format for CSV, JSON and Markdown), ``figures`` (``pareto.png``,
  ``by_level.png``) and ``report``, which writes the files.
- ``analysis``: the pure functions beneath (curves, summaries, intervals, the one random mix and
  the one oracle, learned routers); ``curves`` and ``stats`` gather their public names for
  users, and ``learned_router_scores`` is importable from here.
"""

from delegate.compare.analysis.learned import learned_router_scores

__all__ = ["learned_router_scores"]
