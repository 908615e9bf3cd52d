"""Strategies: how a problem is answered.

- ``llm``: the large model answers alone; ``slm``: the small model answers alone (``direct.py``).
- ``router``: the large model may call tools: the small model, a calculator (``router.py``).
- ``cascade``: the small model answers first, several times; the large model answers the problems
  where those answers disagree (``cascade.py``).
- ``learned_router``: a classifier trained on earlier LLM-only and SLM-only runs sends each
  problem to one of the two before any model is called (``learned_router.py``).

Each is registered by the name used in ``strategy.name`` and builds only the models it uses.
"""

from delegate.strategies.base import STRATEGIES, Strategy, ToolCallRecord, Trace

__all__ = ["STRATEGIES", "Strategy", "ToolCallRecord", "Trace"]

# Registration happens on import.
from delegate.strategies import cascade, direct, learned_router, router  # noqa: F401
