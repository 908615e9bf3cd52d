"""A run's end: its metrics from its records, its files and table logged, and the checks that
keep a run that measured nothing from passing for a result.

A run whose budget stopped it ends KILLED (``stopped=budget``); a run whose every problem failed,
or whose router never got an answer from the small model, ends FAILED; more than 5% of answers
cut off by ``max_tokens`` is a warning naming the limit. Beside the aggregate metrics a run logs
its cost per problem and its accuracy's 95% interval (``RUN_METRICS``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from delegate.config import ROLES, RunConfig
from delegate.errors import DelegateError
from delegate.intervals import proportion_interval
from delegate.metrics import aggregate
from delegate.models.budget import Budget
from delegate.outputs import write_results
from delegate.records import ProblemRecord
from delegate.session import Session
from delegate.tags import STOPPED_TAG

log = logging.getLogger(__name__)

# Metrics a run logs beside ``metrics.aggregate``'s, so runs of different sizes share a scatter
# (cost per problem) and a run's accuracy shows how far it can be trusted (Wilson's 95% interval,
# as the comparison report computes it).
RUN_METRICS = ("cost_per_problem_usd", "accuracy_ci_low", "accuracy_ci_high")

# Above this share of truncated answers a run warns: its accuracy measures max_tokens.
TRUNCATION_WARNING_SHARE = 0.05


class AllProblemsFailed(DelegateError):
    """Every problem errored, or every delegation failed: the run measured nothing it claims to
    (a router whose small model never answered is the large model alone), so it must not look
    like a result."""


class BudgetStopped(DelegateError):
    """The run's next model call would have passed ``budget_usd``: it stopped, unfinished."""

    run_status = "KILLED"  # stopped on purpose, not failed (``Store.run``)


def stop_if_over_budget(session: Session, budget: Budget, done: int, total: int) -> None:
    """End the run KILLED, tagged, with what it spent, if the budget left problems unsolved."""
    if not budget.exhausted or done >= total:
        return
    session.store.set_tags({STOPPED_TAG: "budget"})
    session.store.log_metrics({"spent_usd": budget.spent_usd})
    raise BudgetStopped(
        f"stopped by the budget: ${budget.spent_usd:.4f} billed of budget_usd={budget.cap_usd:g}, "
        f"{done} of {total} problems done; the same command with a higher budget_usd continues "
        "this run <budget_usd>"
    )


def finalize(
    session: Session,
    config: RunConfig,
    records: Sequence[ProblemRecord],
    wall_s: float,
    trace_wait_s: float,
    budget: Budget,
    extra: Mapping[str, Any],
) -> dict[str, float]:
    """Metrics, files and the MLflow table of a run whose problems are all recorded."""
    metrics = aggregate(records, wall_s, trace_wait_s)
    rows = [r.to_row() for r in records]
    metrics["spent_usd"] = budget.spent_usd
    metrics["possibly_billed_usd"] = budget.possibly_billed_usd
    metrics |= run_metrics(records)
    info = {"run_id": session.run_id, "config_id": session.config_id, "tags": session.tags}
    write_results(session.run_dir, config.strategy, metrics, records, info | dict(extra))
    # A reopened run may hold a table from an earlier session: replace it, never append.
    previous = session.previous
    reopened = previous is not None and not previous.finished
    session.store.log_results(metrics, rows, session.run_dir, replace_table=reopened)
    log.info(
        "accuracy %.1f%% (strict %.1f%%) on %d problems, %d errors, cost $%.4f "
        "(billed now $%.4f), wall %.1fs",
        100 * metrics["accuracy"],
        100 * metrics["accuracy_strict"],
        len(records),
        metrics["n_errors"],
        metrics["cost_usd"],
        metrics["billed_usd"],
        wall_s,
    )
    warn_if_truncated(config, metrics)
    check_measured(records, metrics)
    return metrics


def run_metrics(records: Sequence[ProblemRecord]) -> dict[str, float]:
    """``RUN_METRICS`` of a run's records (at least one)."""
    n = len(records)
    low, high = proportion_interval(sum(r.correct for r in records), n)
    return {
        "cost_per_problem_usd": sum(r.cost_usd for r in records) / n,
        "accuracy_ci_low": low,
        "accuracy_ci_high": high,
    }


def check_measured(records: Sequence[ProblemRecord], metrics: Mapping[str, float]) -> None:
    """Fail a run that measured nothing it claims to."""
    if metrics["slm_failures"] and not sum(r.slm_tool_calls for r in records):
        first = next(c["error"] for r in records for c in r.tool_call_log if c.get("error"))
        raise AllProblemsFailed(
            f"every small-model tool call failed ({int(metrics['slm_failures'])} of "
            f"them): the router answered alone; first error: {first}"
        )
    if metrics["n_errors"] == len(records):
        raise AllProblemsFailed(
            f"all {len(records)} problems failed; first error: {records[0].error}"
        )


def warn_if_truncated(config: RunConfig, metrics: Mapping[str, float]) -> None:
    n, cut = metrics["n_problems"], metrics["n_truncated"]
    if cut > TRUNCATION_WARNING_SHARE * n:
        limits = ", ".join(
            f"{role}.max_tokens={config.model(role).max_tokens}"
            for role in ROLES
            if config.model(role).max_tokens is not None
        )
        log.warning(
            "%d of %d final answers (%.0f%%) were cut off by max_tokens (%s): their grades "
            "measure the limit, not the model; raise max_tokens",
            cut,
            n,
            100 * cut / n,
            limits,
        )
