"""The experiment, in four steps: plan, session, loop, finalize.

1. ``plan.make_plan``: the typed config, the dataset and the sample; bad input fails here, before
   anything is built or opened, so a typo leaves no run behind.
2. ``session.prepare_session`` and ``open_session``: once the models are prepared, the
   configuration identity, the MLflow run (new, or the unfinished one it continues), its tags,
   budget and files.
3. ``loop.solve_all``: every problem solved, graded and recorded as it finishes.
4. ``finalize.finalize``: metrics, files, the per-sample table, and the checks that keep a run
   that measured nothing from passing for a result.

After step 2 any failure ends the run FAILED with its error; a run stopped by its budget ends
KILLED, tagged ``stopped=budget``, and the same command with a higher budget continues it.
``dry_run=true`` stops after step 1 (``delegate.dry_run``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from delegate import trace_writer, tracing
from delegate.build import Models, build_strategy
from delegate.errors import DelegateError
from delegate.finalize import (  # noqa: F401 - published names
    AllProblemsFailed,
    BudgetStopped,
    finalize,
    stop_if_over_budget,
)
from delegate.loop import Progress, solve_all
from delegate.models import batch_ledger
from delegate.models.openai_batch import BatchNotCollected
from delegate.outputs import RecordLog
from delegate.plan import Plan, make_plan
from delegate.records import ProblemRecord
from delegate.scoring.pool import close_shared_pool
from delegate.session import Session, open_session, prepare_session
from delegate.strategies import Strategy

log = logging.getLogger(__name__)


def run(
    cfg: Mapping[str, Any],
    run_dir: Path,
    sweep: str | None = None,
    job: tuple[str, str] | None = None,
) -> dict[str, float]:
    """Run one experiment from a resolved plain-dict config; return its metrics. A run of a
    multirun carries its ``sweep`` id as a tag, under the sweep's parent run if there is one, and
    its ``job`` (number, overrides)."""
    plan = make_plan(cfg)
    if plan.config.dry_run:
        from delegate.dry_run import dry_run

        print(dry_run(plan), flush=True)  # the answer, where the user looks
        return {}
    models = Models.for_run(plan.config)
    strategy = build_strategy(plan.config, models)
    prepare = getattr(strategy, "prepare", None)
    if prepare is not None:  # a strategy that learns from the store first (learned_router)
        prepare(plan.problems, plan.config.tracking.uri)
    try:
        return asyncio.run(_run(plan, models, strategy, run_dir, sweep, job))
    except asyncio.CancelledError as e:  # SIGTERM inside the loop: the run ended FAILED
        raise Terminated(str(e) or "cancelled") from None
    except BatchNotCollected as e:  # the run ended FAILED; the same command collects the batch
        raise DelegateError(str(e)) from None
    finally:
        close_shared_pool()  # its grading processes end with the run


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: the run ends FAILED with the reason, traces are written,
    and the same command resumes it."""


def _cancel_on_sigterm() -> None:
    """In the run's loop, SIGTERM cancels the run, so every ``finally`` runs (records closed,
    traces written, the MLflow run ended FAILED with the reason)."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    if task is not None:
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):  # not main thread
            loop.add_signal_handler(signal.SIGTERM, task.cancel, "stopped by SIGTERM")


async def _run(
    plan: Plan,
    models: Models,
    strategy: Strategy,
    run_dir: Path,
    sweep: str | None,
    job: tuple[str, str] | None,
) -> dict[str, float]:
    """The run in one event loop: prepare the models, solve, close them. The MLflow calls in
    between block the loop while nothing else runs on it."""
    _cancel_on_sigterm()
    async with contextlib.AsyncExitStack() as stack:
        if plan.config.tracking.traces:  # its MLflow import overlaps the models' set-up
            stack.enter_context(trace_writer.started_early())
        for model in models.built().values():  # HTTP clients close in the loop they used
            stack.push_async_callback(model.aclose)
        start = time.perf_counter()
        log.info("preparing %s", ", ".join(f"{r}={m.name}" for r, m in models.built().items()))
        for model in models.built().values():
            await model.prepare()
        startup_s = time.perf_counter() - start
        opening = prepare_session(plan, models, run_dir, sweep, job)
        if opening.nothing_to_retry:
            assert opening.previous is not None
            log.info(
                "retry_errors: run %s has no errored problem; nothing sent", opening.previous.run_id
            )
            return opening.previous.metrics
        with open_session(plan, models, opening) as session:
            return await _solve(plan, models, strategy, session, startup_s)
    raise AssertionError("unreachable")  # the session returns or raises


async def _solve(
    plan: Plan, models: Models, strategy: Strategy, session: Session, startup_s: float
) -> dict[str, float]:
    """Solve the problems the session has not yet recorded, then finalize the run."""
    config, previous = plan.config, session.previous
    done = previous.records if previous else []
    offset_s = previous.elapsed_s if previous else 0.0
    record_log = RecordLog(session.run_dir)
    progress = Progress(len(plan.problems), config.strategy, config.progress)
    for record in done:
        record_log.append(record, offset_s)
        progress.update(record)
    finished = {r.problem_id for r in done}
    todo = [p for p in plan.problems if p.id not in finished]
    loop_start = time.perf_counter()

    def on_record(record: ProblemRecord) -> None:
        record_log.append(record, offset_s + time.perf_counter() - loop_start)
        progress.update(record)

    traced = session.run_id if config.tracking.traces else None
    prices = models.price("llm"), models.price("slm")
    batches = previous.batch_ids if previous else ()
    try:
        with (
            tracing.traced_run(traced, session.store.experiment_id) as trace_stats,
            batch_ledger.recording(batches, config.retry_errors, session.record_batches),
        ):
            new, wall = await solve_all(
                todo,
                strategy,
                *prices,
                config.concurrency,
                on_record,
                models.budget,
                config.prompts.markers,
            )
    finally:
        progress.close()
        record_log.close()
    order = {p.id: i for i, p in enumerate(plan.problems)}
    records = sorted(done + new, key=lambda r: order[r.problem_id])
    stop_if_over_budget(session, models.budget, len(records), len(plan.problems))
    if trace_stats.failed:
        log.warning("%d of %d traces could not be written", trace_stats.failed, len(new))
    extra = {"startup_s": startup_s, "resumed_problems": len(done)}
    return finalize(
        session, config, records, wall + offset_s, trace_stats.wait_s, models.budget, extra
    )
