"""Calls sent through an OpenAI-compatible Batch API (``llm.batch=true``): half price, hours late.

The backend hands each request to a ``BatchQueue`` and parks its problem (``in_flight``). Once
every problem in flight is parked, the queue writes the gathered requests as one JSONL file
(``custom_id``, ``method``, ``url``, ``body``), uploads it (``purpose=batch``), creates one batch
(``completion_window=24h``), records its id on the run at once (``batch_ledger``), polls it every
``batch_poll_s`` seconds with a progress line, and joins the results back on ``custom_id`` (they
come in any order). What the provider says is trusted no more than a live answer:

- a result's body is read as a live completion is (``openai_response``: usage required);
- a line that failed, and every request without a line once the batch is over (``expired``,
  ``cancelled``, ``failed``, or "completed" with lines missing), fails its call with the reason
  (``batch_expired``...), so its problem is an error, counted as any other;
- a ``custom_id`` names the problem and the request's content, so the same command run again
  finds its requests in the batches its earlier session created (the ledger) and collects them
  instead of paying twice; with ``retry_errors=true`` only the failed lines are sent again.

A creation that fails (a timeout, say) may still have made the batch: before it is retried, the
provider's recent batches are searched for one made from the same uploaded file.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from delegate.identity import digest
from delegate.models import batch_ledger, in_flight
from delegate.models.base import Completion
from delegate.models.call_error import ModelResponseError, call_error
from delegate.models.openai_response import to_completion

log = logging.getLogger(__name__)

ENDPOINT = "/v1/chat/completions"
WINDOW = "24h"
_OVER = ("completed", "expired", "cancelled", "failed")  # a batch in any of these is final
# What one batch may hold (OpenAI's API reference: 50,000 requests, a 200 MB file); a run with
# more is sent as several batches.
MAX_REQUESTS = 50_000
MAX_FILE_BYTES = 190 * 2**20

# A call to the provider (upload, create, poll, download) with the backend's retries.
Call = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


class BatchNotCollected(BaseException):
    """A batch was made (and may be billed) but its results could not be read.

    A BaseException on purpose, like ``BudgetExhausted``: no problem may record it as its own
    error (``retry_errors`` would then pay for the batch twice); the run stops, and the same
    command run again collects the batch.
    """


Outcome = Completion | Exception | BatchNotCollected


@dataclass
class _Request:
    custom_id: str
    body: dict[str, Any]
    future: asyncio.Future[Outcome]


class BatchQueue:
    """Gathers one model's requests into batches and hands each caller its own result."""

    def __init__(self, client: Callable[[], Any], call: Call, poll_s: float, where: str) -> None:
        self._client, self._call, self._poll_s = client, call, poll_s
        self._where = where
        self._pending: list[_Request] = []
        self._ledger: batch_ledger.BatchLedger | None = None
        self._lines: dict[str, set[str]] = {}  # a known batch's id -> its requests' custom_ids
        self._collected: dict[str, asyncio.Task[dict[str, Outcome]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._seen: dict[tuple[str, str], int] = {}  # requests named so far, to number repeats
        self.submitted: list[str] = []  # batches this queue created (tests, progress)

    async def complete(self, body: dict[str, Any]) -> Completion:
        """Send ``body`` (a chat completion request) in a batch; its completion, or the reason
        it has none (raised)."""
        self._ledger = self._ledger or batch_ledger.current()
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        flight = in_flight.current()
        start = time.perf_counter()
        with flight.parked_call() if flight else contextlib.nullcontext() as slot:
            self._pending.append(_Request(self._custom_id(body, slot), body, future))
            if flight is not None:
                flight.when_all_parked(self._flush)
            else:  # no loop to wait for: send what this turn of the event loop gathered
                asyncio.get_running_loop().call_soon(self._flush)
            outcome = await future
        if isinstance(outcome, Exception | BatchNotCollected):
            raise outcome
        latency = time.perf_counter() - start  # how long the batch took, as this run waited
        return Completion(
            outcome.text, outcome.usage, latency, outcome.tool_calls, outcome.finish_reason
        )

    def _custom_id(self, body: dict[str, Any], slot: in_flight.Slot | None) -> str:
        """The problem and what is asked, so the same in every session of the run whatever
        else it replayed from the cache; a repeat of the same request is numbered (ids are
        unique in a batch)."""
        key = f"{self._where}-p{slot.key}" if slot is not None else f"{self._where}-x"
        asked = digest(body, 16)
        self._seen[(key, asked)] = n = self._seen.get((key, asked), 0) + 1
        return f"{key}-{asked}" + (f"-{n}" if n > 1 else "")

    def _flush(self) -> None:
        requests, self._pending = self._pending, []
        if not requests:
            return
        # A fresh context: the batch is no problem's own (no trace span, no budget hold).
        task = asyncio.get_running_loop().create_task(
            self._serve(requests), context=contextvars.Context()
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, requests: list[_Request]) -> None:
        outcomes: dict[str, Outcome]
        try:
            outcomes = await self._outcomes(requests)
        except (Exception, BatchNotCollected) as e:  # every request fails, or the run stops
            outcomes = {r.custom_id: e for r in requests}
        for request in requests:
            if not request.future.done():
                request.future.set_result(
                    outcomes.get(request.custom_id)
                    or call_error("BatchError", "the batch returned nothing for this request")
                )

    async def _outcomes(self, requests: list[_Request]) -> dict[str, Outcome]:
        """Each request's outcome: from a batch an earlier session made, else from a new one."""
        outcomes: dict[str, Outcome] = {}
        fresh = []
        for request in requests:
            known = await self._known_batch(request.custom_id)
            if known is None:
                fresh.append(request)
                continue
            outcome = (await self._collect(known)).get(request.custom_id)
            retry = self._ledger is not None and self._ledger.retry_failed
            if outcome is None or (isinstance(outcome, Exception) and retry):
                fresh.append(request)
            else:
                outcomes[request.custom_id] = outcome
        made = [await self._submit(part) for part in _parts(fresh)]  # all sent, then awaited
        for batch_id in made:
            outcomes |= await self._collect(batch_id)
        return outcomes

    async def _known_batch(self, custom_id: str) -> str | None:
        """The batch of an earlier session that holds this request, if any."""
        for batch_id in list(self._ledger.known if self._ledger else ()):
            if batch_id in self.submitted:
                continue  # made in this session: its requests are this session's
            if batch_id not in self._lines:
                self._lines[batch_id] = await self._input_ids(batch_id)
            if custom_id in self._lines[batch_id]:
                return batch_id
        return None

    async def _input_ids(self, batch_id: str) -> set[str]:
        client = self._client()
        batch = await self._call(lambda: client.batches.retrieve(batch_id))
        lines = await self._read_file(batch.input_file_id)
        return {line["custom_id"] for line in lines if "custom_id" in line}

    async def _submit(self, requests: list[_Request]) -> str:
        client = self._client()
        data = b"".join(_line(r) for r in requests)
        upload = await self._call(
            lambda: client.files.create(file=("requests.jsonl", data), purpose="batch")
        )
        batch = await self._create(upload.id)
        self.submitted.append(batch.id)
        self._lines[batch.id] = {r.custom_id for r in requests}
        if self._ledger is not None:
            self._ledger.add(batch.id)
        log.info(
            "%s: %d requests submitted as batch %s (completion window %s)",
            self._where,
            len(requests),
            batch.id,
            WINDOW,
        )
        return str(batch.id)

    async def _create(self, file_id: str) -> Any:
        client = self._client()
        try:
            return await client.batches.create(
                input_file_id=file_id, endpoint=ENDPOINT, completion_window=WINDOW
            )
        except Exception as e:
            # It may have been made all the same (a lost answer): paying twice is the worse error.
            made = await self._made_from(file_id)
            if made is not None:
                return made
            log.warning("%s: creating the batch failed (%s); trying again", self._where, e)
        return await self._call(
            lambda: client.batches.create(
                input_file_id=file_id, endpoint=ENDPOINT, completion_window=WINDOW
            )
        )

    async def _made_from(self, file_id: str) -> Any:
        client = self._client()
        try:
            page = await self._call(lambda: client.batches.list(limit=100))
        except Exception:
            return None
        return next((b for b in page.data if b.input_file_id == file_id), None)

    def _collect(self, batch_id: str) -> asyncio.Task[dict[str, Outcome]]:
        """The outcomes of batch ``batch_id`` once it is over (one task per batch, shared)."""
        if batch_id not in self._collected:
            self._collected[batch_id] = asyncio.get_running_loop().create_task(
                self._wait_and_read(batch_id)
            )
        return self._collected[batch_id]

    async def _wait_and_read(self, batch_id: str) -> dict[str, Outcome]:
        try:
            return await self._read_batch(batch_id)
        except Exception as e:
            raise BatchNotCollected(
                f"{self._where}: batch {batch_id} could not be followed or read ({e}); it is "
                "recorded on the run (tag batch_ids): run the same command again to collect it"
            ) from None

    async def _read_batch(self, batch_id: str) -> dict[str, Outcome]:
        batch = await self._wait(batch_id)
        outcomes: dict[str, Outcome] = {}
        for file_id in (batch.error_file_id, batch.output_file_id):  # results win over errors
            if file_id:
                for line in await self._read_file(file_id):
                    if isinstance(line.get("custom_id"), str):
                        outcomes[line["custom_id"]] = read_line(line)
        missing = _missing_reason(batch)
        lines = self._lines.get(batch_id) or await self._input_ids(batch_id)
        for custom_id in lines - set(outcomes):
            outcomes[custom_id] = call_error("BatchError", missing)
        return outcomes

    async def _wait(self, batch_id: str) -> Any:
        client = self._client()
        seen: tuple[Any, ...] = ()
        while True:
            batch = await self._call(lambda: client.batches.retrieve(batch_id))
            counts = batch.request_counts
            now = (batch.status, *((counts.completed, counts.failed) if counts else ()))
            if now != seen:
                seen = now
                progress = (
                    f", {counts.completed} of {counts.total} done, {counts.failed} failed"
                    if counts
                    else ""
                )
                waiting = "" if batch.status in _OVER else f"; polling every {self._poll_s:g} s"
                log.info(
                    "%s batch %s: %s%s%s <%s.batch_poll_s>",
                    self._where,
                    batch_id,
                    batch.status,
                    progress,
                    waiting,
                    self._where,
                )
            if batch.status in _OVER:
                return batch
            await asyncio.sleep(self._poll_s)

    async def _read_file(self, file_id: str) -> list[dict[str, Any]]:
        client = self._client()
        content = await self._call(lambda: client.files.content(file_id))
        lines = []
        for raw in content.text.splitlines():
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                continue  # a line cut short is a request without a result: failed, not lost
            if isinstance(line, dict):
                lines.append(line)
        return lines


def _line(request: _Request) -> bytes:
    line = {"custom_id": request.custom_id, "method": "POST", "url": ENDPOINT}
    return (json.dumps({**line, "body": request.body}, ensure_ascii=False) + "\n").encode()


def _parts(requests: list[_Request]) -> list[list[_Request]]:
    """``requests`` in batches the API accepts: at most ``MAX_REQUESTS`` lines and
    ``MAX_FILE_BYTES`` each."""
    parts: list[list[_Request]] = []
    size = 0
    for request in requests:
        length = len(_line(request))
        if not parts or len(parts[-1]) >= MAX_REQUESTS or size + length > MAX_FILE_BYTES:
            parts.append([])
            size = 0
        parts[-1].append(request)
        size += length
    return parts


def read_line(line: dict[str, Any]) -> Outcome:
    """One line of a batch's output or error file as its request's outcome."""
    error = line.get("error")
    response = line.get("response") or {}
    if error:
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else error
        return call_error("BatchError", f"{code or 'error'}: {message}")
    status, body = response.get("status_code"), response.get("body")
    if status != 200:
        detail = body.get("error") if isinstance(body, dict) else body
        if isinstance(detail, dict):
            detail = detail.get("message", detail)
        return call_error("BatchError", f"the request failed with status {status}: {detail}")
    try:
        from openai.types.chat import ChatCompletion

        return to_completion(ChatCompletion.model_validate(body), 0.0)
    except ModelResponseError as e:
        return e
    except Exception as e:  # a body that is not a chat completion at all
        return ModelResponseError(f"the batch's result is not a chat completion: {e}")


def _missing_reason(batch: Any) -> str:
    """Why a request has no line in a batch that is over."""
    if batch.status == "expired":
        return "batch_expired: the batch expired before this request was run"
    if batch.status == "cancelled":
        return "batch_cancelled: the batch was cancelled before this request was run"
    if batch.status == "failed":
        errors = getattr(batch.errors, "data", None) or []
        reasons = "; ".join(f"{e.code}: {e.message}" for e in errors) or "no reason given"
        return f"batch_failed: the batch was refused ({reasons})"
    return "the batch finished without a result for this request"
