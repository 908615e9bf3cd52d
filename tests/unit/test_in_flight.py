"""The problem loop's places: a parked problem gives its place up, and listeners hear once every
problem in flight is parked (the moment a batch is worth sending)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from delegate.models.in_flight import InFlight, tracking


def test_every_problem_parks_before_the_listener_is_told_and_places_are_freed() -> None:
    async def main() -> tuple[list[int], int]:
        flight = InFlight(concurrency=2)
        heard: list[int] = []
        release = asyncio.Event()
        most_running = 0

        def all_parked() -> None:
            heard.append(flight.parked)
            release.set()

        async def problem(i: int) -> None:
            nonlocal most_running
            async with flight.problem(str(i)):
                most_running = max(most_running, flight.running - flight.parked)
                await asyncio.sleep(0.001 * i)  # work before the deferred call
                with flight.parked_call():
                    flight.when_all_parked(all_parked)
                    await release.wait()

        with tracking(flight):
            await asyncio.gather(*(problem(i) for i in range(5)))
        return heard, most_running

    heard, most_running = asyncio.run(main())
    assert heard == [5]  # told once, with all five parked, though only two places exist
    assert most_running <= 2  # never more than two problems at work at once


def _recorder() -> tuple[list[str], asyncio.Event, Callable[[], None]]:
    """Events seen, the event parked calls wait on, and a listener that records and sets it."""
    events: list[str] = []
    release = asyncio.Event()

    def all_parked() -> None:
        events.append("all parked")
        release.set()

    return events, release, all_parked


def test_a_problem_at_work_keeps_the_listener_waiting() -> None:
    async def main() -> list[str]:
        flight = InFlight(concurrency=4)
        events, release, all_parked = _recorder()

        async def parks() -> None:
            async with flight.problem("a"):
                with flight.parked_call():
                    flight.when_all_parked(all_parked)
                    await release.wait()

        async def works() -> None:
            async with flight.problem("b"):
                await asyncio.sleep(0.05)
                events.append("work done")

        await asyncio.gather(parks(), works())
        return events

    assert asyncio.run(main()) == ["work done", "all parked"]


def test_a_cancelled_problem_leaves_its_place_free() -> None:
    async def main() -> bool:
        flight = InFlight(concurrency=1)

        async def parks_forever() -> None:
            async with flight.problem("a"):
                with flight.parked_call():
                    await asyncio.Event().wait()

        task = asyncio.create_task(parks_forever())
        await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        async with asyncio.timeout(1):
            async with flight.problem("b"):
                return flight.running == 1 and flight.parked == 0

    assert asyncio.run(main())


def test_a_problem_with_several_calls_parked_counts_once() -> None:
    async def main() -> list[tuple[int, int]]:
        flight = InFlight(concurrency=4)
        heard: list[tuple[int, int]] = []
        release = asyncio.Event()

        def all_parked() -> None:
            heard.append((flight.parked, flight.running))
            release.set()

        async def sample() -> None:
            with flight.parked_call():
                flight.when_all_parked(all_parked)
                await release.wait()

        async def problem(i: int) -> None:
            async with flight.problem(str(i)):
                await asyncio.gather(*(sample() for _ in range(3)))  # a cascade's samples

        with tracking(flight):
            await asyncio.gather(problem(1), problem(2))
        return heard

    assert asyncio.run(main()) == [(2, 2)]


def test_a_call_still_under_way_keeps_its_problem_from_counting_as_parked() -> None:
    from delegate.models.in_flight import calling

    async def main() -> list[str]:
        flight = InFlight(concurrency=4)
        events, release, all_parked = _recorder()

        async def parks() -> None:
            with calling(), flight.parked_call():
                flight.when_all_parked(all_parked)
                await release.wait()

        async def looks_up_then_parks() -> None:  # a call still in the response cache, say
            with calling():
                await asyncio.sleep(0.05)
                events.append("looked up")
                with flight.parked_call():
                    await release.wait()

        async def problem() -> None:
            async with flight.problem("a"):
                await asyncio.gather(parks(), looks_up_then_parks())

        with tracking(flight):
            await problem()
        return events

    assert asyncio.run(main()) == ["looked up", "all parked"]
