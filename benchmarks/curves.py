"""Time delegate.compare.curves on 10,000 problems: median of 5 runs.

    .venv/bin/python benchmarks/curves.py [--problems 10000] [--repeats 5]

Builds a routing curve and a cascade curve (every score distinct, so 10,001 operating points
each, per-problem costs) and computes APGR, CPT(50%) and CPT(80%) in share and in USD, and AIQ
on both; then, timed apart, the paired bootstrap against the random mix (2,000 resamples).
Synthetic seeded data: nothing is read or called.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from delegate.compare.curves import (
    aiq,
    apgr,
    cascade_curve,
    cpt,
    cpt_cost,
    paired_bootstrap_beats_random,
    routing_curve,
)


def problems(n: int) -> dict[str, np.ndarray]:
    """A seeded table where a higher score makes the weak model likelier wrong."""
    rng = np.random.default_rng(0)
    score = rng.random(n)
    return {
        "score": score,
        "strong": rng.random(n) < 0.85,
        "weak": rng.random(n) < 0.8 - 0.5 * score,
        "strong_cost": rng.uniform(0.004, 0.012, n),
        "weak_cost": rng.uniform(0.0001, 0.0003, n),
    }


def curves_and_metrics(t: dict[str, np.ndarray]) -> None:
    strong_acc, weak_acc = float(t["strong"].mean()), float(t["weak"].mean())
    for curve in (
        routing_curve(t["score"], t["strong"], t["weak"], t["strong_cost"], t["weak_cost"]),
        cascade_curve(1 - t["score"], t["weak"], t["strong"], t["weak_cost"], t["strong_cost"]),
    ):
        apgr(curve, strong_acc, weak_acc)
        for level in (0.5, 0.8):
            cpt(curve, strong_acc, weak_acc, level)
            cpt_cost(curve, strong_acc, weak_acc, level)
        aiq(curve)


def bootstrap(t: dict[str, np.ndarray]) -> None:
    routed = t["score"] >= 0.5
    paired_bootstrap_beats_random(
        np.where(routed, t["strong"], t["weak"]),
        np.where(routed, t["strong_cost"], t["weak_cost"]),
        t["strong"],
        t["weak"],
        t["strong_cost"],
        t["weak_cost"],
    )


def median_s(work: Callable[[], None], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    table = problems(args.problems)
    both = median_s(lambda: curves_and_metrics(table), args.repeats)
    boot = median_s(lambda: bootstrap(table), args.repeats)
    print(f"{args.problems} problems, median of {args.repeats}:")
    print(f"  routing + cascade curves, APGR, CPT x4, AIQ on each: {both * 1000:.1f} ms")
    print(f"  paired bootstrap against the random mix, 2000 resamples: {boot * 1000:.0f} ms")


if __name__ == "__main__":
    main()
