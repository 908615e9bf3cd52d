"""Per-problem MLflow traces: why did this problem go wrong?

With ``tracking.traces=true`` (the default) every problem is one trace in its MLflow run: a root
span with the problem and its graded answer, a span per model call (messages in; text, tool calls,
tokens and latency out) and a span per tool call (the question sent, the answer returned, any
error). The strategies call ``span()`` without knowing whether tracing is on; when it is off (or
outside a run) the spans cost nothing.

Why not ``mlflow.start_span``: MLflow's own exporter writes each span as it ends and then the
trace, tens of milliseconds of store work per trace on a local SQLite store (benchmark 8),
competing with the event loop for the interpreter. Here spans are plain objects while a problem
runs (microseconds); a finished problem's tree goes to one background thread that writes traces
in batches (one ``start_trace`` per trace, one ``log_spans`` per batch: about a sixth of the
store work) when problems stop finishing for a moment. ``traced_run`` waits for the last batch
and reports how long that wait took, so the cost is measured, not hidden.
"""

from __future__ import annotations

import base64
import json
import logging
import queue
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from delegate.secrets import scrub

log = logging.getLogger(__name__)

_PREVIEW_CHARS = 1000  # what the MLflow UI shows of a trace's request and response
_BATCH = 64  # traces per store transaction; bounded so one write never holds the store for long
_QUIET_S = 0.05  # no problem finished for this long: the loop is idle, write what has gathered


class Span(Protocol):
    def set_inputs(self, inputs: Any) -> None: ...
    def set_outputs(self, outputs: Any) -> None: ...
    def set_attributes(self, attributes: dict[str, Any]) -> None: ...
    def set_error(self, error: str) -> None: ...
    def set_tags(self, tags: dict[str, str]) -> None: ...


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


class _Exporter:
    """Writes finished span trees to the MLflow store from one background thread."""

    def __init__(self, run_id: str, experiment_id: str, stats: TraceStats) -> None:
        from mlflow.tracing.client import TracingClient

        self.run_id, self.experiment_id, self.stats = run_id, experiment_id, stats
        self._client = TracingClient()
        self._queue: queue.SimpleQueue[RecordedSpan | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="delegate-traces", daemon=True)
        self._thread.start()

    def submit(self, root: RecordedSpan) -> None:
        self._queue.put(root)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _work(self) -> None:
        done = False
        while not done:
            batch = [self._queue.get()]
            # Writing competes with the problem loop for the interpreter: gather until problems
            # stop finishing for a moment (the loop is then waiting on models) or the batch is
            # full, so a burst of fast problems (a cached re-run) is not slowed by the store.
            while len(batch) < _BATCH and batch[-1] is not None:
                try:
                    batch.append(self._queue.get(timeout=_QUIET_S))
                except queue.Empty:
                    break
            done = batch[-1] is None
            roots = [r for r in batch if r is not None]
            if roots:
                self._write(roots)

    def _write(self, roots: list[RecordedSpan]) -> None:
        try:
            traces = [to_mlflow(root, self.run_id, self.experiment_id) for root in roots]
            for info, _ in traces:
                self._client.start_trace(info)
            self._client.log_spans(self.experiment_id, [s for _, spans in traces for s in spans])
            self.stats.written += len(roots)
        except Exception as e:  # a trace is a diagnostic: losing one must not end the run
            self.stats.failed += len(roots)
            log.warning("could not write %d traces to MLflow: %s", len(roots), e)


_exporter: _Exporter | None = None
_current: ContextVar[RecordedSpan | None] = ContextVar("delegate_span", default=None)


@contextmanager
def traced_run(run_id: str | None, experiment_id: str | None = None) -> Iterator[TraceStats]:
    """Record a trace per root span into MLflow run ``run_id`` (None: tracing off) inside this
    block; on leaving it, wait until every trace is written."""
    global _exporter
    stats = TraceStats()
    if run_id is None or experiment_id is None:
        yield stats
        return
    _exporter = _Exporter(run_id, experiment_id, stats)
    try:
        yield stats
    finally:
        exporter, _exporter = _exporter, None
        start = time.perf_counter()
        exporter.close()
        stats.wait_s = time.perf_counter() - start


@contextmanager
def span(name: str, kind: str, inputs: Any = None) -> Iterator[Span]:
    """A span named ``name`` of MLflow span type ``kind`` (CHAIN, CHAT_MODEL, TOOL...), the child
    of the span open in this task, if any."""
    exporter = _exporter
    if exporter is None:
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
            exporter.submit(live)
        else:
            parent.children.append(live)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _json(value: Any) -> str:
    # Scrubbed: a prompt or an answer may quote a key (a prompt text holding one, say).
    return scrub(json.dumps(value, default=str, ensure_ascii=False))


def to_mlflow(root: RecordedSpan, run_id: str, experiment_id: str) -> tuple[Any, list[Any]]:
    """A recorded tree as MLflow's TraceInfo and Span entities, the trace linked to ``run_id``."""
    from mlflow.entities import Span as MlflowSpan
    from mlflow.entities import SpanStatusCode, TraceInfo, TraceLocation, TraceState

    raw_id = secrets.token_bytes(16)
    trace_id = f"tr-{raw_id.hex()}"
    spans = []
    for s in root.walk():
        attributes = {
            "mlflow.traceRequestId": _json(trace_id),
            "mlflow.spanType": _json(s.kind),
            "mlflow.spanInputs": _json(s.inputs),
            "mlflow.spanOutputs": _json(s.outputs),
            **{k: _json(v) for k, v in s.attributes.items()},
        }
        if "input_tokens" in s.attributes:  # MLflow sums this key into the trace's token usage
            usage = {k: s.attributes.get(k, 0) for k in ("input_tokens", "output_tokens")}
            usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
            attributes["mlflow.chat.tokenUsage"] = _json(usage)
        status = SpanStatusCode.ERROR if s.error else SpanStatusCode.OK
        spans.append(
            MlflowSpan.from_dict(
                {
                    "trace_id": _b64(raw_id),
                    "span_id": _b64(s.span_id),
                    "parent_span_id": _b64(s.parent.span_id) if s.parent else None,
                    "name": s.name,
                    "start_time_unix_nano": s.start_ns,
                    "end_time_unix_nano": s.end_ns,
                    "events": [],
                    "status": {"code": f"STATUS_CODE_{status.value}", "message": s.error or ""},
                    "attributes": attributes,
                    "links": [],
                }
            )
        )
    info = TraceInfo(
        trace_id=trace_id,
        trace_location=TraceLocation.from_experiment_id(experiment_id),
        request_time=root.start_ns // 1_000_000,
        execution_duration=(root.end_ns - root.start_ns) // 1_000_000,
        state=TraceState.ERROR if root.error else TraceState.OK,
        request_preview=_json(root.inputs)[:_PREVIEW_CHARS],
        response_preview=_json(root.outputs)[:_PREVIEW_CHARS],
        trace_metadata={"mlflow.sourceRun": run_id, "mlflow.trace_schema.version": "3"},
        tags={
            **{k: scrub(v) for k, v in root.tags.items()},
            "mlflow.traceName": root.name,
            "mlflow.trace.spansLocation": "TRACKING_STORE",
        },
    )
    return info, spans
