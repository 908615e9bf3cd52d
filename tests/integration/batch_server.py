"""A real OpenAI-compatible server on 127.0.0.1 with the Files and Batches endpoints, as OpenAI's
API reference and the openai SDK's types describe them, and live chat completions beside.

Uploads (``POST /v1/files``, multipart) are kept in memory; ``POST /v1/batches`` makes a batch of
an uploaded file, run when the test releases it (``hold``) or at once. A batch's lines are
answered by ``answer(body) -> (text, prompt_tokens, completion_tokens)``, its output file written
in a shuffled order; ``fail(custom_id, body)`` may turn a line into an error, ``expire_after``
ends the batch ``expired`` with only that many lines run, ``refuse`` fails it whole, and
``lose_answers`` makes that many batches but answers their creation with a 500.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from tests.integration.conftest import LocalServer, QuietHandler, canned_completion, serve

Answer = Callable[[dict[str, Any]], tuple[str, int, int]]


class BatchServer(LocalServer):
    """Files, Batches and chat completions; everything it was sent is recorded."""

    def __init__(
        self,
        answer: Answer,
        *,
        hold: bool = False,
        fail: Callable[[str, dict[str, Any]], dict[str, Any] | None] | None = None,
        expire_after: int | None = None,
        refuse: str | None = None,
        lose_answers: int = 0,
        seed: int = 0,
    ) -> None:
        self.answer, self.fail, self.expire_after, self.refuse = answer, fail, expire_after, refuse
        self.lose_answers = lose_answers  # batches made whose creation is answered 500
        self.unreadable = False  # true: looking a batch up is refused (400)
        self.run_freely = 0  # with hold: this many batches run at once, the later ones wait
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.uploads: list[list[dict[str, Any]]] = []  # each uploaded request file, parsed
        self.chat_requests: list[dict[str, Any]] = []
        self.released = threading.Event()
        if not hold:
            self.released.set()
        self.created = threading.Event()  # set once a batch exists
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.server, self.url = serve(self._handler())

    def release(self) -> None:
        """Let held batches run."""
        self.released.set()

    def custom_ids(self, upload: int) -> list[str]:
        return [line["custom_id"] for line in self.uploads[upload]]

    # The API ---------------------------------------------------------------------------------

    def _upload(self, content_type: str, body: bytes) -> dict[str, Any]:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
        data = parts["file"].get_payload(decode=True)
        purpose = parts["purpose"].get_content().strip()
        with self._lock:
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = data
            if purpose == "batch":
                self.uploads.append([json.loads(line) for line in data.splitlines() if line])
        return _file(file_id, len(data), purpose)

    def _create(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            batch_id = f"batch_{len(self.batches) + 1}"
            lines = [json.loads(x) for x in self.files[request["input_file_id"]].splitlines() if x]
            batch = {
                "id": batch_id,
                "object": "batch",
                "endpoint": request["endpoint"],
                "input_file_id": request["input_file_id"],
                "completion_window": request["completion_window"],
                "status": "validating",
                "created_at": int(time.time()),
                "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                "output_file_id": None,
                "error_file_id": None,
                "errors": None,
            }
            self.batches[batch_id] = batch
        threading.Thread(target=self._run, args=(batch_id, lines), daemon=True).start()
        self.created.set()
        return dict(batch)

    def _run(self, batch_id: str, lines: list[dict[str, Any]]) -> None:
        batch = self.batches[batch_id]
        if self.refuse is not None:
            with self._lock:
                batch["status"] = "failed"
                batch["errors"] = {
                    "object": "list",
                    "data": [{"code": "invalid_request", "message": self.refuse, "line": 1}],
                }
            return
        batch["status"] = "in_progress"
        if int(batch_id.split("_")[1]) > self.run_freely:
            self.released.wait()
        run = lines if self.expire_after is None else lines[: self.expire_after]
        outputs, errors = [], []
        for line in run:
            failure = self.fail(line["custom_id"], line["body"]) if self.fail else None
            if failure is not None:
                errors.append({"id": "r", "custom_id": line["custom_id"], **failure})
                continue
            text, prompt_tokens, completion_tokens = self.answer(line["body"])
            body = canned_completion(text)
            body["usage"] = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
            response = {"status_code": 200, "request_id": "req", "body": body}
            outputs.append({"id": "r", "custom_id": line["custom_id"], "response": response})
        if self.expire_after is not None:
            errors += [
                {
                    "id": "r",
                    "custom_id": line["custom_id"],
                    "response": None,
                    "error": {"code": "batch_expired", "message": "This request expired"},
                }
                for line in lines[self.expire_after :]
            ]
        self._random.shuffle(outputs)  # results come in any order
        with self._lock:
            batch["output_file_id"] = self._store(outputs)
            batch["error_file_id"] = self._store(errors)
            batch["request_counts"] = {
                "total": len(lines),
                "completed": len(outputs),
                "failed": len(errors),
            }
            batch["status"] = "expired" if self.expire_after is not None else "completed"

    def _store(self, lines: list[dict[str, Any]]) -> str | None:
        if not lines:
            return None
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = "".join(json.dumps(x) + "\n" for x in lines).encode()
        return file_id

    def _chat(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.chat_requests.append(request)
        text, prompt_tokens, completion_tokens = self.answer(request)
        body = canned_completion(text)
        body["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        return body

    def _handler(self) -> type[QuietHandler]:
        server = self

        class Handler(QuietHandler):
            def _send(self, status: int, payload: Any) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = self.path.split("?")[0].removeprefix("/v1")
                parts = path.strip("/").split("/")
                with server._lock:
                    if parts == ["batches"]:
                        listed = [dict(b) for b in server.batches.values()][::-1]
                        return self._send(200, {"object": "list", "data": listed})
                    if parts[0] == "batches" and parts[1] in server.batches:
                        if server.unreadable:
                            return self._send(400, {"error": {"message": "not now"}})
                        return self._send(200, dict(server.batches[parts[1]]))
                    if parts[0] == "files" and parts[-1] == "content":
                        return self._send(200, server.files[parts[1]])
                self._send(404, {"error": {"message": f"no {path}"}})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                path = self.path.removeprefix("/v1")
                if path == "/files":
                    return self._send(200, server._upload(self.headers["Content-Type"], body))
                if path == "/batches":
                    made = server._create(json.loads(body))
                    if server.lose_answers > 0:  # made, but the client never hears so
                        server.lose_answers -= 1
                        return self._send(500, {"error": {"message": "upstream timed out"}})
                    return self._send(200, made)
                if path == "/chat/completions":
                    return self._send(200, server._chat(json.loads(body)))
                self._send(404, {"error": {"message": f"no {path}"}})

        return Handler


def _file(file_id: str, size: int, purpose: str) -> dict[str, Any]:
    return {
        "id": file_id,
        "object": "file",
        "bytes": size,
        "created_at": int(time.time()),
        "filename": "requests.jsonl",
        "purpose": purpose,
        "status": "processed",
    }
