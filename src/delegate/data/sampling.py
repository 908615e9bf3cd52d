"""Seeded sampling: which problems a run sees, uniformly or stratified (``Mixture``)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from fractions import Fraction

from delegate.data.loaders import Problem
from delegate.errors import ConfigError


class Mixture(list[Problem]):
    """Every problem of a mixture's strata, in id order, and the weights a sample keeps.

    ``draw_sample`` draws from a Mixture stratum by stratum, so any sample size keeps the
    proportions (to the nearest problem).
    """

    def __init__(self, strata: Mapping[str, Sequence[Problem]], weights: Mapping[str, float]):
        super().__init__(sorted((p for s in strata.values() for p in s), key=lambda p: p.id))
        self.strata = {k: sorted(v, key=lambda p: p.id) for k, v in strata.items()}
        # Exact decimal weights, so that 0.1 + 0.2 splits a sample as a reader would.
        self.weights = {k: Fraction(repr(float(w))) for k, w in weights.items()}


def draw_sample(problems: Sequence[Problem], samples: int | str, seed: int) -> list[Problem]:
    """Pick ``samples`` problems (or ``"all"``) with a generator seeded by ``seed`` alone.

    The result depends only on the problems, ``samples`` and ``seed``, never on the strategy, the
    models or the prompt. Problems come back in id order, so runs line up row by row.
    """
    if isinstance(problems, Mixture):
        return _draw_stratified(problems, samples, seed)
    if samples == "all":
        return list(problems)
    _check_samples(samples)
    assert isinstance(samples, int)
    if samples > len(problems):
        raise ConfigError(
            f"samples={samples} but the split has only {len(problems)} problems <samples>"
        )
    rng = random.Random(seed)
    picked = rng.sample(range(len(problems)), samples)
    return [problems[i] for i in sorted(picked)]


def _check_samples(samples: int | str) -> None:
    if isinstance(samples, bool) or not isinstance(samples, int):
        raise ConfigError(f"samples must be a positive integer or 'all', got {samples!r} <samples>")
    if samples < 1:
        raise ConfigError(f"samples must be at least 1, got {samples} <samples>")


def allocate(weights: Mapping[str, Fraction], n: int) -> dict[str, int]:
    """Split ``n`` in proportion to ``weights`` by largest remainders (ties: by name)."""
    total = sum(weights.values())
    quotas = {k: n * w / total for k, w in weights.items()}
    counts = {k: int(q) for k, q in quotas.items()}
    by_remainder = sorted(quotas, key=lambda k: (-(quotas[k] - counts[k]), k))
    for k in by_remainder[: n - sum(counts.values())]:
        counts[k] += 1
    return counts


def _largest_fitting(mix: Mixture) -> int:
    """The largest sample whose allocation every stratum can fill."""
    total = sum(mix.weights.values())
    n = int(min(len(mix.strata[k]) * total / w for k, w in mix.weights.items()))
    while n > 0 and any(c > len(mix.strata[k]) for k, c in allocate(mix.weights, n).items()):
        n -= 1
    return n


def _draw_stratified(mix: Mixture, samples: int | str, seed: int) -> list[Problem]:
    if samples == "all":
        samples = _largest_fitting(mix)
    _check_samples(samples)
    assert isinstance(samples, int)
    picked: list[Problem] = []
    for stratum, count in allocate(mix.weights, samples).items():
        pool = mix.strata[stratum]
        if count > len(pool):
            raise ConfigError(
                f"samples={samples} needs {count} problems from {stratum}, which has "
                f"{len(pool)}; lower samples (at most {_largest_fitting(mix)} keep these "
                f"proportions) or dataset.mix.{stratum} <samples>"
            )
        # One generator per stratum, seeded by (seed, stratum): a stratum that draws more problems
        # keeps those it drew before, and reweighting one stratum leaves the others' picks alone.
        order = list(pool)
        random.Random(f"{seed}:{stratum}").shuffle(order)
        picked += order[:count]
    return sorted(picked, key=lambda p: p.id)
