"""Tools the large model may call while it answers a question (``router.tools``).

- ``small_model`` (``small_model.py``): a self-contained question for the small model.
- ``calculator`` (``calculator_tool.py``): an arithmetic expression, evaluated exactly by
  ``calculator.py`` at no cost.

Each registers a factory in ``base.TOOLS`` under the name ``router.tools`` lists.
"""

from delegate.tools.base import TOOLS, Tool, ToolCallRecord, ToolContext

__all__ = ["TOOLS", "Tool", "ToolCallRecord", "ToolContext"]

# Registration happens on import.
from delegate.tools import calculator_tool, small_model  # noqa: F401
