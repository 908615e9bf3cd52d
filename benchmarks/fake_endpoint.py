"""An OpenAI-compatible chat endpoint on 127.0.0.1 that answers after a fixed delay.

It stands in for a remote API with known latency, so a benchmark measures the framework and not a
provider. Given tools and no tool result yet, it calls the first tool with the user's question (a
large model that delegates); otherwise it answers in text. Usage is reported, one token per four
characters of the request's messages.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    messages = request["messages"]
    tools = request.get("tools") or []
    message: dict[str, Any] = {"role": "assistant", "content": r"The answer is \boxed{42}."}
    if (
        tools
        and request.get("tool_choice") != "none"
        and all(m["role"] != "tool" for m in messages)
    ):
        question = next(m["content"] for m in reversed(messages) if m["role"] == "user")
        message = {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": tools[0]["function"]["name"],
                        "arguments": json.dumps({"question": question}),
                    },
                }
            ],
        }
    prompt_tokens = len(json.dumps(messages)) // 4
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": request.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if "tool_calls" in message else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": 12,
            "total_tokens": prompt_tokens + 12,
        },
    }


class FakeEndpoint:
    """``with FakeEndpoint(latency_s=0.5) as url: ...`` serves ``url`` (ending in ``/v1``)."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.requests = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.requests += 1
                time.sleep(endpoint.latency_s)
                body = json.dumps(_answer(request)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> str:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
