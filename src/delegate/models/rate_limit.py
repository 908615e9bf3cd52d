"""A requests-per-minute limit for one endpoint, shared by every problem in flight.

Requests are spaced evenly (at most one every ``60 / rpm`` seconds) rather than in bursts, so a
provider's per-minute window never sees more than ``rpm`` of them.
"""

from __future__ import annotations

import asyncio
import time


class RequestRateLimit:
    """Awaiting ``slot()`` returns when the next request may start."""

    def __init__(self, requests_per_minute: float) -> None:
        if requests_per_minute <= 0:
            raise ValueError("requests_per_minute must be positive")
        self.interval_s = 60.0 / requests_per_minute
        self._next = 0.0
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def slot(self) -> None:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:  # a lock belongs to one event loop
            self._lock, self._loop = asyncio.Lock(), loop
        async with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval_s
        if wait > 0:
            await asyncio.sleep(wait)
