"""Requests-per-minute and tokens-per-minute limits for one endpoint, shared by every problem
in flight.

Requests are spaced evenly (at most one every ``60 / rpm`` seconds) rather than in bursts, so a
provider's per-minute window never sees more than ``rpm`` of them. Tokens are counted in a sliding
60 s window, each request reserving an estimate before it starts and settling to its measured
usage when it ends.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any


class RequestRateLimit:
    """Awaiting ``slot()`` returns when the next request may start."""

    def __init__(self, requests_per_minute: float) -> None:
        if requests_per_minute <= 0:
            raise ValueError("requests_per_minute must be positive")
        self.interval_s = 60.0 / requests_per_minute
        self._next = 0.0
        self._lock = asyncio.Lock()  # binds to the run's one event loop on first use

    async def slot(self) -> None:
        async with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval_s
        if wait > 0:
            await asyncio.sleep(wait)


_WINDOW_S = 60.0
_CHARS_PER_TOKEN = 4  # a rough prompt estimate; replaced by the measured usage on response


def estimate_tokens(messages: list[dict[str, Any]], max_tokens: int) -> int:
    """What a request may cost before it is sent: its prompt at about 4 characters a token, plus
    every token it may generate (providers reserve ``max_tokens`` the same way)."""
    chars = sum(len(json.dumps(m, ensure_ascii=False)) for m in messages)
    return chars // _CHARS_PER_TOKEN + max_tokens


class Reservation:
    """Tokens a request holds in the window, from its start: first the estimate, then what the
    response reported."""

    def __init__(self, start: float, tokens: int) -> None:
        self.start, self.tokens = start, tokens

    def settle(self, used: int) -> None:
        self.tokens = used


class TokenRateLimit:
    """At most ``tokens_per_minute`` tokens in any 60 s window. A request waits until its
    estimate fits beside the tokens of the requests that started in the last minute; one larger
    than the whole limit still goes, alone, rather than waiting forever."""

    def __init__(self, tokens_per_minute: float) -> None:
        if tokens_per_minute <= 0:
            raise ValueError("tokens_per_minute must be positive")
        self.limit = float(tokens_per_minute)
        self._window: list[Reservation] = []
        self._lock = asyncio.Lock()  # binds to the run's one event loop on first use

    def used(self, now: float) -> int:
        self._window = [r for r in self._window if now - r.start < _WINDOW_S]
        return sum(r.tokens for r in self._window)

    async def reserve(self, tokens: int) -> Reservation:
        async with self._lock:  # waiters queue in order; the first must fit before the next
            while True:
                now = time.monotonic()
                if not self._window or self.used(now) + tokens <= self.limit:
                    reservation = Reservation(now, tokens)
                    self._window.append(reservation)
                    return reservation
                oldest = min(r.start for r in self._window)
                await asyncio.sleep(max(oldest + _WINDOW_S - now, 0.001))
