"""A persistent response cache, so a repeated run pays for nothing it already paid for.

The key covers everything that changes a model's output: the model's identity as its backend
declares it (``ChatModel.identity``: backend, model, endpoint, resolved device and dtype,
generation settings), the messages, the tools and tool choice, stop strings and any
forced prefix, a call's own temperature and seed when it sets them, and, when the call samples
(``temperature > 0``), the run's seed, so that only a replay of the same draw hits. Timeouts,
retries and API keys are never part of it.

A hit returns the original completion with its original usage and latency, flagged ``cache_hit``.
Entries live in one SQLite file (``cache.dir``), safe for concurrent processes. The cache never
costs a completion: its I/O runs off the event loop, waits at most ``BUSY_TIMEOUT_S`` for a lock,
and a store that cannot be read or written (locked, full, corrupt, no directory) is reported once
and left alone for the rest of the run, which goes on without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from delegate.accounting import Usage
from delegate.models.base import ChatModel, Completion, Message, ModelWrapper, ToolCall

log = logging.getLogger(__name__)

# How long a read or write waits for another process's lock before the cache is given up.
BUSY_TIMEOUT_S = 2.0
# What a store that cannot be used raises: SQLite's errors (locked, full, corrupt), the file
# system's, and an entry that does not decode.
_STORE_ERRORS = (sqlite3.Error, OSError, ValueError, KeyError, TypeError)


def cache_key(identity: Mapping[str, Any], request: Mapping[str, Any], seed: int | None) -> str:
    """A digest of the model identity, the request, and the seed when the model samples (at the
    request's own temperature when it sets one)."""
    temperature = request.get("temperature")
    if temperature is None:
        temperature = identity.get("temperature")
    sampling = float(temperature or 0.0) > 0
    payload = {
        "model": dict(identity),
        "request": dict(request),
        "seed": seed if sampling else None,
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class ResponseStore:
    """Completions by key, in a SQLite file. Blocking: call it from a worker thread.

    The first failure to read or write is logged as a warning naming the directory; from then on
    every read misses and every write is skipped.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).expanduser()
        self.path = self.directory / "responses.sqlite"
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.failed = False

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT)"
                )
            except BaseException:
                db.close()
                raise
            self._db = db
        return self._db

    def get(self, key: str) -> Completion | None:
        """The stored completion, or None (also when the store cannot be read)."""
        with self._lock:
            if self.failed:
                return None
            try:
                row = (
                    self._conn()
                    .execute("SELECT value FROM responses WHERE key = ?", (key,))
                    .fetchone()
                )
                return _decode(row[0]) if row else None
            except _STORE_ERRORS as e:
                self._give_up(e)
                return None

    def put(self, key: str, completion: Completion) -> None:
        """Store ``completion``; skipped when the store cannot be written."""
        value = json.dumps(asdict(replace(completion, cache_hit=False)))
        with self._lock:
            if self.failed:
                return
            try:
                db = self._conn()
                db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?)", (key, value))
                db.commit()
            except _STORE_ERRORS as e:
                self._give_up(e)

    def _give_up(self, error: Exception) -> None:
        self.failed = True
        log.warning(
            "the response cache in %s cannot be used (%s: %s); this run goes on without it "
            "<cache.dir>",
            self.directory,
            type(error).__name__,
            error,
        )
        self.close()

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None


def _decode(value: str) -> Completion:
    data = json.loads(value)
    return Completion(
        text=data["text"],
        usage=Usage(**data["usage"]),
        latency_s=data["latency_s"],
        tool_calls=tuple(ToolCall(**c) for c in data["tool_calls"]),
        finish_reason=data["finish_reason"],
        cache_hit=True,
    )


class CachedChatModel(ModelWrapper):
    """Wraps a model: answers from the store when it can, and stores what the model answers."""

    def __init__(self, inner: ChatModel, store: ResponseStore, seed: int) -> None:
        super().__init__(inner)
        self.store, self.seed = store, seed
        self._identity: dict[str, Any] | None = None

    async def complete(self, messages: list[Message], **options: Any) -> Completion:
        request = self.request(messages, options)
        if self._identity is None:  # asked once, after prepare() resolved devices and files
            self._identity = self.inner.identity()
        key = cache_key(self._identity, request, self.seed)
        # In a worker thread: a lock held by another process must not stall every problem.
        hit = await asyncio.to_thread(self.store.get, key)
        if hit is not None:
            return hit
        completion = await self.inner.complete(messages, **options)
        # A completion that cannot be stored is still returned: it has been paid for.
        await asyncio.to_thread(self.store.put, key, completion)
        return completion
