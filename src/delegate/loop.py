"""The problem loop: every problem solved, graded, priced and recorded, a few at a time.

A problem's failure is its record (scored wrong, kept in the denominator), never the run's end.
Each problem is one trace: its root span holds the problem and its graded outcome, tagged so the
Traces list filters on it. Progress (problems done, running accuracy and cost) goes to stderr.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable, Sequence

from delegate import tracing
from delegate.accounting import Price
from delegate.data import Problem
from delegate.models.budget import Budget, BudgetExhausted
from delegate.records import ProblemRecord, make_record
from delegate.scoring.answers import grade_answer
from delegate.strategies import Strategy, Trace

log = logging.getLogger(__name__)

# What a problem's root span shows as its outcome.
TRACE_OUTPUTS = (
    "final_text",
    "extracted",
    "correct",
    "correct_strict",
    "error",
    "tool_calls",
    "cost_usd",
)


def trace_tags(record: ProblemRecord) -> dict[str, str]:
    """A problem's outcome as trace tags, so the Traces list filters on them
    (``tags.outcome = 'wrong'``)."""
    outcome = "error" if record.error else "correct" if record.correct else "wrong"
    return {
        "outcome": outcome,
        "extracted": str(record.extracted),
        "gold": record.gold,
        "truncated": str(record.truncated).lower(),
        "problem_id": str(record.problem_id),
    }


async def solve_all(
    problems: Sequence[Problem],
    strategy: Strategy,
    llm_price: Price,
    slm_price: Price,
    concurrency: int,
    on_record: Callable[[ProblemRecord], None],
    budget: Budget | None = None,
    markers: Sequence[str] | None = None,
) -> tuple[list[ProblemRecord], float]:
    """Solve ``problems`` with at most ``concurrency`` in flight; return records in input order
    and the loop's wall time in seconds.

    Once the ``budget`` refuses a call, no new problem starts; those in flight go on while their
    calls fit. A problem whose call was refused has no record: it is solved when the run goes on.
    """
    gate = asyncio.Semaphore(concurrency)

    async def one(problem: Problem) -> ProblemRecord | None:
        async with gate:
            if budget is not None and budget.exhausted:
                return None
            record = await solve_one(problem, strategy, llm_price, slm_price, markers)
            if record is not None:
                on_record(record)
            return record

    start = time.perf_counter()
    records = await asyncio.gather(*(one(p) for p in problems))
    return [r for r in records if r is not None], time.perf_counter() - start


async def solve_one(
    problem: Problem,
    strategy: Strategy,
    llm_price: Price,
    slm_price: Price,
    markers: Sequence[str] | None = None,
) -> ProblemRecord | None:
    """One problem as one trace, graded off the event loop by its own grader (the prompt set's
    answer ``markers``); None when the budget stopped it before it finished."""
    trace = Trace()
    start = time.perf_counter()
    text, error = "", None
    inputs = {"problem_id": problem.id, "question": problem.question, "gold": problem.gold}
    with tracing.span(f"problem {problem.id}", "CHAIN", inputs) as root:
        try:
            text = await strategy.solve(problem, trace)
        except BudgetExhausted:
            log.debug("problem %d stopped: budget_usd reached", problem.id)
            root.set_error("stopped: budget_usd reached")
            return None
        except Exception as e:  # one problem's failure is its record, not the run's end
            error = f"{type(e).__name__}: {e}"
            log.warning("problem %d failed: %s", problem.id, error)
            root.set_error(error)
        # A replayed completion took no time now; count the time it took when it was made, so
        # a cached re-run reports the latency of the run it replays.
        latency = time.perf_counter() - start + trace.replayed_latency_s
        grade = await grade_answer(text, problem, markers)  # never on the loop, bounded
        record = make_record(
            problem, text, trace, latency, llm_price, slm_price, error, grade, strategy.name
        )
        root.set_outputs({k: getattr(record, k) for k in TRACE_OUTPUTS})
        root.set_tags(trace_tags(record))
    return record


class Progress:
    """Problems done, running accuracy and running cost, on stderr; silent when disabled."""

    def __init__(self, total: int, label: str, enabled: bool) -> None:
        from tqdm import tqdm

        self._bar = tqdm(
            total=total,
            desc=label,
            unit="problem",
            disable=not enabled,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        self._done = self._correct = 0
        self._cost = 0.0

    def update(self, record: ProblemRecord) -> None:
        self._done += 1
        self._correct += record.correct
        self._cost += record.cost_usd
        self._bar.set_postfix(acc=f"{self._correct / self._done:.1%}", cost=f"${self._cost:.4f}")
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()
