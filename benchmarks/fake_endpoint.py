"""An OpenAI-compatible chat endpoint on 127.0.0.1 that answers after a fixed delay.

It stands in for a remote API with known latency, so a benchmark measures the framework and not a
provider. Given tools and no tool result yet, it calls the first tool with the user's question (a
large model that delegates); otherwise it answers in text. Usage is reported, one token per four
characters of the request's messages.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from multiprocessing.connection import Connection
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


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Serve one keep-alive connection: read each request, wait ``delay``, answer."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            headers = dict(
                line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line
            )
            length = int(next(v for k, v in headers.items() if k.lower() == "content-length"))
            request = json.loads(await reader.readexactly(length))
            await asyncio.sleep(delay)
            body = json.dumps(_answer(request)).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _serve(latency_s: float, port: Connection) -> None:
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: _handle(r, w, latency_s), "127.0.0.1", 0)
        port.send(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


class FakeEndpoint:
    """``with FakeEndpoint(latency_s=0.5) as url: ...`` serves ``url`` (ending in ``/v1``).

    The server is asyncio-based and runs in its own process, as a real endpoint would: sharing the
    client's interpreter (or a thread per connection) would blur what is measured.
    """

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self._process: multiprocessing.Process | None = None

    def __enter__(self) -> str:
        receive, send = multiprocessing.Pipe(duplex=False)
        self._process = multiprocessing.Process(
            target=_serve, args=(self.latency_s, send), daemon=True
        )
        self._process.start()
        if not receive.poll(30):
            raise RuntimeError("the fake endpoint did not start")
        return f"http://127.0.0.1:{receive.recv()}/v1"

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.join(10)
