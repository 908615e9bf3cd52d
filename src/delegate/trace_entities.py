"""A recorded span tree as the MLflow entities a trace is stored as: a TraceInfo (tags, previews,
the problem's grade as assessments) and one Span per recorded span; and the writer that stores
them (in the trace writer's process, ``delegate.trace_writer``).

The tree arrives in its plain form (``delegate.trace_writer.plain``): a dict per span with
``name``, ``kind``, ``span_id`` (hex), ``start_ns``, ``end_ns``, ``inputs``, ``outputs``,
``attributes``, ``error`` and ``children``; the root also has ``tags`` and ``grade`` (a dict of
``Grade``'s fields, or None).

Spans carry their tokens and cost in the attributes MLflow aggregates into a trace's usage and
cost (``mlflow.chat.tokenUsage``, ``mlflow.llm.cost``; see ``mlflow/tracing/constant.py``), so the
Overview's cost panel and the Traces table's token and cost columns read them. The grade is an
``Expectation`` (the gold answer) and a ``Feedback`` (correct or not, the extracted answer as its
rationale), which the Quality tab and the Traces table's assessment column show.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from delegate.secrets import scrub

log = logging.getLogger(__name__)

PREVIEW_CHARS = 1000  # what the MLflow UI shows of a trace's request and response
CORRECTNESS = "correctness"  # the feedback's name (the Quality tab's column)
EXPECTED = "expected_answer"  # the expectation's name
_SOURCE_ID = "delegate.scoring"  # the grader, as the assessments' source names it


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _json(value: Any) -> str:
    # Scrubbed: a prompt or an answer may quote a key (a prompt text holding one, say).
    return scrub(json.dumps(value, default=str, ensure_ascii=False))


def _usage_attributes(attributes: dict[str, Any]) -> dict[str, str]:
    """The span's tokens, cost and model in the attributes MLflow sums per trace."""
    out: dict[str, str] = {}
    if "input_tokens" in attributes:
        usage = {k: attributes.get(k, 0) for k in ("input_tokens", "output_tokens")}
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        if attributes.get("cached_input_tokens"):
            usage["cache_read_input_tokens"] = attributes["cached_input_tokens"]
        out["mlflow.chat.tokenUsage"] = _json(usage)
    if "input_cost_usd" in attributes:
        cost = {
            "input_cost": attributes["input_cost_usd"],
            "output_cost": attributes["output_cost_usd"],
        }
        cost["total_cost"] = cost["input_cost"] + cost["output_cost"]
        out["mlflow.llm.cost"] = _json(cost)
    if "model" in attributes:
        out["mlflow.llm.model"] = _json(attributes["model"])
    return out


def _span(s: dict[str, Any], parent_id: str | None, raw_id: bytes, trace_id: str) -> Any:
    from mlflow.entities import Span as MlflowSpan
    from mlflow.entities import SpanStatusCode

    attributes = {
        "mlflow.traceRequestId": _json(trace_id),
        "mlflow.spanType": _json(s["kind"]),
        "mlflow.spanInputs": _json(s["inputs"]),
        "mlflow.spanOutputs": _json(s["outputs"]),
        **{k: _json(v) for k, v in s["attributes"].items()},
        **_usage_attributes(s["attributes"]),
    }
    status = SpanStatusCode.ERROR if s["error"] else SpanStatusCode.OK
    return MlflowSpan.from_dict(
        {
            "trace_id": _b64(raw_id),
            "span_id": _b64(bytes.fromhex(s["span_id"])),
            "parent_span_id": _b64(bytes.fromhex(parent_id)) if parent_id else None,
            "name": s["name"],
            "start_time_unix_nano": s["start_ns"],
            "end_time_unix_nano": s["end_ns"],
            "events": [],
            "status": {"code": f"STATUS_CODE_{status.value}", "message": s["error"] or ""},
            "attributes": attributes,
            "links": [],
        }
    )


def _walk(
    tree: dict[str, Any], parent_id: str | None = None
) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Each span of a plain tree with its parent's id, parents first."""
    yield tree, parent_id
    for child in tree["children"]:
        yield from _walk(child, tree["span_id"])


def assessments(grade: dict[str, Any] | None, span_id: str) -> list[Any]:
    """The grade as an expectation and a feedback on the root span ``span_id`` (hex, as MLflow's
    assessments name spans); none without a grade."""
    if grade is None:
        return []
    from mlflow.entities import AssessmentSource, AssessmentSourceType, Expectation, Feedback

    source = AssessmentSource(source_type=AssessmentSourceType.CODE, source_id=_SOURCE_ID)
    rationale = f"extracted answer: {grade['extracted']}"
    if grade["error"]:
        rationale += f"; the problem failed: {grade['error']}"
    return [
        Expectation(name=EXPECTED, value=scrub(grade["gold"]), source=source, span_id=span_id),
        Feedback(
            name=CORRECTNESS,
            value=grade["correct"],
            source=source,
            rationale=scrub(rationale),
            span_id=span_id,
        ),
    ]


