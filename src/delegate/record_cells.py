"""The per-sample table's columns, what each holds, and how one cell is read back.

``records.ProblemRecord.from_row`` reads every row through here. A cell comes back from JSON as it
was written, but from MLflow's ``load_table`` (pandas reading the table's JSON) numeric-looking
text comes back as a number (gold "42" as 42, an answer "3.5" as 3.5), numbers as numpy scalars,
and a cell that was None, or a column another run's table lacked, as NaN or None. ``read_cell``
undoes each of those by the column's kind, and turns every missing cell into None, which the
record then replaces with the column's "not measured" value (``NOT_MEASURED``).
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

Kind = Literal["text", "int", "float", "bool", "json_list"]

COLUMN_KINDS: dict[str, Kind] = {
    "problem_id": "int",
    "question": "text",
    "gold": "text",
    "final_text": "text",
    "extracted": "text",
    "extracted_strict": "text",
    "correct": "bool",
    "correct_strict": "bool",
    "latency_s": "float",
    "llm_latency_s": "float",
    "slm_latency_s": "float",
    "llm_calls": "int",
    "llm_input_tokens": "int",
    "llm_cached_tokens": "int",
    "llm_output_tokens": "int",
    "slm_input_tokens": "int",
    "slm_output_tokens": "int",
    "llm_cost_usd": "float",
    "slm_cost_usd": "float",
    "cost_usd": "float",
    "billed_usd": "float",
    "cache_hits": "int",
    "tool_calls": "int",
    "tool_call_log": "json_list",
    "error": "text",
    "notes": "text",
    "finish_reasons": "text",
    "truncated": "bool",
    "source": "text",
    "level": "int",
    "subject": "text",
    "answer_type": "text",
    "rel_tol": "float",
    "slm_tool_calls": "int",
    "calculator_calls": "int",
    "tool_errors": "int",
    "slm_failures": "int",
    "slm_answers": "json_list",
    "slm_answer": "text",
    "confidence": "float",
    "escalated": "bool",
    "slm_calls": "int",
    "slm_cached_tokens": "int",
    "extracted_by": "text",
    "grade_error": "text",
    "code_outcome": "text",
    "code_message": "text",
    "code_duration_s": "float",
    "attribution": "text",
}

# Columns every row has had since the first version: without them a row is no record.
REQUIRED = ("problem_id", "question", "gold", "final_text", "correct", "correct_strict")

# What a column a row lacks stands for: it was not measured then (zero, empty or unknown). Not
# listed: columns whose "not measured" is None (``extracted``, ``level``, ``confidence``, ...),
# and ``billed_usd`` and ``slm_tool_calls``, which default to other columns (see ``from_row``).
NOT_MEASURED: dict[str, Any] = {
    "latency_s": 0.0,
    "llm_latency_s": 0.0,
    "slm_latency_s": 0.0,
    "llm_calls": 0,
    "llm_input_tokens": 0,
    "llm_cached_tokens": 0,
    "llm_output_tokens": 0,
    "slm_calls": 0,
    "slm_input_tokens": 0,
    "slm_cached_tokens": 0,
    "slm_output_tokens": 0,
    "llm_cost_usd": 0.0,
    "slm_cost_usd": 0.0,
    "cache_hits": 0,
    "tool_calls": 0,
    "tool_call_log": [],
    "finish_reasons": "",
    "truncated": False,
    "source": "",
    "answer_type": "",
    "rel_tol": 0.0,
    "extracted_by": "",
    "code_outcome": "",
    "code_duration_s": 0.0,
    "attribution": "",
    "calculator_calls": 0,
    "tool_errors": 0,
    "slm_failures": 0,
    "slm_answers": [],
    "escalated": False,
}


def is_missing(value: Any) -> bool:
    """None, NaN, or pandas' NA (whose truth value is undefined)."""
    if value is None:
        return True
    if isinstance(value, str | list | tuple | dict):
        return False
    try:
        return bool(value != value)  # NaN is the one value unequal to itself
    except (TypeError, ValueError):
        return True


def as_text(value: Any) -> str | None:
    """A text cell: text as it is; a number that a table read back from numeric-looking text
    written back (integral ones without a decimal point, others in the shortest form that reads
    back as the same float); None for a missing cell."""
    if is_missing(value):
        return None
    if isinstance(value, str):
        return value
    if hasattr(value, "item"):  # a numpy scalar
        value = value.item()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def read_cell(kind: Kind, value: Any) -> Any:
    """One cell as its column's Python type; None when the cell is missing."""
    if is_missing(value):
        return None
    if kind == "text":
        return as_text(value)
    if kind == "json_list":
        return list(json.loads(value) if isinstance(value, str) else value)
    number = value.item() if hasattr(value, "item") else value
    if kind == "bool":
        return bool(number)
    if kind == "int":
        return int(number)
    result = float(number)
    return None if math.isnan(result) else result
