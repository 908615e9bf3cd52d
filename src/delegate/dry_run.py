"""``dry_run=true``: what a run would send and what it may cost, before paying for anything.

The dataset, the sample, the prompts and the prices are loaded as for a run; then the strategy is
run on every problem against stand-in models that record the first requests a problem makes (the
large model's first turn, the cascade's k samples) and stop it there. No model is prepared or
called (no key is read, no connection made) and nothing is written to the MLflow store: earlier
runs are only read, when the store exists, to price the output from what they measured.

Input tokens are counted with the model's own tokenizer when its files are on this machine
(``delegate.token_count``), otherwise estimated at about four characters a token, and the report
says which.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from delegate import identity, tracking
from delegate.accounting import Price, Usage
from delegate.build import Models, build_strategy, run_identity
from delegate.config import RunConfig
from delegate.data import Problem
from delegate.models.base import ChatModel, Completion, Message, ModelWrapper
from delegate.models.budget import Budget
from delegate.plan import Plan
from delegate.strategies import Trace
from delegate.token_count import TokenCounter, token_counter


class _Stop(BaseException):
    """Ends a problem at its first model call; a BaseException so no strategy handles it."""


@dataclass
class Request:
    role: str
    messages: list[Message]
    tools: list[dict[str, Any]] | None
    prefix: str | None


class _Recorder(ModelWrapper):
    """Stands in for a backend: records each request and sends nothing."""

    def __init__(self, inner: ChatModel, role: str, sent: list[Request]) -> None:
        super().__init__(inner)
        self.role, self.sent = role, sent

    async def prepare(self) -> None:  # nothing to load or check: nothing will be sent
        return None

    async def aclose(self) -> None:
        return None

    async def complete(self, messages: list[Message], **options: Any) -> Completion:
        request = self.request(messages, options)
        self.sent.append(
            Request(self.role, messages, request["tools"], request["assistant_prefix"])
        )
        raise _Stop


class _DryModels(Models):
    """The run's models, each backend replaced by a recorder; no cache, no budget."""

    def __init__(self, config: RunConfig) -> None:
        super().__init__(config.models, config.seed)  # no cache
        self.budget = Budget(None)
        self.sent: list[Request] = []
        self.backends: dict[str, ChatModel] = {}

    def _backend(self, role: Any) -> ChatModel:
        backend = self.backends.get(role) or super()._backend(role)
        self.backends[role] = backend
        return _Recorder(backend, role, self.sent)


@dataclass
class _RoleTotals:
    requests: int = 0
    tokens: int = 0
    counter: TokenCounter | None = None
    price: Price = field(default_factory=Price)
    max_tokens: int = 0


def dry_run(plan: Plan) -> str:
    """The dry run's report: per role the first requests and their input tokens, then a dollar
    range for the whole sample."""
    cfg = plan.config
    models = _DryModels(cfg)
    strategy = build_strategy(cfg, models)
    asyncio.run(_first_requests(strategy, plan.problems))
    roles: dict[str, _RoleTotals] = {}
    for request in models.sent:
        totals = roles.get(request.role)
        if totals is None:
            section = cfg.model(request.role)  # type: ignore[arg-type]
            counter = token_counter(models.backends[request.role])
            limit = models.backends[request.role].identity().get("max_tokens")
            price = section.price
            totals = roles[request.role] = _RoleTotals(0, 0, counter, price, int(limit or 0))
        assert totals.counter is not None
        totals.requests += 1
        totals.tokens += totals.counter.count(request.messages, request.tools, request.prefix)
    cid = identity.config_id(run_identity(cfg, models, plan.dataset))
    runs = tracking.finished_runs(cfg.tracking.uri, cfg.tracking.experiment, cid)
    history = [r.metrics for r in runs if r.metrics.get("n_problems")]
    return _report(cfg, plan.problems, models, roles, history)


async def _first_requests(strategy: Any, problems: Sequence[Problem]) -> None:
    for problem in problems:
        try:
            await strategy.solve(problem, Trace())
        except _Stop:
            continue


def _report(
    cfg: RunConfig,
    problems: Sequence[Problem],
    models: _DryModels,
    roles: Mapping[str, _RoleTotals],
    history: list[dict[str, float]],
) -> str:
    n = len(problems)
    lines = [
        f"dry run: strategy={cfg.strategy}, {n} problems ({cfg.dataset.tag}, "
        f"seed {cfg.seed}); no model called, nothing logged"
    ]
    input_usd = 0.0
    for role, t in roles.items():
        assert t.counter is not None
        name = models.backends[role].name
        batch = cfg.models[role].batch  # type: ignore[index]
        lines.append(
            f"  {role} {name}: {t.requests} first requests, {t.tokens:,} input tokens "
            f"({t.counter.how})" + (f"; at the batch price <{role}.batch=true>" if batch else "")
        )
        input_usd += t.price.cost_usd(Usage(input_tokens=t.tokens))
    if history:
        low, high = _range_from_history(n, input_usd, roles, history)
        lines.append(
            f"  cost: ${low:.4f} to ${high:.4f} (first requests' input, plus the output tokens per "
            f"problem of {len(history)} earlier finished run(s) of this configuration)"
        )
    else:
        high = input_usd + sum(
            t.price.cost_usd(Usage(output_tokens=t.requests * t.max_tokens)) for t in roles.values()
        )
        limits = ", ".join(f"{r}.max_tokens={t.max_tokens}" for r, t in roles.items())
        lines.append(
            f"  cost: ${input_usd:.4f} to ${high:.4f} for the first requests (input, plus up to "
            f"{limits} per call); no earlier finished run of this configuration, so later "
            "turns (tool calls, escalations) come on top"
        )
    return "\n".join(lines)


def _range_from_history(
    n: int,
    input_usd: float,
    roles: Mapping[str, _RoleTotals],
    history: list[dict[str, float]],
) -> tuple[float, float]:
    """Per earlier run: the first requests' input now plus its output tokens per problem at
    today's prices; the high end also covers what it cost per problem in all (later turns)."""
    lows, highs = [], []
    for metrics in history:
        per_problem = n / metrics["n_problems"]
        output_usd = sum(
            t.price.cost_usd(Usage(output_tokens=int(metrics.get(f"{role}_output_tokens", 0))))
            * per_problem
            for role, t in roles.items()
        )
        estimate = input_usd + output_usd
        lows.append(estimate)
        highs.append(max(estimate, metrics.get("cost_usd", 0.0) * per_problem))
    return min(lows), max(highs)
