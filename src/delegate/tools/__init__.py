"""Tools the large model may call while it answers a question (``router.tools``).

- ``small_model`` (``small_model.py``): a self-contained question for the small model.
- ``calculator`` (``calculator_tool.py``): an arithmetic expression, evaluated exactly by
  ``calculator.py`` at no cost.

``base.TOOLS`` maps each name ``router.tools`` lists to its module's ``build`` factory, imported
when a run first offers the tool.
"""

from delegate.tools.base import TOOLS, Tool, ToolCallRecord, ToolContext

__all__ = ["TOOLS", "Tool", "ToolCallRecord", "ToolContext"]
