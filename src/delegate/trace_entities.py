"""A recorded span tree as the MLflow entities a trace is stored as: a TraceInfo (tags, previews,
the problem's grade as assessments) and one Span per recorded span.

Spans carry their tokens and cost in the attributes MLflow aggregates into a trace's usage and
cost (``mlflow.chat.tokenUsage``, ``mlflow.llm.cost``; see ``mlflow/tracing/constant.py``), so the
Overview's cost panel and the Traces table's token and cost columns read them. The grade is an
``Expectation`` (the gold answer) and a ``Feedback`` (correct or not, the extracted answer as its
rationale), which the Quality tab and the Traces table's assessment column show.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import TYPE_CHECKING, Any

from delegate.secrets import scrub

if TYPE_CHECKING:  # tracing imports this module; the types only
    from delegate.tracing import Grade, RecordedSpan

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


def _span(s: RecordedSpan, raw_id: bytes, trace_id: str) -> Any:
    from mlflow.entities import Span as MlflowSpan
    from mlflow.entities import SpanStatusCode

    attributes = {
        "mlflow.traceRequestId": _json(trace_id),
        "mlflow.spanType": _json(s.kind),
        "mlflow.spanInputs": _json(s.inputs),
        "mlflow.spanOutputs": _json(s.outputs),
        **{k: _json(v) for k, v in s.attributes.items()},
        **_usage_attributes(s.attributes),
    }
    status = SpanStatusCode.ERROR if s.error else SpanStatusCode.OK
    return MlflowSpan.from_dict(
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


def assessments(grade: Grade | None, span_id: bytes) -> list[Any]:
    """The grade as an expectation and a feedback on the root span (none without a grade)."""
    if grade is None:
        return []
    from mlflow.entities import AssessmentSource, AssessmentSourceType, Expectation, Feedback

    source = AssessmentSource(source_type=AssessmentSourceType.CODE, source_id=_SOURCE_ID)
    root = span_id.hex()  # MLflow's span ids in assessments are the hex form
    rationale = f"extracted answer: {grade.extracted}"
    if grade.error:
        rationale += f"; the problem failed: {grade.error}"
    return [
        Expectation(name=EXPECTED, value=scrub(grade.gold), source=source, span_id=root),
        Feedback(
            name=CORRECTNESS,
            value=grade.correct,
            source=source,
            rationale=scrub(rationale),
            span_id=root,
        ),
    ]


def to_mlflow(root: RecordedSpan, run_id: str, experiment_id: str) -> tuple[Any, list[Any]]:
    """A recorded tree as MLflow's TraceInfo and Span entities, the trace linked to ``run_id``."""
    from mlflow.entities import TraceInfo, TraceLocation, TraceState

    raw_id = secrets.token_bytes(16)
    trace_id = f"tr-{raw_id.hex()}"
    spans = [_span(s, raw_id, trace_id) for s in root.walk()]
    info = TraceInfo(
        trace_id=trace_id,
        trace_location=TraceLocation.from_experiment_id(experiment_id),
        request_time=root.start_ns // 1_000_000,
        execution_duration=(root.end_ns - root.start_ns) // 1_000_000,
        state=TraceState.ERROR if root.error else TraceState.OK,
        request_preview=_json(root.inputs)[:PREVIEW_CHARS],
        response_preview=_json(root.outputs)[:PREVIEW_CHARS],
        trace_metadata={"mlflow.sourceRun": run_id, "mlflow.trace_schema.version": "3"},
        tags={
            **{k: scrub(v) for k, v in root.tags.items()},
            "mlflow.traceName": root.name,
            "mlflow.trace.spansLocation": "TRACKING_STORE",
        },
        assessments=assessments(root.grade, root.span_id),
    )
    return info, spans


def tracing_client() -> Any:
    """MLflow's client for writing traces to the store it is pointed at."""
    from mlflow.tracing.client import TracingClient

    return TracingClient()
