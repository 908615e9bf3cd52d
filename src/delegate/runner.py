"""The experiment: validate, sample, build, then solve every problem into one MLflow run.

Everything that can fail on bad input (config values, the dataset, API keys, model files) is
checked before the MLflow run starts, so a typo leaves no run behind; after that, any failure ends
the run FAILED with its error. A run stopped by its budget (``budget_usd``) ends KILLED, tagged
``stopped=budget``: nothing went wrong, and the same command with a higher budget continues it.
``dry_run=true`` stops before any of that (``delegate.dry_run``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from delegate import identity, resume, tracing, tracking
from delegate.accounting import Price
from delegate.build import Models, RunSettings, build_strategy, run_identity, run_settings
from delegate.data import Problem, draw_sample, load_problems
from delegate.errors import ConfigError, DelegateError
from delegate.metrics import aggregate
from delegate.models.budget import Budget, BudgetExhausted
from delegate.outputs import RecordLog, write_results, write_samples
from delegate.records import ProblemRecord, make_record
from delegate.secrets import scrub
from delegate.strategies import Strategy, Trace
from delegate.validation import check_settings, check_tracking_uri

log = logging.getLogger(__name__)


# What a problem's root span shows as its outcome.
_TRACE_OUTPUTS = (
    "final_text",
    "extracted",
    "correct",
    "correct_strict",
    "error",
    "tool_calls",
    "cost_usd",
)


def _trace_tags(record: ProblemRecord) -> dict[str, str]:
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


class AllProblemsFailed(DelegateError):
    """Every problem errored, or every delegation failed: the run measured nothing it claims to
    (a router whose small model never answered is the large model alone), so it must not look
    like a result."""


class BudgetStopped(DelegateError):
    """The run's next model call would have passed ``budget_usd``: it stopped, unfinished."""

    run_status = "KILLED"  # stopped on purpose, not failed (``tracking.mlflow_run``)


STOPPED_TAG = "stopped"  # "budget" on a run its budget stopped; removed when it continues


