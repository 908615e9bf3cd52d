"""Strategies: how a problem is answered.

- ``llm``: the large model answers alone; ``slm``: the small model answers alone (``direct.py``).
- ``router``: the large model may delegate questions to the small model through a tool
  (``router.py``).

Each is registered by the name used in ``strategy.name`` and builds only the models it uses.
"""

from delegate.strategies.base import STRATEGIES, Strategy, ToolCallRecord, Trace

__all__ = ["STRATEGIES", "Strategy", "ToolCallRecord", "Trace"]

# Registration happens on import.
from delegate.strategies import direct, router  # noqa: F401
