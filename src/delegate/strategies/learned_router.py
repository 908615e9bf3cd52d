"""``learned_router``: a classifier reads each problem before any model is called and sends it to
the large model or the small one, which answers alone.

It learns from finished LLM-only and SLM-only runs named in ``learned_router.runs`` (run ids, or
``{config_id, seed}``), read from the run's own store through ``delegate.compare.runs``: their
per-sample tables give, per problem, whether only the large model got it right, and
``delegate.compare.analysis.learned.fit_router`` fits the router the report's ``learned_router``
curve cross-fits. ``prepare`` (called by the runner with the sample, before any model call or run
is opened) reads the runs, refuses a sample that shares a problem with them, trains and scores
the sample. A problem goes to the large model when its score reaches ``learned_router.threshold``,
or, with ``learned_router.target_share`` set, when it is among that share of the sample's highest
scores. Each record keeps its score (``confidence``) and whether it went to the large model
(``escalated``), so the live run sits on the curve those scores trace.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from delegate.config.fields import bounds
from delegate.data import Problem
from delegate.errors import ConfigError, DelegateError
from delegate.models import ChatModel
from delegate.prompts import PromptSet
from delegate.strategies.base import STRATEGIES, ModelProvider, Role, StrategySpec, Trace
from delegate.strategies.direct import ANSWER_PROMPTS

log = logging.getLogger(__name__)

_KEY = "learned_router.runs"


@dataclass(frozen=True)
class LearnedRouterSettings:
    """The ``learned_router:`` config section; its defaults are written in ``conf/config.yaml``,
    and its types and ranges are checked from these annotations (``delegate.config.fields``)."""

    runs: list[Any] = field(default_factory=list)  # run ids, or {config_id, seed}
    # Send to the large model when the score (a probability) reaches this.
    threshold: float = field(default=0.5, metadata=bounds(0.0, 1.0))
    # Instead: this share of the sample's top scores.
    target_share: float | None = field(default=None, metadata=bounds(0.0, 1.0, open_low=True))
    seed: int = 0  # the classifier's seed

    def __post_init__(self) -> None:
        runs = list(self.runs or [])
        if len(runs) < 2:
            raise ConfigError(
                "learned_router.runs must name the finished LLM-only and SLM-only runs to learn "
                f"from (run ids, or {{config_id, seed}}), got {runs!r} <{_KEY}>"
            )
        object.__setattr__(self, "runs", [_selector(r) for r in runs])


def _selector(value: Any) -> str | dict[str, str]:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping) and set(value) == {"config_id", "seed"}:
        return {"config_id": str(value["config_id"]), "seed": str(value["seed"])}
    raise ConfigError(
        f"each of learned_router.runs is a run id or {{config_id, seed}}, got {value!r} <{_KEY}>"
    )


def training_set(results: Sequence[Any]) -> tuple[list[str], list[bool], list[bool]]:
    """The problems both an LLM-only and an SLM-only run among ``results`` answered (paired by
    seed, id and text): their questions and each model's correctness.

    Raises:
        ConfigError: The runs hold no LLM-only or no SLM-only run, or share no problem.
    """
    from delegate.compare.table import by_key

    strong = by_key(r for r in results if r.strategy == "llm")
    weak = by_key(r for r in results if r.strategy == "slm")
    if not strong or not weak:
        found = sorted({r.strategy for r in results})
        raise ConfigError(
            f"learned_router.runs needs an LLM-only and an SLM-only run, got strategies {found} "
            f"<{_KEY}>"
        )
    keys = sorted(strong.keys() & weak.keys())
    if not keys:
        raise ConfigError(f"the runs in learned_router.runs share no problem <{_KEY}>")
    return [k[2] for k in keys], [strong[k].correct for k in keys], [weak[k].correct for k in keys]


class LearnedRouterStrategy:
    """Scores each problem with a router trained on earlier runs; one model answers it."""

    name = "learned_router"

    def __init__(
        self, llm: ChatModel, slm: ChatModel, prompts: PromptSet, settings: LearnedRouterSettings
    ) -> None:
        self.llm, self.slm, self.prompts, self.settings = llm, slm, prompts, settings
        self.threshold = float(settings.threshold)
        self._scores: dict[str, float] | None = None
        self._training: frozenset[str] = frozenset()

    def prepare(self, problems: Sequence[Problem], tracking_uri: str) -> None:
        """Read the training runs from the store at ``tracking_uri``, refuse a sample that
        shares a problem with them, train, and score the sample.

        Raises:
            ConfigError: A run cannot be read, the runs cannot train a router, or the sample
                overlaps them.
        """
        from delegate.compare.analysis.learned import fit_router, threshold_for_share
        from delegate.compare.runs import load_selected

        try:
            results = load_selected(tracking_uri, self.settings.runs)
        except DelegateError as e:
            raise ConfigError(f"{e} <{_KEY}>") from None
        questions, strong, weak = training_set(results)
        self._training = frozenset(questions)
        overlap = [p.id for p in problems if p.question in self._training]
        if overlap:
            shown = ", ".join(map(str, overlap[:10])) + (" ..." if len(overlap) > 10 else "")
            raise ConfigError(
                f"{len(overlap)} of the {len(problems)} problems to solve are in the training "
                f"runs (problem ids {shown}); train on another sample or seed <{_KEY}>"
            )
        router = fit_router(questions, strong, weak, seed=self.settings.seed)
        texts = [p.question for p in problems]
        scores = [float(s) for s in router.scores(texts)] if texts else []
        self._scores = dict(zip(texts, scores, strict=True))
        if self.settings.target_share is not None:
            self.threshold = threshold_for_share(scores, self.settings.target_share)
        log.info(
            "learned router trained on %d problems; threshold %.4g sends %d of %d to the llm",
            len(questions),
            self.threshold,
            sum(s >= self.threshold for s in self._scores.values()),
            len(texts),
        )

    async def solve(self, problem: Problem, trace: Trace) -> str:
        if self._scores is None or problem.question not in self._scores:
            raise ConfigError(f"learned_router was not prepared for problem {problem.id}")
        score = self._scores[problem.question]
        trace.confidence = score
        trace.escalated = score >= self.threshold
        role: Role = "llm" if trace.escalated else "slm"
        model = self.llm if trace.escalated else self.slm
        messages = self.prompts.messages(self.prompts.system, self.prompts.user, problem.question)
        completion = await model.complete(messages)
        trace.add(role, completion)
        return trace.answer(completion)


def _build(
    models: ModelProvider, prompts: PromptSet, settings: LearnedRouterSettings
) -> LearnedRouterStrategy:
    return LearnedRouterStrategy(models.llm(), models.slm(), prompts, settings)


STRATEGIES.register("learned_router")(
    StrategySpec(_build, ("llm", "slm"), ANSWER_PROMPTS, LearnedRouterSettings)
)
