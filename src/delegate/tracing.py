"""Per-problem MLflow traces: why did this problem go wrong?

With ``tracking.traces=true`` (the default) every problem is one trace in its MLflow run: a root
span with the problem and its graded answer, a span per model call (messages in; text, tool calls,
tokens and latency out) and a span per tool call (the question sent, the answer returned, any
error). The strategies call ``span()`` without knowing whether tracing is on; when it is off (or
outside a run) the spans cost nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

_run_id: str | None = None


class Span(Protocol):
    def set_inputs(self, inputs: Any) -> None: ...
    def set_outputs(self, outputs: Any) -> None: ...
    def set_attributes(self, attributes: dict[str, Any]) -> None: ...


class _NoSpan:
    def set_inputs(self, inputs: Any) -> None:
        return None

    def set_outputs(self, outputs: Any) -> None:
        return None

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        return None


@contextmanager
def traced_run(run_id: str | None) -> Iterator[None]:
    """Record spans into the MLflow run ``run_id`` (None: tracing off) inside this block."""
    global _run_id
    _run_id = run_id
    try:
        yield
    finally:
        _run_id = None
        if run_id is not None:
            import mlflow

            mlflow.flush_trace_async_logging()  # traces are exported in the background


@contextmanager
def span(name: str, kind: str, inputs: Any = None) -> Iterator[Span]:
    """A span named ``name`` of MLflow span type ``kind`` (CHAIN, CHAT_MODEL, TOOL...)."""
    if _run_id is None:
        yield _NoSpan()
        return
    import mlflow

    with mlflow.start_span(name=name, span_type=kind, run_id=_run_id) as live:
        if inputs is not None:
            live.set_inputs(inputs)
        yield live
