"""Comparing strategies on identical problems, from the MLflow store alone.

``python -m delegate.compare --experiment NAME [--sweep ID] [--out DIR]`` reads the finished runs
(``runs``), aggregates each configuration over its seeds, compares it with the LLM-only
configuration on the problems both solved (``stats``: intervals, McNemar's paired test), adds the
oracle and random-mix baselines from the per-sample tables (``report``) and draws the
cost-accuracy picture (``plot``). Nothing here calls a model.
"""
