"""Seeded sampling: which problems a run sees."""

from __future__ import annotations

import random
from collections.abc import Sequence

from delegate.data.loaders import Problem
from delegate.errors import ConfigError


def draw_sample(problems: Sequence[Problem], samples: int | str, seed: int) -> list[Problem]:
    """Pick ``samples`` problems (or ``"all"``) with a generator seeded by ``seed`` alone.

    The result depends only on the problems, ``samples`` and ``seed``, never on the strategy, the
    models or the prompt. Problems come back in id order, so runs line up row by row.
    """
    if samples == "all":
        return list(problems)
    if isinstance(samples, bool) or not isinstance(samples, int):
        raise ConfigError(f"samples must be a positive integer or 'all', got {samples!r} <samples>")
    if samples < 1:
        raise ConfigError(f"samples must be at least 1, got {samples} <samples>")
    if samples > len(problems):
        raise ConfigError(
            f"samples={samples} but the split has only {len(problems)} problems <samples>"
        )
    rng = random.Random(seed)
    picked = rng.sample(range(len(problems)), samples)
    return [problems[i] for i in sorted(picked)]
