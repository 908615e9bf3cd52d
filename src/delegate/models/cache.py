"""A persistent response cache, so a repeated run pays for nothing it already paid for.

The key covers everything that changes a model's output: the model's identity as its backend
declares it (``ChatModel.identity``: backend, model, endpoint, resolved device and dtype,
generation settings), the messages, the tools and tool choice, stop strings and any
forced prefix, a call's own temperature and seed when it sets them, and, when the call samples
(``temperature > 0``), the run's seed, so that only a replay of the same draw hits. Timeouts,
retries and API keys are never part of it.

A hit returns the original completion with its original usage and latency, flagged ``cache_hit``.
Entries live in one SQLite file (``cache.dir``), safe for concurrent processes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from delegate.accounting import Usage
from delegate.models.base import ChatModel, Completion, Message, ModelWrapper, ToolCall


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
    """Completions by key, in a SQLite file."""

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory).expanduser() / "responses.sqlite"
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT)")
            self._db = db
        return self._db

    def get(self, key: str) -> Completion | None:
        with self._lock:
            row = (
                self._conn().execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
            )
        return _decode(row[0]) if row else None

    def put(self, key: str, completion: Completion) -> None:
        value = json.dumps(asdict(replace(completion, cache_hit=False)))
        with self._lock:
            db = self._conn()
            db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?)", (key, value))
            db.commit()

    def close(self) -> None:
        if self._db is not None:
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
        hit = self.store.get(key)
        if hit is not None:
            return hit
        completion = await self.inner.complete(messages, **options)
        self.store.put(key, completion)
        return completion