async def solve_all(
    problems: Sequence[Problem],
    strategy: Strategy,
    llm_price: Price,
    slm_price: Price,
    concurrency: int,
    on_record: Callable[[ProblemRecord], None],
    budget: Budget | None = None,
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
                # A replayed completion took no time now; count the time it took when it was
                # made, so a cached re-run reports the latency of the run it replays.
                latency = time.perf_counter() - start + trace.replayed_latency_s
                record = make_record(problem, text, trace, latency, llm_price, slm_price, error)
                root.set_outputs({k: getattr(record, k) for k in _TRACE_OUTPUTS})
                root.set_tags(_trace_tags(record))
            on_record(record)
            return record

    start = time.perf_counter()
    records = await asyncio.gather(*(one(p) for p in problems))
    return [r for r in records if r is not None], time.perf_counter() - start


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


def _tags(cfg: Mapping[str, Any], models: Models) -> dict[str, str]:
    used = models.built()
    return {
        "strategy": str(cfg["strategy"]["name"]),
        "llm": used["llm"].name if "llm" in used else "none",
        "slm": used["slm"].name if "slm" in used else "none",
        "prompt": str(cfg["prompt"]["name"]),
        "dataset": f"{cfg['dataset']['name']}:{cfg['dataset'].get('split', 'test')}",
        "seed": str(cfg["seed"]),
        "git_commit": tracking.git_commit(),
    }


# Above this share of truncated answers a run warns: its accuracy measures max_tokens.
TRUNCATION_WARNING_SHARE = 0.05


def run(
    cfg: Mapping[str, Any],
    run_dir: Path,
    sweep: str | None = None,
    job: tuple[str, str] | None = None,
) -> dict[str, float]:
    """Run one experiment from a resolved plain-dict config; return its metrics. A run of a
    multirun carries its ``sweep`` id as a tag, under the sweep's parent run if there is one, and
    its ``job`` (number, overrides)."""
    check_settings(cfg)
    settings = run_settings(cfg)
    check_tracking_uri(str(cfg["tracking"]["uri"]))
    dry, retry_errors = _flag(cfg, "dry_run"), _flag(cfg, "retry_errors")
    if retry_errors and not cfg.get("resume", True):
        raise ConfigError(
            "retry_errors=true reopens the finished run to solve its errored problems; "
            "it cannot be combined with resume=false <retry_errors>"
        )
    dataset = load_problems(cfg["dataset"])
    problems = draw_sample(dataset, settings.samples, settings.seed)
    if dry:
        from delegate.dry_run import dry_run

        print(dry_run(cfg, dataset, problems), flush=True)  # the answer, where the user looks
        return {}
    models = Models(cfg)
    strategy = build_strategy(cfg, models)
    try:
        return asyncio.run(
            _run(cfg, run_dir, sweep, job, settings, dataset, problems, models, strategy)
        )
    except asyncio.CancelledError as e:  # SIGTERM inside the loop: the run ended FAILED
        raise Terminated(str(e) or "cancelled") from None


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
    cfg: Mapping[str, Any],
    run_dir: Path,
    sweep: str | None,
    job: tuple[str, str] | None,
    settings: RunSettings,
    dataset: Sequence[Problem],
    problems: Sequence[Problem],
    models: Models,
    strategy: Strategy,
) -> dict[str, float]:
    """The run in one event loop: prepare the models, solve, close them. The MLflow calls in
    between block the loop while nothing else runs on it."""
    _cancel_on_sigterm()
    async with contextlib.AsyncExitStack() as stack:
        for model in models.built().values():  # HTTP clients close in the loop they used
            stack.push_async_callback(model.aclose)
        start = time.perf_counter()
        log.info("preparing %s", ", ".join(f"{r}={m.name}" for r, m in models.built().items()))
        for model in models.built().values():
            await model.prepare()
        startup_s = time.perf_counter() - start
        prices = models.price("llm"), models.price("slm")

        # After prepare(): backends have resolved their devices and files.
        ident = run_identity(cfg, models, dataset)
        cid = identity.config_id(ident)
        run_dir.mkdir(parents=True, exist_ok=True)
        record_path = run_dir / "per_sample.jsonl"
        tags = _tags(cfg, models) | {
            identity.CONFIG_ID_TAG: cid,
            "sample_sha256": identity.problems_digest(problems),
            resume.RECORDS_TAG: str(record_path),
            resume.OWNER_TAG: resume.owner(),
        }
        run_name = f"{tags['strategy']}-{tags['prompt']}-{cid[:6]}-seed{settings.seed}"
        uri, experiment = cfg["tracking"]["uri"], cfg["tracking"]["experiment"]
        experiment_id = tracking.prepare_store(uri, experiment)
        if job is not None:
            tags[tracking.JOB_TAG], tags["overrides"] = job[0], scrub(job[1])[:5000]
        if sweep is not None:
            tags[tracking.SWEEP_TAG] = sweep
            if parent := tracking.find_sweep_run(experiment_id, sweep):
                tags["mlflow.parentRunId"] = parent
        previous = None
        if cfg.get("resume", True):
            previous = resume.find_resumable(
                experiment_id, cid, settings.seed, problems, _flag(cfg, "retry_errors")
            )
        budget = models.budget
        budget.start(previous.spent_usd if previous else 0.0, run_dir / resume.BUDGET_FILE)
        done = previous.records if previous else []
        offset_s = previous.elapsed_s if previous else 0.0
        run_id = previous.run_id if previous else None

        with tracking.mlflow_run(experiment_id, run_name, tags, run_id=run_id) as active:
            log.info("MLflow run %s in experiment %r at %s", active.info.run_id, experiment, uri)
            if previous is None:  # a reopened run already holds these (params cannot change)
                tracking.log_params(tracking.flatten(cfg))
            else:
                tracking.delete_tag(active.info.run_id, STOPPED_TAG)
            _write_config(run_dir, cfg)
            document = identity.identity_document(ident, cfg["prompt"])
            (run_dir / identity.IDENTITY_FILE).write_text(
                json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            write_samples(run_dir, problems)
            record_log = RecordLog(run_dir)
            progress = Progress(len(problems), tags["strategy"], bool(cfg.get("progress", True)))
            for record in done:
                record_log.append(record, offset_s)
                progress.update(record)
            finished = {r.problem_id for r in done}
            todo = [p for p in problems if p.id not in finished]
            loop_start = time.perf_counter()

            def on_record(record: ProblemRecord) -> None:
                record_log.append(record, offset_s + time.perf_counter() - loop_start)
                progress.update(record)

            traced = active.info.run_id if cfg["tracking"].get("traces", True) else None
            try:
                with tracing.traced_run(traced, experiment_id) as trace_stats:
                    new, wall = await solve_all(
                        todo, strategy, *prices, settings.concurrency, on_record, budget
                    )
            finally:
                progress.close()
                record_log.close()
            order = {p.id: i for i, p in enumerate(problems)}
            records = sorted(done + new, key=lambda r: order[r.problem_id])
            if budget.exhausted and len(records) < len(problems):
                _stop_for_budget(budget, len(records), len(problems))
            wall += offset_s
            rows = [r.to_row() for r in records]
            metrics = aggregate(rows, wall, trace_stats.wait_s)
            metrics["spent_usd"] = budget.spent_usd
            if trace_stats.failed:
                log.warning("%d of %d traces could not be written", trace_stats.failed, len(new))
            write_results(
                run_dir,
                tags["strategy"],
                metrics,
                records,
                {
                    "run_id": active.info.run_id,
                    "config_id": cid,
                    "startup_s": startup_s,
                    "tags": tags,
                    "resumed_problems": len(done),
                },
            )
            # A reopened FINISHED run (retry_errors) already holds a table: replace it.
            finished_before = previous is not None and previous.status == "FINISHED"
            tracking.log_results(metrics, rows, run_dir, replace_table=finished_before)
            log.info(
                "accuracy %.1f%% (strict %.1f%%) on %d problems, %d errors, cost $%.4f "
                "(billed now $%.4f), wall %.1fs",
                100 * metrics["accuracy"],
                100 * metrics["accuracy_strict"],
                len(records),
                metrics["n_errors"],
                metrics["cost_usd"],
                metrics["billed_usd"],
                wall,
            )
            _warn_if_truncated(cfg, metrics)
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
        return metrics


def _flag(cfg: Mapping[str, Any], key: str) -> bool:
    value = cfg.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, got {value!r} <{key}>")
    return value


def _stop_for_budget(budget: Budget, done: int, total: int) -> None:
    """End the run KILLED, tagged, with what it spent; the message is the one console line."""
    import mlflow

    mlflow.set_tag(STOPPED_TAG, "budget")
    mlflow.log_metric("spent_usd", budget.spent_usd)
    raise BudgetStopped(
        f"stopped by the budget: ${budget.spent_usd:.4f} billed of budget_usd={budget.cap_usd:g}, "
        f"{done} of {total} problems done; the same command with a higher budget_usd continues "
        "this run <budget_usd>"
    )


def _warn_if_truncated(cfg: Mapping[str, Any], metrics: Mapping[str, float]) -> None:
    n, cut = metrics["n_problems"], metrics["n_truncated"]
    if cut > TRUNCATION_WARNING_SHARE * n:
        limits = ", ".join(
            f"{role}.max_tokens={cfg[role].get('max_tokens')}"
            for role in ("llm", "slm")
            if role in cfg and cfg[role].get("max_tokens") is not None
        )
        log.warning(
            "%d of %d final answers (%.0f%%) were cut off by max_tokens (%s): their grades "
            "measure the limit, not the model; raise max_tokens",
            cut,
            n,
            100 * cut / n,
            limits,
        )


def _write_config(run_dir: Path, cfg: Mapping[str, Any]) -> None:
    import yaml

    text = yaml.safe_dump(tracking.redact(cfg), sort_keys=False, allow_unicode=True)
    (run_dir / "config.yaml").write_text(text, encoding="utf-8")
