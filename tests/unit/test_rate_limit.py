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


class VirtualClock:
    """time.monotonic and asyncio.sleep for the limiter, on a clock that sleeping advances."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from delegate.models import rate_limit

        self.now = 1000.0
        monkeypatch.setattr(rate_limit.time, "monotonic", lambda: self.now)

        async def sleep(seconds: float) -> None:
            self.now += seconds

        monkeypatch.setattr(rate_limit.asyncio, "sleep", sleep)


def test_tokens_wait_for_the_window_and_settle_to_what_was_used(monkeypatch) -> None:
    from delegate.models.rate_limit import TokenRateLimit

    clock = VirtualClock(monkeypatch)
    limit = TokenRateLimit(tokens_per_minute=1000)
    starts: list[float] = []

    async def scenario() -> None:
        first = await limit.reserve(600)
        starts.append(clock.now)
        second = await limit.reserve(600)  # 1200 > 1000: waits for the first to leave the window
        starts.append(clock.now)
        second.settle(300)  # the response used far less than its estimate
        await limit.reserve(600)  # 300 + 600 fits beside it at once
        starts.append(clock.now)
        assert first.tokens == 600

    asyncio.run(scenario())
    assert starts == [1000.0, 1060.0, 1060.0]


def test_a_request_larger_than_the_limit_goes_alone(monkeypatch) -> None:
    from delegate.models.rate_limit import TokenRateLimit

    clock = VirtualClock(monkeypatch)
    limit = TokenRateLimit(tokens_per_minute=100)

    async def scenario() -> list[float]:
        await limit.reserve(500)
        at = [clock.now]
        await limit.reserve(10)  # waits for the big one's minute to pass
        return [*at, clock.now]

    assert asyncio.run(scenario()) == [1000.0, 1060.0]


def test_the_estimate_counts_the_prompt_and_every_token_it_may_generate() -> None:
    from delegate.models.rate_limit import estimate_tokens

    messages = [{"role": "user", "content": "x" * 400}]
    # {"role": "user", "content": "xxx..."} is 431 characters of JSON: 107 tokens + 256
    assert estimate_tokens(messages, max_tokens=256) == 107 + 256
