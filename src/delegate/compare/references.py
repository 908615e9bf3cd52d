"""Each configuration set against its references: the LLM-only (and SLM-only) configuration it
should be read against, the paired comparison with LLM-only, the oracle and cost-matched random
mix, and (for routers and cascades) its PGR and bootstrap test against the mix.

A reference is found by identity: the configuration in which that model answers alone with the
same model settings, the same prompt set's answer instructions, dataset and sample. An SLM-only
row's LLM reference (it does not use the large model) is any LLM-only configuration with the same
instructions, dataset and sample; among several, the one sharing most problems.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from delegate.compare.analysis.baselines import (
    cost_matched_mix,
    oracle,
    paired_bootstrap_beats_random,
)
from delegate.compare.analysis.intervals import (
    accuracy_change_interval,
    mcnemar_p,
    paired_counts,
)
from delegate.compare.table import Configuration, Key
from delegate.records import ProblemRecord

BOOTSTRAP_SEED = 0
BOOTSTRAP_RESAMPLES = 2000

Configurations = Mapping[str, Configuration]


@dataclass(frozen=True)
class Reference:
    """The configuration a row is read against, and how many candidates there were."""

    config_id: str
    candidates: int = 1


@dataclass(frozen=True)
class VersusLlm:
    """A row against LLM-only on the (seed, problem) pairs both answered; the accuracy change
    and its test are None when no pair is shared, the cost ratio when LLM-only cost nothing."""

    shared_problems: int
    accuracy_change: float | None
    accuracy_change_ci_low: float | None
    accuracy_change_ci_high: float | None
    mcnemar_p: float | None
    cost_ratio: float | None
    cost_reduction: float | None


@dataclass(frozen=True)
class Baselines:
    """The oracle over LLM-only and SLM-only, and the random mix of the two at the row's cost
    (None where no mix costs that)."""

    oracle_accuracy: float | None
    oracle_problems: int
    random_mix_share_llm: float | None
    random_mix_accuracy: float | None


@dataclass(frozen=True)
class AgainstMix:
    """A router or cascade row's PGR = (accuracy - SLM-only) / (LLM-only - SLM-only) and its
    accuracy minus the random mix's at its own cost, with a seeded paired bootstrap 95%
    interval, on the pairs it shares with both references. ``beats_random_mix`` says "yes",
    "no" or "not shown"; None where the test does not apply."""

    pgr: float | None
    pgr_problems: int | None
    beats_random_mix: str | None
    beats_random_mix_diff: float | None
    beats_random_mix_ci_low: float | None
    beats_random_mix_ci_high: float | None


def reference(config: Configuration, configs: Configurations, role: str) -> Reference | None:
    """The configuration in which ``role``'s model answers alone under ``config``'s settings
    (see the module's docstring); None when the report has none."""
    target = config.alone_id(role)
    if target is not None:
        return Reference(target) if target in configs else None
    mine = config.document
    answer = {k: mine["answer_prompts"].get(k) for k in ("system", "user")}
    candidates = [
        other
        for other in configs.values()
        if other.document["identity"]["strategy"] == role
        and other.document["identity"]["prompt"] == answer
        and other.document["identity"]["dataset"] == mine["identity"]["dataset"]
    ]
    if not candidates:
        return None
    best = max(candidates, key=lambda c: len(c.by_key.keys() & config.by_key.keys()))
    return Reference(best.config_id, len(candidates))


def describe(ref: Reference | None, configs: Configurations) -> str:
    """A reference as the report names it."""
    if ref is None:
        return "none"
    label = configs[ref.config_id].label
    return label if ref.candidates == 1 else f"{label} (1 of {ref.candidates} candidates)"


def _outcomes(config: Configuration) -> dict[Key, bool]:
    return {key: p.correct for key, p in config.by_key.items()}


def versus_llm(config: Configuration, llm: Configuration) -> VersusLlm:
    """``config`` against the LLM-only configuration ``llm``."""
    counts = paired_counts(_outcomes(llm), _outcomes(config))
    change, low, high = accuracy_change_interval(counts)
    llm_cost = llm.summary.cost_per_problem_usd
    ratio = config.summary.cost_per_problem_usd / llm_cost if llm_cost > 0 else None
    shared = bool(counts.n)
    return VersusLlm(
        shared_problems=counts.n,
        accuracy_change=change if shared else None,
        accuracy_change_ci_low=low if shared else None,
        accuracy_change_ci_high=high if shared else None,
        mcnemar_p=mcnemar_p(counts.only_a, counts.only_b) if shared else None,
        cost_ratio=ratio,
        cost_reduction=None if ratio is None else 1 - ratio,
    )


def baselines(config: Configuration, llm: Configuration, slm: Configuration) -> Baselines:
    """The oracle and the cost-matched random mix of ``llm`` and ``slm`` for ``config``."""
    accuracy, shared = oracle(_outcomes(llm), _outcomes(slm))
    mix = cost_matched_mix(
        llm.summary.accuracy,
        slm.summary.accuracy,
        llm.summary.cost_per_problem_usd,
        slm.summary.cost_per_problem_usd,
        config.summary.cost_per_problem_usd,
    )
    return Baselines(
        oracle_accuracy=accuracy if shared else None,
        oracle_problems=shared,
        random_mix_share_llm=None if mix is None else mix.share_llm,
        random_mix_accuracy=None if mix is None else mix.accuracy,
    )


def _column(records: Sequence[ProblemRecord], correct: bool) -> np.ndarray:
    return np.array([p.correct if correct else p.cost_usd for p in records], dtype=float)


def against_mix(config: Configuration, configs: Configurations) -> AgainstMix | None:
    """PGR and the bootstrap test for a router or cascade whose LLM-only and SLM-only runs
    (found by identity) are in the report; None otherwise, or with no problem shared."""
    llm, slm = config.alone_id("llm"), config.alone_id("slm")
    if llm is None or slm is None or llm not in configs or slm not in configs:
        return None
    mine, strong, weak = config.by_key, configs[llm].by_key, configs[slm].by_key
    keys = sorted(mine.keys() & strong.keys() & weak.keys())
    if not keys:
        return None
    run, big, small = ([rows[k] for k in keys] for rows in (mine, strong, weak))
    run_ok, strong_ok, weak_ok = (_column(rs, correct=True) for rs in (run, big, small))
    gap = strong_ok.mean() - weak_ok.mean()
    test = paired_bootstrap_beats_random(
        run_ok,
        _column(run, correct=False),
        strong_ok,
        weak_ok,
        _column(big, correct=False),
        _column(small, correct=False),
        resamples=BOOTSTRAP_RESAMPLES,
        seed=BOOTSTRAP_SEED,
    )
    verdict = None
    if test.applies and not math.isnan(test.low):
        verdict = "yes" if test.low > 0 else "no" if test.high < 0 else "not shown"
    return AgainstMix(
        pgr=float((run_ok.mean() - weak_ok.mean()) / gap) if gap else None,
        pgr_problems=len(keys),
        beats_random_mix=verdict,
        beats_random_mix_diff=test.difference if test.applies else None,
        beats_random_mix_ci_low=None if math.isnan(test.low) else test.low,
        beats_random_mix_ci_high=None if math.isnan(test.high) else test.high,
    )
