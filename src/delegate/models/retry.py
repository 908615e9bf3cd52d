"""Retries of a remote model call, each attempt bounded by a deadline from connect to last byte.

An HTTP client's timeout bounds each read, so a server that sends one byte every few seconds
keeps a request alive for as long as it likes; here ``timeout_s`` is the whole attempt's budget.
What is worth retrying is the backend's to say (``retry_delay``); the rules for HTTP answers
(408, 409, 429 and 5xx, ``Retry-After``, exponential backoff) are here, the same as the openai
SDK's own.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from delegate.models.budget import note_abandoned_attempt

T = TypeVar("T")

log = logging.getLogger(__name__)

INITIAL_DELAY_S = 0.5
MAX_DELAY_S = 8.0
MAX_RETRY_AFTER_S = 120.0  # a server asking for a longer wait is not retried
RETRY_STATUSES = frozenset({408, 409, 429})


def backoff_s(retries_done: int) -> float:
    """Exponential backoff from 0.5 s, at most 8 s, less up to 25% jitter."""
    delay = min(INITIAL_DELAY_S * 2.0 ** min(retries_done, 30), MAX_DELAY_S)
    return delay * (1 - 0.25 * random.random())


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """The wait a server asks for in ``retry-after-ms`` or ``Retry-After`` (seconds or a date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = lowered.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        return seconds if math.isfinite(seconds) else None
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


def status_retry_delay(status: int, headers: Mapping[str, str], retries_done: int) -> float | None:
    """How long to wait before retrying an HTTP error answer, or None if it is final."""
    asked = retry_after_s(headers)
    if asked is not None and asked > MAX_RETRY_AFTER_S:
        return None
    should = {k.lower(): v for k, v in headers.items()}.get("x-should-retry")
    retryable = status in RETRY_STATUSES or status >= 500
    if should in ("true", "false"):
        retryable = should == "true"
    if not retryable:
        return None
    if asked is not None and asked > 0:
        return asked
    return backoff_s(retries_done)


async def with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    timeout_s: float,
    max_retries: int,
    retry_delay: Callable[[Exception, int], float | None],
    timed_out: Callable[[], Exception],
) -> T:
    """``await attempt()`` until it succeeds, at most ``max_retries`` retries.

    Each attempt must finish within ``timeout_s``; one that does not is cancelled and raises
    ``timed_out()``, and is retried after a backoff. Any other exception is retried after
    ``retry_delay(error, retries_done)`` seconds, or raised at once when that is None.
    """
    retries_done = 0
    while True:
        try:
            async with asyncio.timeout(timeout_s):
                return await attempt()
        except TimeoutError:
            note_abandoned_attempt()  # it reached the provider, which may bill it
            error: Exception = timed_out()
            delay: float | None = backoff_s(retries_done)
        except Exception as e:
            error, delay = e, retry_delay(e, retries_done)
        if delay is None or retries_done >= max_retries:
            raise error
        log.debug("retrying in %.1f s after %s", delay, type(error).__name__)
        await asyncio.sleep(delay)
        retries_done += 1
