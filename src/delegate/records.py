"""Per-problem records: everything measured about one problem, graded and priced, and the one
reader of their flat rows.

A record is written as soon as its problem finishes; the per-sample table, the run's metrics and
the ``results_<strategy>.json`` file are all built from records, never from anything else. A
record holds each model role's usage (``RoleUsage``), the router's tool details
(``RouterDetails``) and the cascade's verdict (``CascadeDetails``); ``to_row`` flattens it into the
per-sample columns and ``read_records`` (``ProblemRecord.from_row`` per row) is how every reader
(resume's ``per_sample.jsonl``, the report's MLflow table) turns rows back into records. That
reader is where a table's damage is repaired, once: MLflow's ``load_table`` reads numeric-looking
text back as numbers (gold "42" as 42) and missing cells as NaN or None, and rows written before a
column existed lack it; each such cell takes the value that means "not measured".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from delegate.accounting import Price, Usage
from delegate.attribution import attribute
from delegate.record_cells import COLUMN_KINDS, NOT_MEASURED, REQUIRED, read_cell
from delegate.scoring import Grade
from delegate.scoring import grade as grade_text

if TYPE_CHECKING:  # the report reads records without the data loaders, strategies and models
    from delegate.data import Problem
    from delegate.strategies import ToolCallRecord, Trace

# The tools' registry names (``delegate.tools``), spelled here so that reading a record does not
# import the tools.
_SMALL_MODEL, _CALCULATOR = "small_model", "calculator"


@dataclass(frozen=True)
class RoleUsage:
    """What one model role (``llm`` or ``slm``) spent on a problem: its calls, tokens (cached
    input tokens are part of ``input_tokens``), summed latency and cost at its price."""

    calls: int = 0
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0

    @classmethod
    def priced(cls, usage: Usage, latency_s: float, price: Price) -> RoleUsage:
        """The role's usage as its backend measured it, priced by ``price``."""
        return cls(
            calls=usage.calls,
            input_tokens=usage.input_tokens,
            cached_tokens=usage.cached_input_tokens,
            output_tokens=usage.output_tokens,
            latency_s=latency_s,
            cost_usd=price.cost_usd(usage),
        )


@dataclass(frozen=True)
class RouterDetails:
    """The router's tool calls: all of them, by tool (small-model calls whose reply came back,
    calculator calls), those that brought no usable answer back (malformed, unknown tool, a
    failing tool, no boxed answer), the small-model calls where the small model itself failed,
    and the log of every call."""

    tool_calls: int = 0
    slm_tool_calls: int = 0
    calculator_calls: int = 0
    tool_errors: int = 0
    slm_failures: int = 0
    tool_call_log: tuple[dict[str, Any], ...] = ()

    @classmethod
    def of(cls, calls: Iterable[ToolCallRecord]) -> RouterDetails:
        """Count a trace's tool calls."""
        calls = list(calls)
        return cls(
            tool_calls=len(calls),
            slm_tool_calls=sum(c.tool == _SMALL_MODEL and c.slm_text is not None for c in calls),
            calculator_calls=sum(c.tool == _CALCULATOR for c in calls),
            tool_errors=sum(c.error is not None for c in calls),
            slm_failures=sum(
                c.tool == _SMALL_MODEL and c.question is not None and c.slm_text is None
                for c in calls
            ),
            tool_call_log=tuple(c.to_dict() for c in calls),
        )


