"""The process that writes a run's traces, so the store's work never competes with the run's.

MLflow's store is pure Python (SQLAlchemy, entity building): written from a thread of the run's
process, a full GSM8K split at ``concurrency=64`` against a 0.2 s endpoint took 2.2 times as
long with traces as without on 2 quiet cores (4.8 times with the cores busy; benchmark 12), the
thread and the problem loop taking turns at the interpreter lock. So ``traced_run`` starts this
module as a child process (``python -m delegate.trace_writer``) and a thread of the run sends it
each finished span tree as one line of JSON on its stdin. The child builds the MLflow entities
and writes groups of traces, one transaction each (``trace_entities.StoreWriter``), reporting
after each group on its stdout how many it wrote and why others failed; the run's thread that
reads those reports fills in ``TraceStats``.

The child gets the parent's tracking URI and registered secrets first (traces are scrubbed as
before, in the child), then span trees. At the end of the run its stdin is closed: it writes
what it holds and exits, which is what ``traced_run`` waits for. If the run's process dies, the
same end of input stops the child. A child that cannot start or dies costs the traces it did
not write (a warning says how many), never the run. It is started afresh rather than forked:
the run's process holds SQLite connections to the same store, and SQLite forbids carrying open
connections across a fork (the database can be corrupted). Starting costs about 1.5 s
(importing MLflow) while the first problems run; their traces wait in the pipe.

Messages on stdin, one JSON object a line: ``{"start": {"uri", "run_id", "experiment_id"}}``
once, ``{"secrets": [...]}`` when the set grows, ``{"trace": <plain tree>}``. On stdout:
``{"written": n, "failed": m, "error": "<the first failure's reason>"}`` after each group.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from delegate import secrets

if TYPE_CHECKING:  # tracing imports this module; the types only
    from delegate.tracing import RecordedSpan, TraceStats

log = logging.getLogger(__name__)

# Traces per store transaction at most: a commit costs about as much as three traces' rows, so a
# backlog goes in large groups; bounded so one refused group is not retried at great length.
BATCH = 128


def plain(span: RecordedSpan) -> dict[str, Any]:
    """A recorded tree as plain data (the form ``trace_entities.to_mlflow`` reads)."""
    out = {
        "name": span.name,
        "kind": span.kind,
        "span_id": span.span_id.hex(),
        "start_ns": span.start_ns,
        "end_ns": span.end_ns,
        "inputs": span.inputs,
        "outputs": span.outputs,
        "attributes": span.attributes,
        "error": span.error,
        "children": [plain(child) for child in span.children],
    }
    if span.parent is None:
        grade = span.grade
        out["tags"] = span.tags
        out["grade"] = None if grade is None else vars(grade).copy()
    return out


class TraceWriter:
    """The run's side: starts the child, sends it finished trees from a thread, and counts what
    it reports into ``stats``."""

    def __init__(self, uri: str, run_id: str, experiment_id: str, stats: TraceStats) -> None:
        self.stats = stats
        self._queue: queue.SimpleQueue[RecordedSpan | None] = queue.SimpleQueue()
        self._submitted = self._unsent = 0
        self._sent_secrets: list[str] = []
        self._process = _take_early() or _start_child()
        start = {"start": {"uri": uri, "run_id": run_id, "experiment_id": experiment_id}}
        self._feeder = threading.Thread(
            target=self._feed, args=(start,), name="delegate-traces", daemon=True
        )
        self._reader = threading.Thread(target=self._read, name="delegate-trace-reports")
        self._feeder.start()
        self._reader.start()

    def submit(self, root: RecordedSpan) -> None:
        self._submitted += 1
        self._queue.put(root)

    def close(self) -> None:
        """Send what is left, wait for the child to write it and exit; count what it did not."""
        code = None
        try:
            self._queue.put(None)
            self._feeder.join()
            if self._process is not None:
                code = self._process.wait()
        except BaseException:  # interrupted while waiting: the child goes with the run
            if self._process is not None:
                self._process.kill()
            raise
        self._reader.join()
        lost = self._submitted - self._unsent - self.stats.written - self.stats.failed
        if lost > 0:
            how = "did not start" if self._process is None else f"exited with code {code}"
            log.warning("the trace writer %s: %d traces were not written", how, lost)
        self.stats.failed += lost + self._unsent

    def _feed(self, start: dict[str, Any]) -> None:
        pipe = self._process.stdin if self._process is not None else None
        try:
            if pipe is not None and not _send(pipe, start):
                pipe = None
            while (root := self._queue.get()) is not None:
                if pipe is not None and not self._send_trace(pipe, root):
                    pipe = None  # the child is gone: what follows is counted lost at the end
        finally:
            if pipe is not None:
                with contextlib.suppress(OSError):  # the child has gone: nothing to close
                    pipe.close()

    def _send_trace(self, pipe: IO[bytes], root: RecordedSpan) -> bool:
        """Send ``root`` (and any newly registered secrets first); False once the pipe broke."""
        registered = secrets.registered_secrets()
        if registered != self._sent_secrets:
            self._sent_secrets = registered
            if not _send(pipe, {"secrets": registered}):
                return False
        try:
            line = json.dumps({"trace": plain(root)}, default=str, ensure_ascii=False)
        except Exception as e:  # a value JSON cannot hold even as text: that trace only
            self._unsent += 1
            log.warning("could not write a trace to MLflow: %s", e)
            return True
        return _send(pipe, line, flush=self._queue.empty())

    def _read(self) -> None:
        if self._process is None or self._process.stdout is None:
            return
        for line in self._process.stdout:
            try:
                report = json.loads(line)
            except ValueError:
                continue
            self.stats.written += report["written"]
            self.stats.failed += report["failed"]
            if report["failed"]:
                log.warning(
                    "could not write %d traces to MLflow: %s", report["failed"], report["error"]
                )


_early: subprocess.Popen[bytes] | None = None


@contextlib.contextmanager
def started_early() -> Iterator[None]:
    """Start the writer now, so that its imports (MLflow: about 1.5 s) overlap the run's own
    set-up instead of its first problems; ``traced_run`` inside the block takes it, and one not
    taken is ended with the block (it holds nothing yet)."""
    global _early
    _early = _start_child()
    try:
        yield
    finally:
        process, _early = _early, None
        if process is not None:
            process.kill()
            process.wait()


def _take_early() -> subprocess.Popen[bytes] | None:
    global _early
    process, _early = _early, None
    return process


def _start_child() -> subprocess.Popen[bytes] | None:
    """``python -m delegate.trace_writer``, importing this same ``delegate``; None if it cannot
    start."""
    source = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p)
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "delegate.trace_writer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )
    except OSError as e:
        log.warning("traces will not be written: the trace writer did not start: %s", e)
        return None


def _send(pipe: IO[bytes], message: dict[str, Any] | str, flush: bool = True) -> bool:
    line = message if isinstance(message, str) else json.dumps(message)
    try:
        pipe.write(line.encode() + b"\n")
        if flush:
            pipe.flush()
        return True
    except (OSError, ValueError):  # a broken pipe, or closed: the child has gone
        return False


# The child's side.


def serve(
    messages: queue.SimpleQueue[dict[str, Any] | None],
    write: Callable[[list[dict[str, Any]]], tuple[int, list[str]]],
    report: Callable[[dict[str, Any]], None],
) -> None:
    """Write the trees in ``messages`` until its end (None), a group at a time: whatever has
    arrived while the last group was written, up to ``BATCH``."""
    done = False
    while not done:
        group = [messages.get()]
        while len(group) < BATCH and group[-1] is not None:
            try:
                group.append(messages.get_nowait())
            except queue.Empty:
                break
        done = group[-1] is None
        trees = [tree for tree in group if tree is not None]
        if trees:
            written, errors = write(trees)
            report({"written": written, "failed": len(errors), "error": next(iter(errors), "")})


def _receive(lines: IO[bytes], messages: queue.SimpleQueue[dict[str, Any] | None]) -> None:
    """Parse the parent's lines into ``messages``; secrets are registered as they come, before
    the trees sent after them are written."""
    try:
        for line in lines:
            message = json.loads(line)
            if "secrets" in message:
                for value in message["secrets"]:
                    secrets.register_secret(value)
            else:
                messages.put(message["trace"])
    finally:
        messages.put(None)


def main() -> None:
    """The child: read the start message, then write traces until stdin ends."""
    # Ctrl-C reaches the whole process group: the run decides (it ends the input, or kills this
    # process if interrupted again while waiting), so traces already sent are not dropped.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    secrets.install_log_scrubber()
    with contextlib.suppress(Exception):  # met again, and reported, when the store is opened
        from delegate.trace_entities import preload

        preload()  # MLflow imported while the run prepares its models and opens its run
    start = json.loads(sys.stdin.buffer.readline() or "null")
    if start is None:
        return  # the run ended before sending anything
    start = start["start"]
    messages: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
    threading.Thread(target=_receive, args=(sys.stdin.buffer, messages), daemon=True).start()

    def report(line: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    try:
        from delegate.trace_entities import StoreWriter

        writer = StoreWriter(start["uri"], start["run_id"], start["experiment_id"])
        write = writer.write
    except Exception as e:  # no store: every trace fails, each reported so the run can count
        reason = f"the store could not be opened: {e}"

        def write(trees: list[dict[str, Any]]) -> tuple[int, list[str]]:
            return 0, [reason] * len(trees)

    serve(messages, write, report)
    # All written and reported: skip the interpreter's teardown, whose exit handlers (MLflow's)
    # took about a second here, which the run would spend waiting for this process to end.
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
