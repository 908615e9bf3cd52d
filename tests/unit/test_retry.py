"""Which HTTP answers are retried and after how long; a deadline per attempt."""

from __future__ import annotations

import asyncio
import email.utils
import time

import pytest

from delegate.models.retry import (
    backoff_s,
    retry_after_s,
    status_retry_delay,
    with_retries,
)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "Retry-After": "9"}, 0.25),  # milliseconds win
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after_s(headers) == seconds


def test_retry_after_as_a_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (retry_after_s({"Retry-After": when}) or 0) <= 31


@pytest.mark.parametrize(
    ("retries_done", "full"),
    [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0), (5000, 8.0)],
)
def test_backoff_doubles_from_half_a_second_up_to_eight_less_a_quarter(
    retries_done: int, full: float
) -> None:
    assert 0.75 * full <= backoff_s(retries_done) <= full


@pytest.mark.parametrize(
    ("status", "headers", "retried"),
    [
        (408, {}, True),
        (409, {}, True),
        (429, {}, True),
        (500, {}, True),
        (503, {}, True),
        (400, {}, False),
        (401, {}, False),
        (404, {}, False),
        (400, {"x-should-retry": "true"}, True),
        (503, {"x-should-retry": "false"}, False),
        (429, {"Retry-After": "121"}, False),  # longer than anyone should wait
    ],
)
def test_which_statuses_are_retried(status: int, headers: dict[str, str], retried: bool) -> None:
    assert (status_retry_delay(status, headers, 0) is not None) == retried


def test_a_status_retry_waits_as_long_as_retry_after_asks() -> None:
    assert status_retry_delay(429, {"Retry-After": "7"}, 0) == 7.0
    assert 0.375 <= (status_retry_delay(429, {}, 0) or 0) <= 0.5


def run_attempts(outcomes: list[object], **kwargs: object) -> tuple[object, int]:
    """``with_retries`` over attempts that sleep (a float) or raise (an exception) in turn."""
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        outcome = outcomes[calls]
        calls += 1
        if isinstance(outcome, Exception):
            raise outcome
        await asyncio.sleep(float(outcome))  # type: ignore[arg-type]
        return "done"

    options = {
        "timeout_s": 0.2,
        "max_retries": 2,
        "retry_delay": lambda e, n: 0.0 if isinstance(e, ConnectionError) else None,
        "timed_out": lambda: TimeoutError("too slow"),
        **kwargs,
    }
    try:
        result: object = asyncio.run(with_retries(attempt, **options))  # type: ignore[arg-type]
    except Exception as e:
        result = e
    return result, calls


def test_each_attempt_has_its_own_deadline() -> None:
    # Two attempts of 1 s each are cut at 0.2 s; the third is quick.
    assert run_attempts([1.0, 1.0, 0.0]) == ("done", 3)


def test_retries_stop_at_max_retries_with_the_last_error() -> None:
    result, calls = run_attempts([1.0, ConnectionError("a"), ConnectionError("b")])
    assert calls == 3 and isinstance(result, ConnectionError) and str(result) == "b"
    result, calls = run_attempts([1.0, 1.0, 1.0])
    assert calls == 3 and isinstance(result, TimeoutError) and str(result) == "too slow"


def test_an_error_that_is_not_retried_is_raised_at_once() -> None:
    result, calls = run_attempts([ValueError("final"), 0.0])
    assert calls == 1 and isinstance(result, ValueError)