def to_mlflow(tree: dict[str, Any], run_id: str, experiment_id: str) -> tuple[Any, list[Any]]:
    """A plain tree as MLflow's TraceInfo and Span entities, the trace linked to ``run_id``."""
    from mlflow.entities import TraceInfo, TraceLocation, TraceState

    raw_id = secrets.token_bytes(16)
    trace_id = f"tr-{raw_id.hex()}"
    spans = [_span(s, parent, raw_id, trace_id) for s, parent in _walk(tree)]
    info = TraceInfo(
        trace_id=trace_id,
        trace_location=TraceLocation.from_experiment_id(experiment_id),
        request_time=tree["start_ns"] // 1_000_000,
        execution_duration=(tree["end_ns"] - tree["start_ns"]) // 1_000_000,
        state=TraceState.ERROR if tree["error"] else TraceState.OK,
        request_preview=_json(tree["inputs"])[:PREVIEW_CHARS],
        response_preview=_json(tree["outputs"])[:PREVIEW_CHARS],
        trace_metadata={"mlflow.sourceRun": run_id, "mlflow.trace_schema.version": "3"},
        tags={
            **{k: scrub(v) for k, v in tree["tags"].items()},
            "mlflow.traceName": tree["name"],
            "mlflow.trace.spansLocation": "TRACKING_STORE",
        },
        assessments=assessments(tree["grade"], tree["span_id"]),
    )
    return info, spans


def tracking_uri() -> str:
    """The store MLflow is pointed at in this process (``tracking.open_store`` points it), for
    the trace writer's process to write to the same."""
    import mlflow

    return str(mlflow.get_tracking_uri())


def preload() -> None:
    """Import what writing traces needs (MLflow's entities and tracing client: about 1.5 s)."""
    import mlflow.entities
    import mlflow.tracing.client  # noqa: F401


class StoreWriter:
    """Writes plain trees as traces of run ``run_id`` to the store at ``uri``.

    A SQL store (SQLite, PostgreSQL...) commits every MLflow call on its own: two commits and an
    experiment lookup per trace, most of the 11-40 ms a trace cost on these machines. Here a
    group of traces is written in one transaction (their ``start_trace`` calls and one
    ``log_spans``): 1.6 to 4 ms a trace (benchmark 8). A group the store refuses is written
    again one trace at a time, so a bad trace costs itself only. Other stores (an ``http://``
    server) take the same calls, each its own request.
    """

    def __init__(self, uri: str, run_id: str, experiment_id: str) -> None:
        from mlflow.tracing.client import TracingClient

        self.run_id, self.experiment_id = run_id, experiment_id
        self._store = TracingClient(uri).store

    def write(self, trees: list[dict[str, Any]]) -> tuple[int, list[str]]:
        """Write ``trees``; the number written and why the others were not (one line each)."""
        traces, errors = [], []
        for tree in trees:
            try:
                traces.append(to_mlflow(tree, self.run_id, self.experiment_id))
            except Exception as e:  # a value MLflow cannot hold: that trace only
                errors.append(f"{type(e).__name__}: {e}")
        if not traces:
            return 0, errors
        try:
            with self._one_transaction() as session:
                self._store_traces(traces, session)
            return len(traces), errors
        except Exception as e:
            if len(traces) == 1:
                return 0, [*errors, str(e)]
            log.debug("a group of %d traces was refused (%s); one at a time", len(traces), e)
        written = 0
        for trace in traces:
            try:
                self._store_traces([trace])
                written += 1
            except Exception as e:
                errors.append(str(e))
        return written, errors

    def _store_traces(self, traces: list[tuple[Any, list[Any]]], session: Any = None) -> None:
        # Assessments travel inside each TraceInfo: ``start_trace`` stores them with the trace.
        with _one_flush(session):
            for info, _ in traces:
                self._store.start_trace(info)
        self._store.log_spans(self.experiment_id, [s for _, spans in traces for s in spans])

    @contextmanager
    def _one_transaction(self) -> Iterator[Any]:
        """Inside this block, the SQL store's calls share one session (yielded), committed at
        its end (or rolled back whole), and the experiment is looked up once. MLflow's SQL store
        opens each call's session through ``ManagedSessionMaker``; a store without one (REST) is
        left as it is (None is yielded)."""
        store = self._store
        make_session = getattr(store, "ManagedSessionMaker", None)
        if make_session is None:
            yield None
            return
        found: dict[str, Any] = {}
        lookup = store.get_experiment
        with make_session(read_only=False) as session:

            @contextmanager
            def shared(read_only: bool = True) -> Iterator[Any]:
                yield session

            def experiment(experiment_id: str) -> Any:
                if experiment_id not in found:
                    found[experiment_id] = lookup(experiment_id)
                return found[experiment_id]

            store.ManagedSessionMaker = shared
            store.get_experiment = experiment
            try:
                yield session
            finally:
                store.ManagedSessionMaker = make_session
                del store.get_experiment


@contextmanager
def _one_flush(session: Any) -> Iterator[None]:
    """The ``start_trace`` calls inside this block flush ``session`` once, at its end.

    Each ``start_trace`` flushes its rows at once (to catch a trace that already exists, which
    fresh random ids never are); put together, SQLAlchemy inserts each table's rows of the whole
    group at a time, about a fifth less work a trace. Should the one flush fail, the group's
    transaction is rolled back and its traces are written one at a time, each flushed as MLflow
    does it. Without a shared session (REST) nothing changes.
    """
    if session is None:
        yield
        return
    session.flush = lambda objects=None: None
    try:
        yield
    finally:
        del session.flush
    session.flush()
