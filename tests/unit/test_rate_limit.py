"""The per-endpoint request limit spaces requests evenly."""

import asyncio
import itertools
import time

import pytest

from delegate.models.rate_limit import RequestRateLimit


def test_requests_are_spaced_by_the_limit() -> None:
    limit = RequestRateLimit(requests_per_minute=1200)  # one every 50 ms
    starts: list[float] = []

    async def request() -> None:
        await limit.slot()
        starts.append(time.monotonic())

    async def burst() -> None:
        await asyncio.gather(*(request() for _ in range(5)))

    asyncio.run(burst())
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(gap >= 0.045 for gap in gaps)  # never faster than the limit allows


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RequestRateLimit(0)