@dataclass(frozen=True)
class CascadeDetails:
    """The cascade's small-model verdict (strategy=cascade only): each sample's extracted answer,
    the majority answer, its share of the samples, and whether the problem escalated."""

    slm_answers: tuple[str | None, ...] = ()
    slm_answer: str | None = None
    confidence: float | None = None
    escalated: bool = False


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
    llm: RoleUsage = RoleUsage()
    slm: RoleUsage = RoleUsage()
    billed_usd: float = 0.0  # what was paid: the cost less the completions replayed from cache
    cache_hits: int = 0
    error: str | None = None
    notes: str | None = None
    finish_reasons: str = ""  # "<role>:<reason>" per model call, in order, space-separated
    truncated: bool = False  # the final answer was cut off by max_tokens
    source: str = ""
    level: int | None = None
    subject: str | None = None
    # The grader the problem was scored with, so the report can grade other answers (the
    # cascade's small-model majority) the same way; "" for rows written before it was recorded.
    answer_type: str = ""
    rel_tol: float = 0.0
    # Which extraction rule found the answer (boxed, marker, json, last_math, last_number,
    # fence, reply, none); "" = not recorded.
    extracted_by: str = ""
    grade_error: str | None = None  # why the check was cut off (then it counts as wrong)
    # A code answer's run against its hidden tests: passed, failed, timeout, crashed or no_code
    # ("" for other answer types), the failing test's message (bounded) and the run's time.
    code_outcome: str = ""
    code_message: str | None = None
    code_duration_s: float = 0.0
    # Where a router or cascade problem went wrong, or "right" (``compare.attribution``); ""
    # for other strategies and for rows written before it was recorded.
    attribution: str = ""
    router: RouterDetails = RouterDetails()
    cascade: CascadeDetails = CascadeDetails()

    # The flat names the per-sample columns use, for the code that reads them off a record.
    @property
    def cost_usd(self) -> float:
        """What the strategy cost at the configured prices, cached or not."""
        return self.llm.cost_usd + self.slm.cost_usd

    @property
    def llm_cost_usd(self) -> float:
        return self.llm.cost_usd

    @property
    def slm_cost_usd(self) -> float:
        return self.slm.cost_usd

    @property
    def llm_cached_tokens(self) -> int:
        return self.llm.cached_tokens

    @property
    def slm_input_tokens(self) -> int:
        return self.slm.input_tokens

    @property
    def tool_calls(self) -> int:
        return self.router.tool_calls

    @property
    def slm_tool_calls(self) -> int:
        return self.router.slm_tool_calls

    @property
    def calculator_calls(self) -> int:
        return self.router.calculator_calls

    @property
    def tool_call_log(self) -> tuple[dict[str, Any], ...]:
        return self.router.tool_call_log

    @property
    def slm_answers(self) -> tuple[str | None, ...]:
        return self.cascade.slm_answers

    @property
    def slm_answer(self) -> str | None:
        return self.cascade.slm_answer

    @property
    def confidence(self) -> float | None:
        return self.cascade.confidence

    @property
    def escalated(self) -> bool:
        return self.cascade.escalated

    def to_row(self) -> dict[str, Any]:
        """A flat, JSON-ready row: the per-sample table's columns (the tool-call log and the
        small model's answers as JSON text)."""
        llm, slm, router, cascade = self.llm, self.slm, self.router, self.cascade
        return {
            "problem_id": self.problem_id,
            "question": self.question,
            "gold": self.gold,
            "final_text": self.final_text,
            "extracted": self.extracted,
            "extracted_strict": self.extracted_strict,
            "correct": self.correct,
            "correct_strict": self.correct_strict,
            "latency_s": self.latency_s,
            "llm_latency_s": llm.latency_s,
            "slm_latency_s": slm.latency_s,
            "llm_calls": llm.calls,
            "llm_input_tokens": llm.input_tokens,
            "llm_cached_tokens": llm.cached_tokens,
            "llm_output_tokens": llm.output_tokens,
            "slm_input_tokens": slm.input_tokens,
            "slm_output_tokens": slm.output_tokens,
            "llm_cost_usd": llm.cost_usd,
            "slm_cost_usd": slm.cost_usd,
            "cost_usd": self.cost_usd,
            "billed_usd": self.billed_usd,
            "cache_hits": self.cache_hits,
            "tool_calls": router.tool_calls,
            "tool_call_log": json.dumps(list(router.tool_call_log)),
            "error": self.error,
            "notes": self.notes,
            "finish_reasons": self.finish_reasons,
            "truncated": self.truncated,
            "source": self.source,
            "level": self.level,
            "subject": self.subject,
            "answer_type": self.answer_type,
            "rel_tol": self.rel_tol,
            "slm_tool_calls": router.slm_tool_calls,
            "calculator_calls": router.calculator_calls,
            "tool_errors": router.tool_errors,
            "slm_failures": router.slm_failures,
            "slm_answers": json.dumps(list(cascade.slm_answers)),
            "slm_answer": cascade.slm_answer,
            "confidence": cascade.confidence,
            "escalated": cascade.escalated,
            "slm_calls": slm.calls,
            "slm_cached_tokens": slm.cached_tokens,
            "extracted_by": self.extracted_by,
            "grade_error": self.grade_error,
            "code_outcome": self.code_outcome,
            "code_message": self.code_message,
            "code_duration_s": self.code_duration_s,
            "attribution": self.attribution,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ProblemRecord:
        """The record ``to_row`` wrote, from a row as JSON or a table read back gives it: keys
        that are not columns are ignored, cells are repaired (``record_cells.read_cell``), and
        columns an older row lacks (or holds as None or NaN) take the value that meant "not
        measured" (costs default to their parts).

        Raises:
            ValueError: The row lacks a column that has no such value (``correct``, say).
        """
        cells = {k: read_cell(kind, row[k]) for k, kind in COLUMN_KINDS.items() if k in row}
        values = {k: v for k, v in cells.items() if v is not None}
        missing = [k for k in REQUIRED if k not in values]
        if missing:
            raise ValueError(f"a record row needs {', '.join(missing)}")
        for key, default in NOT_MEASURED.items():
            values.setdefault(key, default)
        values.setdefault("billed_usd", values.get("cost_usd", _total_cost(values)))
        # Rows written before slm_tool_calls existed had the small model as their only tool.
        values.setdefault("slm_tool_calls", values["tool_calls"])
        return _assemble(cls, values, cells)


def _total_cost(values: Mapping[str, Any]) -> float:
    return float(values["llm_cost_usd"] + values["slm_cost_usd"])


def _usage(values: Mapping[str, Any], role: str) -> RoleUsage:
    return RoleUsage(
        calls=values[f"{role}_calls"],
        input_tokens=values[f"{role}_input_tokens"],
        cached_tokens=values[f"{role}_cached_tokens"],
        output_tokens=values[f"{role}_output_tokens"],
        latency_s=values[f"{role}_latency_s"],
        cost_usd=values[f"{role}_cost_usd"],
    )


def _assemble(
    cls: type[ProblemRecord], values: Mapping[str, Any], cells: Mapping[str, Any]
) -> ProblemRecord:
    """A record from repaired, completed cells. ``cells`` holds what the row itself said, so a
    value recorded as None (no answer extracted, no level) stays None."""
    plain = {k: values[k] for k in _PLAIN} | {k: cells.get(k) for k in _NULLABLE}
    plain["error"] = plain["error"] or None  # tables store "no error" as None, NaN or ""
    router = RouterDetails(
        **{k: values[k] for k in _ROUTER}, tool_call_log=tuple(values["tool_call_log"])
    )
    cascade = CascadeDetails(
        slm_answers=tuple(values["slm_answers"]),
        slm_answer=cells.get("slm_answer"),
        confidence=cells.get("confidence"),
        escalated=values["escalated"],
    )
    llm, slm = _usage(values, "llm"), _usage(values, "slm")
    return cls(**plain, llm=llm, slm=slm, router=router, cascade=cascade)


_NULLABLE = (
    "extracted",
    "extracted_strict",
    "error",
    "notes",
    "level",
    "subject",
    "grade_error",
    "code_message",
)
_PLAIN = tuple(
    f
    for f in ProblemRecord.__dataclass_fields__
    if f not in ("llm", "slm", "router", "cascade", *_NULLABLE)
)
_ROUTER = tuple(f for f in RouterDetails.__dataclass_fields__ if f != "tool_call_log")


def read_records(rows: Iterable[Mapping[str, Any]]) -> list[ProblemRecord]:
    """Records from per-sample rows, however they were stored (``per_sample.jsonl``'s JSON lines,
    MLflow's ``per_sample.json`` table read back with ``load_table``): the one reader."""
    return [ProblemRecord.from_row(row) for row in rows]


def make_record(
    problem: Problem,
    final_text: str,
    trace: Trace,
    latency_s: float,
    llm_price: Price,
    slm_price: Price,
    error: str | None,
    grade: Grade | None = None,
    strategy: str = "",
) -> ProblemRecord:
    """Price one problem from what its trace measured, with its ``grade`` (graded here, by the
    problem's answer type, when none is given); a router or cascade problem (``strategy``) gets
    its ``attribution``, its answers compared inline (a run's loop uses ``attribute_async``)."""
    kind, tol = problem.answer_type, problem.rel_tol
    if grade is None:
        grade = grade_text(final_text, problem.gold, kind, tol)
    failed = error is not None
    run = grade.execution
    record = ProblemRecord(
        problem_id=problem.id,
        question=problem.question,
        gold=problem.gold,
        final_text=final_text,
        extracted=grade.extracted,
        extracted_strict=grade.extracted_strict,
        correct=not failed and grade.correct,
        correct_strict=not failed and grade.correct_strict,
        extracted_by=grade.extracted_by,
        grade_error=grade.error,
        code_outcome=run.outcome if run is not None else "",
        code_message=(run.message or None) if run is not None else None,
        code_duration_s=run.duration_s if run is not None else 0.0,
        latency_s=latency_s,
        llm=RoleUsage.priced(trace.llm_usage, trace.llm_latency_s, llm_price),
        slm=RoleUsage.priced(trace.slm_usage, trace.slm_latency_s, slm_price),
        billed_usd=llm_price.cost_usd(trace.llm_billed) + slm_price.cost_usd(trace.slm_billed),
        cache_hits=trace.cache_hits,
        error=error,
        notes="; ".join(trace.notes) or None,
        finish_reasons=" ".join(trace.finish_reasons),
        truncated=trace.truncated,
        source=problem.source,
        level=problem.level,
        subject=problem.subject,
        answer_type=kind,
        rel_tol=tol,
        router=RouterDetails.of(trace.tool_calls),
        cascade=CascadeDetails(
            slm_answers=tuple(trace.slm_answers or ()),
            slm_answer=trace.slm_answer,
            confidence=trace.confidence,
            escalated=trace.escalated,
        ),
    )
    return replace(record, attribution=attribute(record, strategy))
