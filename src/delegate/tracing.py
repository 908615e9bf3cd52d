"""Per-problem MLflow traces: why did this problem go wrong?

With ``tracking.traces=true`` (the default) every problem is one trace in its MLflow run: a root
span with the problem and its graded answer, a span per model call (messages in; text, tool calls,
tokens and latency out) and a span per tool call (the question sent, the answer returned, any
error). The strategies call ``span()`` without knowing whether tracing is on; when it is off (or
outside a run) the spans cost nothing.

Why not ``mlflow.start_span``: MLflow's own exporter writes each span as it ends and then the
trace, tens of milliseconds of store work per trace on a local SQLite store (benchmark 8),
competing with the event loop for the interpreter. Here spans are plain objects while a problem
runs (microseconds); a finished problem's tree goes, as a line of JSON, to a child process that
writes groups of traces one transaction each (``delegate.trace_writer``), so the store's work
runs beside the problem loop rather than taking turns with it. ``traced_run`` waits for the
child to write the last ones and reports how long that wait took, so the cost is measured, not
hidden.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from delegate.trace_entities import tracking_uri
from delegate.trace_writer import TraceWriter

log = logging.getLogger(__name__)


class Span(Protocol):
    def set_inputs(self, inputs: Any) -> None: ...
    def set_outputs(self, outputs: Any) -> None: ...
    def set_attributes(self, attributes: dict[str, Any]) -> None: ...
    def set_error(self, error: str) -> None: ...
    def set_tags(self, tags: dict[str, str]) -> None: ...
    def set_grade(self, grade: Grade) -> None: ...


@dataclass(frozen=True)
class Grade:
    """A problem's grade, written as MLflow assessments on its trace: the gold answer as the
    expectation, correct or wrong as the feedback, the extracted answer as its rationale."""

    gold: str
    correct: bool
    extracted: str | None
    error: str | None = None


class _NoSpan:
    def set_inputs(self, inputs: Any) -> None:
        return None

    def set_outputs(self, outputs: Any) -> None:
        return None

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        return None

    def set_error(self, error: str) -> None:
        return None

    def set_tags(self, tags: dict[str, str]) -> None:
        return None

    def set_grade(self, grade: Grade) -> None:
        return None


@dataclass
class RecordedSpan:
    """One span as recorded in memory; times are Unix nanoseconds."""

    name: str
    kind: str
    span_id: bytes
    parent: RecordedSpan | None
    start_ns: int
    end_ns: int = 0
    inputs: Any = None
    outputs: Any = None
    attributes: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    children: list[RecordedSpan] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)  # a root's: the trace's searchable tags
    grade: Grade | None = None  # a root's: the problem's grade, as the trace's assessments
    counts: dict[str, int] = field(default_factory=dict)  # a root's: calls numbered so far

    def set_inputs(self, inputs: Any) -> None:
        self.inputs = inputs

    def set_outputs(self, outputs: Any) -> None:
        self.outputs = outputs

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        self.attributes.update(attributes)

    def set_error(self, error: str) -> None:
        """Mark the span failed (the MLflow UI filters traces by this) without raising."""
        self.error = error

    def set_tags(self, tags: dict[str, str]) -> None:
        """Tags of the trace this root span becomes (``tags.outcome = 'wrong'`` in the UI)."""
        self.tags.update(tags)

    def set_grade(self, grade: Grade) -> None:
        """The grade of the problem this root span is (its trace's assessments)."""
        self.grade = grade

    def walk(self) -> Iterator[RecordedSpan]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class TraceStats:
    """What tracing cost a run: traces written, traces lost, seconds waited for the last ones."""

    written: int = 0
    failed: int = 0
    wait_s: float = 0.0


_writer: TraceWriter | None = None
_run_tags: dict[str, str] = {}
_current: ContextVar[RecordedSpan | None] = ContextVar("delegate_span", default=None)


def _stored_tags(run_id: str) -> dict[str, str]:
    """The tags run ``run_id`` holds in the store; none when it cannot be read (a trace is a
    diagnostic: a store that refuses it costs the traces, not the run)."""
    from delegate.tracking import stored_tags

    try:
        return stored_tags(run_id)
    except Exception as e:
        log.debug("no tags read from run %s: %s", run_id, e)
        return {}


def run_tags() -> dict[str, str]:
    """The tags of the run the traces are written to (empty when tracing is off), so each trace
    can carry the run's strategy, configuration and seed (``delegate.loop.trace_tags``)."""
    return dict(_run_tags) if _writer is not None else {}


@contextmanager
def traced_run(
    run_id: str | None,
    experiment_id: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> Iterator[TraceStats]:
    """Record a trace per root span into MLflow run ``run_id`` (None: tracing off) inside this
    block; on leaving it, wait until every trace is written. ``tags`` are the run's (see
    ``run_tags``); by default they are read from the store once."""
    global _writer, _run_tags
    stats = TraceStats()
    if run_id is None or experiment_id is None:
        yield stats
        return
    _run_tags = dict(_stored_tags(run_id) if tags is None else tags)
    _writer = TraceWriter(tracking_uri(), run_id, experiment_id, stats)
    try:
        yield stats
    finally:
        writer, _writer = _writer, None
        start = time.perf_counter()
        writer.close()
        stats.wait_s = time.perf_counter() - start


@contextmanager
def span(name: str, kind: str, inputs: Any = None) -> Iterator[Span]:
    """A span named ``name`` of MLflow span type ``kind`` (CHAIN, CHAT_MODEL, TOOL...), the child
    of the span open in this task, if any."""
    writer = _writer
    if writer is None:
        yield _NoSpan()
        return
    parent = _current.get()
    live = RecordedSpan(name, kind, secrets.token_bytes(8), parent, time.time_ns(), inputs=inputs)
    token = _current.set(live)
    try:
        yield live
    except BaseException as e:
        live.error = f"{type(e).__name__}: {e}"
        raise
    finally:
        live.end_ns = time.time_ns()
        _current.reset(token)
        if parent is None:
            writer.submit(live)
        else:
            parent.children.append(live)


def call_number(key: str) -> int:
    """The number (from 1) of this call among the ``key`` calls of the problem open in this
    task, so spans of identical calls (a cascade's samples) can be told apart; 0 outside one."""
    live = _current.get()
    if live is None:
        return 0
    while live.parent is not None:
        live = live.parent
    live.counts[key] = live.counts.get(key, 0) + 1
    return live.counts[key]


def model_calls(root: Span) -> Iterator[RecordedSpan]:
    """The model-call spans (those with a ``role`` attribute) under a recorded root; none when
    tracing is off."""
    if isinstance(root, RecordedSpan):
        yield from (s for s in root.walk() if "role" in s.attributes)
