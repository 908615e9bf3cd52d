"""A response cache that cannot be used never costs a completion: with a real SQLite file locked by
another connection, a corrupt or truncated file, or a directory that cannot be made, the run goes
on without the cache, says so once naming ``cache.dir``, and counts every paid completion."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from delegate.accounting import Usage
from delegate.models.base import Completion
from delegate.models.cache import BUSY_TIMEOUT_S, CachedChatModel, ResponseStore
from delegate.models.openai_chat import OpenAIChatModel
from delegate.runner import run

from ..helpers import resolved

pytestmark = pytest.mark.integration

# One canned answer: 50 prompt and 10 completion tokens at 2.50 and 10.00 USD per 1M (gpt-4o).
ANSWER_COST_USD = 50 * 2.5e-6 + 10 * 10e-6


def cached_run(server_url: str, cache_dir: Path, store: str, tmp_path: Path) -> dict[str, float]:
    cfg = resolved(
        "strategy=llm",
        "llm=gpt-4o",
        f"llm.base_url={server_url}",
        "llm.api_key_env=null",
        "dataset=mini",
        "samples=2",
        "concurrency=2",
        "progress=false",
        "cache.enabled=true",
        f"cache.dir={cache_dir}",
        f"tracking.uri={store}",
        "tracking.experiment=cache-faults",
    )
    return run(cfg, tmp_path / "run")


def cache_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "<cache.dir>" in r.getMessage()
    ]


def filled_store(directory: Path) -> Path:
    """A real cache file with one entry, closed."""
    store = ResponseStore(directory)
    store.put("some-key", Completion("x", Usage(1, 0, 1, 1), 0.1))
    store.close()
    return store.path


@pytest.fixture
def locked_cache(tmp_path: Path) -> Iterator[Path]:
    """A cache directory whose database another connection holds in an exclusive transaction."""
    directory = tmp_path / "cache"
    holder = sqlite3.connect(filled_store(directory), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    yield directory
    holder.execute("ROLLBACK")
    holder.close()


def test_a_locked_cache_loses_no_paid_completion(
    scripted_server, locked_cache: Path, store, tmp_path, caplog
) -> None:
    server = scripted_server([])
    with caplog.at_level(logging.WARNING):
        metrics = cached_run(server.url, locked_cache, store, tmp_path)
    assert len(server.arrivals) == 2  # both were asked and paid for...
    assert metrics["n_errors"] == 0  # ...and both are counted
    assert metrics["cost_usd"] == pytest.approx(2 * ANSWER_COST_USD)
    assert metrics["billed_usd"] == pytest.approx(2 * ANSWER_COST_USD)
    [warning] = cache_warnings(caplog)  # once, not once per problem
    assert str(locked_cache) in warning and "database is locked" in warning


def test_waiting_for_a_locked_cache_does_not_stall_the_event_loop(
    scripted_server, locked_cache: Path
) -> None:
    server = scripted_server([])
    model = CachedChatModel(
        OpenAIChatModel("gpt-4o", base_url=server.url, api_key_env=None),
        ResponseStore(locked_cache),
        seed=0,
    )

    async def measure() -> tuple[float, float]:
        """The call's duration, and the longest gap between ticks of a 10 ms ticker."""
        gaps: list[float] = []

        async def ticker() -> None:
            last = time.perf_counter()
            while True:
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        start = time.perf_counter()
        completion = await model.complete([{"role": "user", "content": "1+1?"}])
        took = time.perf_counter() - start
        ticking.cancel()
        await model.aclose()
        assert completion.usage.input_tokens == 50
        return took, max(gaps)

    took, longest_gap = asyncio.run(measure())
    assert took >= BUSY_TIMEOUT_S  # the write waited for the lock...
    assert took < BUSY_TIMEOUT_S + 3  # ...for the short busy timeout, not 30 s
    assert longest_gap < 0.5  # ...and the loop ran meanwhile


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_cache_file_is_reported_once_and_skipped(
    scripted_server, store, tmp_path, caplog, damage: str
) -> None:
    directory = tmp_path / "cache"
    path = filled_store(directory)
    if damage == "garbage":
        path.write_bytes(b"not a database at all\n" * 100)
    else:
        path.write_bytes(path.read_bytes()[:100])
    server = scripted_server([])
    with caplog.at_level(logging.WARNING):
        metrics = cached_run(server.url, directory, store, tmp_path)
    assert metrics["n_errors"] == 0 and len(server.arrivals) == 2
    assert metrics["cost_usd"] == pytest.approx(2 * ANSWER_COST_USD)
    [warning] = cache_warnings(caplog)
    assert str(directory) in warning and "DatabaseError" in warning


def test_a_cache_directory_that_cannot_be_made_is_reported_once(
    scripted_server, store, tmp_path, caplog
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the cache directory's parent should be")
    directory = blocker / "cache"
    server = scripted_server([])
    with caplog.at_level(logging.WARNING):
        metrics = cached_run(server.url, directory, store, tmp_path)
    assert metrics["n_errors"] == 0 and len(server.arrivals) == 2
    [warning] = cache_warnings(caplog)
    assert str(directory) in warning
