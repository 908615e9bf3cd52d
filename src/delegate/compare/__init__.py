"""Comparing strategies on identical problems, from the MLflow store alone.

``python -m delegate.compare --experiment NAME [--sweep ID] [--out DIR]`` reads the finished runs
(``runs``), aggregates each configuration over its seeds, compares it with the LLM-only
configuration on the problems both solved (``stats``: intervals, McNemar's paired test), adds the
oracle and random-mix baselines from the per-sample tables (``report``) and draws the
cost-accuracy picture (``plot``); ``by_level`` gives accuracy, hand-overs and cost by level and
by source. ``curves`` works on any per-problem table: routing and cascade curves, their APGR, CPT
and AIQ, and a bootstrap test against the random mix; ``curve_report`` applies them to the
report's runs (``curves.csv``, per-row PGR). Nothing here calls a model.
"""
