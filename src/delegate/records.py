"""Per-problem records: everything measured about one problem, graded and priced.

A record is written as soon as its problem finishes; the per-sample table, the run's metrics and
the ``results_<strategy>.json`` file are all built from records, never from anything else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import MISSING, dataclass
from typing import TYPE_CHECKING, Any

from delegate.accounting import Price
from delegate.data import Problem
from delegate.scoring import answers_match, extract_answer, extract_strict
from delegate.tools.calculator_tool import KIND as CALCULATOR
from delegate.tools.small_model import KIND as SMALL_MODEL

if TYPE_CHECKING:  # the report reads records without importing the strategies and models
    from delegate.strategies import Trace

# What a row written before a field existed stands for: that field was not measured then (zero,
# empty or none). A key missing from a row is filled from here, else from the field's default.
_ROW_DEFAULTS: dict[str, Any] = {
    "extracted": None,
    "extracted_strict": None,
    "latency_s": 0.0,
    "llm_latency_s": 0.0,
    "slm_latency_s": 0.0,
    "llm_calls": 0,
    "llm_input_tokens": 0,
    "llm_cached_tokens": 0,
    "llm_output_tokens": 0,
    "slm_input_tokens": 0,
    "slm_output_tokens": 0,
    "llm_cost_usd": 0.0,
    "slm_cost_usd": 0.0,
    "cache_hits": 0,
    "tool_calls": 0,
    "tool_call_log": "[]",
    "error": None,
    "notes": None,
}


@dataclass(frozen=True)
class ProblemRecord:
    """One graded problem. A problem that errored has ``error`` set and is scored wrong."""

    problem_id: int
    question: str
    gold: str
    final_text: str
    extracted: str | None
    extracted_strict: str | None
    correct: bool
    correct_strict: bool
    latency_s: float
    llm_latency_s: float
    slm_latency_s: float
    llm_calls: int
    llm_input_tokens: int
    llm_cached_tokens: int
    llm_output_tokens: int
    slm_input_tokens: int
    slm_output_tokens: int
    llm_cost_usd: float
    slm_cost_usd: float
    cost_usd: float
    billed_usd: float
    cache_hits: int
    tool_calls: int
    tool_call_log: tuple[dict[str, Any], ...]
    error: str | None
    notes: str | None
    finish_reasons: str = ""  # "<role>:<reason>" per model call, in order, space-separated
    truncated: bool = False  # the final answer was cut off by max_tokens
    source: str = ""
    level: int | None = None
    subject: str | None = None
    # The grader the problem was scored with, so the report can grade other answers (the
    # cascade's small-model majority) the same way. Rows written before these existed: "number".
    answer_type: str = "number"
    rel_tol: float = 0.0
    # Tool calls by tool: small-model calls whose reply came back, and calculator calls (all).
    slm_tool_calls: int = 0
    calculator_calls: int = 0
    # Tool calls that brought no usable answer back (malformed, unknown tool, a failing tool, no
    # boxed answer), and the small-model calls among them where the small model itself failed.
    tool_errors: int = 0
    slm_failures: int = 0
    # The cascade's small-model verdict (strategy=cascade only): each sample's extracted answer,
    # the majority answer, its share of the samples, and whether the problem escalated.
    slm_answers: tuple[str | None, ...] = ()
    slm_answer: str | None = None
    confidence: float | None = None
    escalated: bool = False

    def to_row(self) -> dict[str, Any]:
        """A flat, JSON-ready row (the tool-call log and the small model's answers as JSON
        text, for tables)."""
        row = {k: getattr(self, k) for k in self.__dataclass_fields__}
        row["tool_call_log"] = json.dumps(list(self.tool_call_log))
        row["slm_answers"] = json.dumps(list(self.slm_answers))
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ProblemRecord:
        """The record ``to_row`` wrote; keys that are not fields are ignored, and fields an older
        row lacks take the value that meant "not measured" (costs default to their parts)."""
        values = {k: row[k] for k in cls.__dataclass_fields__ if k in row}
        for key, default in _ROW_DEFAULTS.items():
            values.setdefault(key, default)
        values.setdefault("cost_usd", values["llm_cost_usd"] + values["slm_cost_usd"])
        values.setdefault("billed_usd", values["cost_usd"])
        missing = [
            k
            for k, f in cls.__dataclass_fields__.items()
            if k not in values and f.default is MISSING
        ]
        if missing:
            raise ValueError(f"a record row needs {', '.join(missing)}")
        log = values["tool_call_log"]
        values["tool_call_log"] = tuple(json.loads(log) if isinstance(log, str) else log)
        values["slm_answers"] = tuple(json.loads(values.get("slm_answers") or "[]"))
        return cls(**values)


def make_record(
    problem: Problem,
    final_text: str,
    trace: Trace,
    latency_s: float,
    llm_price: Price,
    slm_price: Price,
    error: str | None,
) -> ProblemRecord:
    """Grade (with the problem's answer type) and price one problem from what its trace
    measured."""
    kind, tol = problem.answer_type, problem.rel_tol
    extracted = extract_answer(final_text, kind)
    strict = extract_strict(final_text, kind)
    failed = error is not None
    llm_cost = llm_price.cost_usd(trace.llm_usage)
    slm_cost = slm_price.cost_usd(trace.slm_usage)
    return ProblemRecord(
        problem_id=problem.id,
        question=problem.question,
        gold=problem.gold,
        final_text=final_text,
        extracted=extracted,
        extracted_strict=strict,
        correct=not failed and answers_match(extracted, problem.gold, kind, tol),
        correct_strict=not failed and answers_match(strict, problem.gold, kind, tol),
        latency_s=latency_s,
        llm_latency_s=trace.llm_latency_s,
        slm_latency_s=trace.slm_latency_s,
        llm_calls=trace.llm_usage.calls,
        llm_input_tokens=trace.llm_usage.input_tokens,
        llm_cached_tokens=trace.llm_usage.cached_input_tokens,
        llm_output_tokens=trace.llm_usage.output_tokens,
        slm_input_tokens=trace.slm_usage.input_tokens,
        slm_output_tokens=trace.slm_usage.output_tokens,
        llm_cost_usd=llm_cost,
        slm_cost_usd=slm_cost,
        cost_usd=llm_cost + slm_cost,
        billed_usd=llm_price.cost_usd(trace.llm_billed) + slm_price.cost_usd(trace.slm_billed),
        cache_hits=trace.cache_hits,
        tool_calls=len(trace.tool_calls),
        tool_call_log=tuple(c.to_dict() for c in trace.tool_calls),
        error=error,
        notes="; ".join(trace.notes) or None,
        finish_reasons=" ".join(trace.finish_reasons),
        truncated=trace.truncated,
        source=problem.source,
        level=problem.level,
        subject=problem.subject,
        answer_type=kind,
        rel_tol=tol,
        slm_tool_calls=sum(
            c.tool == SMALL_MODEL and c.slm_text is not None for c in trace.tool_calls
        ),
        calculator_calls=sum(c.tool == CALCULATOR for c in trace.tool_calls),
        tool_errors=sum(c.error is not None for c in trace.tool_calls),
        slm_failures=sum(
            c.tool == SMALL_MODEL and c.question is not None and c.slm_text is None
            for c in trace.tool_calls
        ),
        slm_answers=tuple(trace.slm_answers or ()),
        slm_answer=trace.slm_answer,
        confidence=trace.confidence,
        escalated=trace.escalated,
    )
