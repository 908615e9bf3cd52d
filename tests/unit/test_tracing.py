"""Spans recorded in memory while problems run concurrently, written as MLflow traces to a real
SQLite store: one trace per root span, each child under the parent open in its own task."""

from __future__ import annotations

import asyncio
import queue
import threading
from pathlib import Path

from delegate import trace_writer, tracing, tracking

from ..helpers import run_traces


async def _problem(pid: int, fail: bool) -> None:
    with tracing.span(f"problem {pid}", "CHAIN", {"problem_id": pid}) as root:
        with tracing.span("llm: m", "CHAT_MODEL", {"messages": [pid]}) as call:
            await asyncio.sleep(0.01 * (3 - pid))  # interleave the problems' tasks
            call.set_attributes({"input_tokens": 10 * pid, "output_tokens": pid})
            call.set_outputs({"text": f"answer {pid}"})
        with tracing.span("tool: ask", "TOOL", {"question": pid}) as tool:
            with tracing.span("slm: s", "CHAT_MODEL"):
                await asyncio.sleep(0)
            tool.set_outputs({"returned": str(pid)})
        if fail:
            root.set_error("ValueError: no answer")
        root.set_outputs({"correct": not fail})


def test_concurrent_problems_become_one_trace_each_in_the_run(tmp_path: Path) -> None:
    import mlflow

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    store = tracking.open_store(uri, "traces")
    experiment_id = store.experiment_id
    with store.run("r", {}) as run_id:

        async def all_problems() -> None:
            await asyncio.gather(*(_problem(pid, fail=pid == 2) for pid in (1, 2, 3)))

        with tracing.traced_run(run_id, experiment_id) as stats:
            asyncio.run(all_problems())
    assert (stats.written, stats.failed) == (3, 0)
    assert stats.wait_s >= 0

    traces = {t.info.request_preview: t for t in run_traces(uri, mlflow.get_run(run_id))}
    assert set(traces) == {'{"problem_id": 1}', '{"problem_id": 2}', '{"problem_id": 3}'}
    for pid in (1, 2, 3):
        trace = traces[f'{{"problem_id": {pid}}}']
        by_name = {s.name: s for s in trace.data.spans}
        assert set(by_name) == {f"problem {pid}", "llm: m", "tool: ask", "slm: s"}
        root = by_name[f"problem {pid}"]
        assert root.parent_id is None
        assert by_name["llm: m"].parent_id == root.span_id
        assert by_name["tool: ask"].parent_id == root.span_id
        assert by_name["slm: s"].parent_id == by_name["tool: ask"].span_id
        # Each span holds its own task's values, not another problem's.
        assert by_name["llm: m"].inputs == {"messages": [pid]}
        assert by_name["llm: m"].outputs == {"text": f"answer {pid}"}
        assert by_name["llm: m"].attributes["input_tokens"] == 10 * pid
        assert trace.info.token_usage["input_tokens"] == 10 * pid
        assert trace.info.state.value == ("ERROR" if pid == 2 else "OK")
        assert root.start_time_ns <= by_name["llm: m"].start_time_ns
        assert by_name["llm: m"].end_time_ns <= root.end_time_ns


def test_spans_outside_a_traced_run_record_nothing() -> None:
    with tracing.span("problem 1", "CHAIN", {"x": 1}) as span:
        span.set_outputs({"y": 2})  # accepted and dropped
    with tracing.traced_run(None) as stats, tracing.span("problem 1", "CHAIN"):
        pass
    assert (stats.written, stats.failed, stats.wait_s) == (0, 0, 0.0)


def test_a_store_that_refuses_traces_costs_the_traces_not_the_run(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    tracking.prepare_store(uri, "traces")
    # An unknown experiment: the store refuses the trace.
    with tracing.traced_run("no-such-run", "999") as stats, tracing.span("problem 1", "CHAIN"):
        pass
    assert (stats.written, stats.failed) == (0, 1)


def _serve_recorded(messages: queue.SimpleQueue) -> list[int]:
    """The writer child's loop over ``messages``, its store writes recorded as group sizes."""
    sizes: list[int] = []

    def write(trees: list) -> tuple[int, list[str]]:
        sizes.append(len(trees))
        return len(trees), []

    trace_writer.serve(messages, write, lambda report: None)
    return sizes


def test_a_burst_of_finished_problems_is_written_together_in_bounded_groups() -> None:
    messages: queue.SimpleQueue = queue.SimpleQueue()
    for i in range(trace_writer.BATCH + 6):
        messages.put({"name": f"problem {i}"})
    messages.put(None)
    assert _serve_recorded(messages) == [trace_writer.BATCH, 6]


def test_a_finished_problem_is_written_at_once_not_only_at_the_end() -> None:
    messages: queue.SimpleQueue = queue.SimpleQueue()
    written = threading.Event()

    def write(trees: list) -> tuple[int, list[str]]:
        written.set()
        return len(trees), []

    messages.put({"name": "problem 1"})
    server = threading.Thread(target=trace_writer.serve, args=(messages, write, lambda r: None))
    server.start()
    assert written.wait(10)  # written while the run goes on
    messages.put(None)
    server.join(10)
    assert not server.is_alive()


def test_a_writer_that_dies_costs_its_traces_with_a_warning_not_the_run(
    tmp_path: Path, caplog
) -> None:
    store = tracking.open_store(f"sqlite:///{tmp_path}/mlflow.db", "traces")
    with store.run("r", {}) as run_id, tracing.traced_run(run_id, store.experiment_id) as stats:
        with tracing.span("problem 1", "CHAIN"):
            pass
        writer = tracing._writer
        assert writer is not None and writer._process is not None
        writer._process.kill()
        writer._process.wait()
        with tracing.span("problem 2", "CHAIN"):
            pass
    assert stats.written + stats.failed == 2 and stats.failed >= 1  # problem 2's, at least
    assert "the trace writer exited with code" in caplog.text


def test_traces_are_scrubbed_of_secrets_registered_in_the_run(tmp_path: Path) -> None:
    import mlflow

    from delegate.secrets import register_secret

    canary = "sk-canary-6b1f0e2d9c"
    register_secret(canary)  # the run's process knows it; the writer's must mask it too
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    store = tracking.open_store(uri, "traces")
    question = {"question": f"key {canary}?"}
    with (
        store.run("r", {}) as run_id,
        tracing.traced_run(run_id, store.experiment_id) as stats,
        tracing.span("problem 1", "CHAIN", question) as root,
    ):
        root.set_tags({"note": canary})
        root.set_grade(tracing.Grade(canary, False, None))
    assert (stats.written, stats.failed) == (1, 0)
    [trace] = run_traces(uri, mlflow.get_run(run_id))
    assert canary not in trace.to_json()
    assert trace.info.tags["note"] == "***"
    assert trace.data.spans[0].inputs == {"question": "key ***?"}


def test_a_writer_started_early_is_taken_by_the_run_or_ended_with_the_block(
    tmp_path: Path,
) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    store = tracking.open_store(uri, "traces")
    with trace_writer.started_early():
        early = trace_writer._early
        assert early is not None and early.poll() is None
        with (
            store.run("r", {}) as run_id,
            tracing.traced_run(run_id, store.experiment_id) as stats,
        ):
            assert trace_writer._early is None  # taken: no second process started
            asyncio.run(_problem(1, fail=False))
    assert (stats.written, stats.failed) == (1, 0) and early.poll() == 0

    with trace_writer.started_early():  # a run that ends before its loop (nothing to retry)
        unused = trace_writer._early
    assert unused is not None and unused.poll() is not None  # not left behind
