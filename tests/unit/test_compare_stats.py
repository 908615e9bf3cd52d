"""Comparison statistics checked against hand-computed and textbook values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from delegate.compare.analysis.baselines import paired_bootstrap_beats_random
from delegate.compare.analysis.learned import apgr_against_random, apgr_of
from delegate.compare.stats import (
    Mix,
    PairedCounts,
    accuracy_change_interval,
    mcnemar_p,
    oracle,
    paired_counts,
    proportion_interval,
    random_mix,
)

# z for 95% is 1.959964, z**2 = 3.841459; for 90%, z = 1.644854, z**2 = 2.705543.


def test_wilson_81_of_100() -> None:
    # (x + z²/2 ± z·sqrt(x(n-x)/n + z²/4)) / (n + z²), x = 81, n = 100:
    # x(n-x)/n = 15.39, + z²/4 = 16.350365, sqrt = 4.043559, times z = 7.925230;
    # x + z²/2 = 82.920729; n + z² = 103.841459.
    # low = 74.995499 / 103.841459 = 0.72221; high = 90.845959 / 103.841459 = 0.87485.
    low, high = proportion_interval(81, 100)
    assert low == pytest.approx(0.7222, abs=1e-4)
    assert high == pytest.approx(0.8749, abs=1e-4)


def test_wilson_zero_successes_has_low_exactly_zero() -> None:
    # With x = 0 the upper bound reduces to z² / (n + z²) = 3.841459 / 13.841459 = 0.277533.
    low, high = proportion_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.277533, abs=1e-6)


def test_wilson_all_successes_has_high_exactly_one() -> None:
    # Mirror of the zero case: low = n / (n + z²) = 10 / 13.841459 = 0.722467.
    low, high = proportion_interval(10, 10)
    assert high == 1.0
    assert low == pytest.approx(0.722467, abs=1e-6)


def test_wilson_confidence_changes_width() -> None:
    # At 90%: z² / (n + z²) = 2.705543 / 12.705543 = 0.212942.
    low, high = proportion_interval(0, 10, confidence=0.90)
    assert low == 0.0
    assert high == pytest.approx(0.212942, abs=1e-6)


def test_wilson_no_trials_is_uninformative() -> None:
    assert proportion_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("successes", "n", "confidence"),
    [(-1, 10, 0.95), (11, 10, 0.95), (5, 10, 0.0), (5, 10, 1.0), (5, 10, 1.5)],
)
def test_wilson_rejects_invalid_input(successes: int, n: int, confidence: float) -> None:
    with pytest.raises(ValueError):
        proportion_interval(successes, n, confidence)


def test_paired_counts_ignores_unshared_keys() -> None:
    a = {1: True, 2: True, 3: True, 4: False, 5: False, 6: False, 7: False, 9: True}
    b = {1: True, 2: True, 3: False, 4: True, 5: True, 6: True, 7: False, 8: True}
    # Shared keys 1..7: both {1, 2}, only a {3}, only b {4, 5, 6}, neither {7}.
    counts = paired_counts(a, b)
    assert counts == PairedCounts(both=2, only_a=1, only_b=3, neither=1)
    assert counts.n == 7


def test_paired_counts_with_seed_problem_keys() -> None:
    a = {(0, 1): True, (0, 2): False, (1, 1): True}
    b = {(0, 1): False, (0, 2): False, (1, 1): True, (1, 2): True}
    # Shared: (0,1) only a, (0,2) neither, (1,1) both; (1,2) is only in b.
    assert paired_counts(a, b) == PairedCounts(both=1, only_a=1, only_b=0, neither=1)


def test_paired_counts_of_disjoint_runs_is_empty() -> None:
    counts = paired_counts({1: True}, {2: True})
    assert counts == PairedCounts(0, 0, 0, 0)
    assert counts.n == 0


def test_mcnemar_without_discordant_pairs_is_one() -> None:
    assert mcnemar_p(0, 0) == 1.0


def test_mcnemar_single_discordant_pair_is_one() -> None:
    # 2 * P(X <= 0 | n=1) = 2 * 1/2 = 1.
    assert mcnemar_p(1, 0) == 1.0


def test_mcnemar_all_discordant_one_way() -> None:
    # 2 * P(X = 0 | n=5) = 2 / 32.
    assert mcnemar_p(0, 5) == 0.0625


def test_mcnemar_2_vs_10() -> None:
    # C(12,0) + C(12,1) + C(12,2) = 1 + 12 + 66 = 79; p = 2 * 79 / 4096 = 0.038574...
    assert mcnemar_p(2, 10) == pytest.approx(158 / 4096, rel=1e-12)


def test_mcnemar_3_vs_5() -> None:
    # C(8,0..3) = 1 + 8 + 28 + 56 = 93; p = 2 * 93 / 256 = 0.7265625.
    assert mcnemar_p(3, 5) == pytest.approx(0.7265625, rel=1e-12)


@pytest.mark.parametrize(("x", "y"), [(0, 5), (2, 10), (3, 5), (7, 1), (40, 61)])
def test_mcnemar_is_symmetric(x: int, y: int) -> None:
    assert mcnemar_p(x, y) == mcnemar_p(y, x)


def test_mcnemar_large_counts_match_normal_approximation() -> None:
    # Continuity-corrected normal: z = (|3100 - 3000| - 1) / sqrt(6100) = 99 / 78.1025
    # = 1.26757, two-sided p = 0.20495; at n = 6100 the exact test agrees to well under 1e-4.
    p = mcnemar_p(3000, 3100)
    assert isinstance(p, float)
    assert 0.0 < p <= 1.0
    assert p == pytest.approx(0.20495, abs=1e-4)


def test_mcnemar_very_large_counts_do_not_overflow() -> None:
    # n = 10000: 2**10000 is far beyond float range, yet the result is a valid float.
    assert mcnemar_p(5000, 5000) == 1.0
    p = mcnemar_p(4900, 5100)
    assert math.isfinite(p)
    # Continuity-corrected normal: z = 199 / 100 = 1.99, two-sided p = 0.04659.
    assert p == pytest.approx(0.04659, abs=1e-4)


def test_mcnemar_rejects_negative_counts() -> None:
    with pytest.raises(ValueError):
        mcnemar_p(-1, 3)


def test_oracle_counts_either_model_correct() -> None:
    llm = {1: True, 2: True, 3: True, 4: False, 5: False, 6: False, 7: True}
    slm = {1: False, 2: False, 3: True, 4: True, 5: False, 6: False}
    # Shared 1..6; correct under the oracle: {1, 2, 3, 4} -> 4 / 6. Key 7 is llm-only.
    accuracy, n_shared = oracle(llm, slm)
    assert n_shared == 6
    assert accuracy == pytest.approx(4 / 6, rel=1e-12)


def test_oracle_with_no_shared_problems() -> None:
    assert oracle({1: True}, {2: True}) == (0.0, 0)


def test_random_mix_matches_target_cost() -> None:
    # p = (0.004 - 0) / (0.01 - 0) = 0.4; accuracy = 0.4 * 0.9 + 0.6 * 0.6 = 0.72.
    mix = random_mix(0.9, 0.6, llm_cost=0.01, slm_cost=0.0, target_cost=0.004)
    assert mix is not None
    assert mix.share_llm == pytest.approx(0.4, abs=1e-12)
    assert mix.accuracy == pytest.approx(0.72, abs=1e-12)
    assert mix.cost_per_problem == pytest.approx(0.004, abs=1e-12)


def test_random_mix_is_undefined_outside_the_two_models_costs() -> None:
    # Dearer than the LLM alone or cheaper than the SLM alone: no mix costs that; a clipped
    # mix would be shown at a cost it does not have.
    assert random_mix(0.9, 0.6, llm_cost=0.01, slm_cost=0.0, target_cost=0.02) is None
    assert random_mix(0.9, 0.6, llm_cost=0.01, slm_cost=0.001, target_cost=0.0005) is None
    edge = random_mix(0.9, 0.6, llm_cost=0.01, slm_cost=0.0, target_cost=0.01)
    assert edge == Mix(share_llm=1.0, accuracy=0.9, cost_per_problem=0.01)


def test_random_mix_undefined_without_cost_gap() -> None:
    assert random_mix(0.9, 0.6, llm_cost=0.01, slm_cost=0.01, target_cost=0.01) is None
    assert random_mix(0.9, 0.6, llm_cost=0.001, slm_cost=0.01, target_cost=0.005) is None


def test_accuracy_change_interval_hand_computed() -> None:
    # Newcombe's method 10. n = 100; a right 55 times, b 65 times: diff 0.10.
    # Wilson 95%: a (0.452446, 0.643855), b (0.552544, 0.736358);
    # phi = (50*30 - 5*15) / sqrt(55*45*65*35) = 0.600533;
    # low = 0.10 - sqrt(0.097456**2 - 2 phi 0.097456 0.093855 + 0.093855**2) = 0.014440,
    # high = 0.10 + sqrt(0.086358**2 - 2 phi 0.086358 0.097554 + 0.097554**2) = 0.182801.
    counts = PairedCounts(both=50, only_a=5, only_b=15, neither=30)
    diff, low, high = accuracy_change_interval(counts)
    assert diff == pytest.approx(0.10, abs=1e-12)
    assert low == pytest.approx(0.014440, abs=1e-6)
    assert high == pytest.approx(0.182801, abs=1e-6)


def test_accuracy_change_interval_flips_sign_when_swapped() -> None:
    diff, low, high = accuracy_change_interval(PairedCounts(50, 15, 5, 30))
    assert diff == pytest.approx(-0.10, abs=1e-12)
    assert low == pytest.approx(-0.182801, abs=1e-6)
    assert high == pytest.approx(-0.014440, abs=1e-6)


def test_accuracy_change_interval_keeps_a_width_without_discordant_pairs() -> None:
    # Both right 6 times of 10: Wilson (0.312674, 0.831820) for both arms and phi = 1, so the
    # half-widths are |0.287326 - 0.231820| = 0.055507 each way, not zero.
    diff, low, high = accuracy_change_interval(PairedCounts(6, 0, 0, 4))
    assert diff == 0.0
    assert low == pytest.approx(-0.055507, abs=1e-6) and high == pytest.approx(0.055507, abs=1e-6)


def test_accuracy_change_interval_without_data() -> None:
    assert accuracy_change_interval(PairedCounts(0, 0, 0, 0)) == (0.0, -1.0, 1.0)


def test_accuracy_change_interval_rejects_bad_confidence() -> None:
    with pytest.raises(ValueError):
        accuracy_change_interval(PairedCounts(1, 1, 1, 1), confidence=1.0)


def _wilson_by_hand(successes: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson's score interval worked from its formula: the cross-check of the library's."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p, z2 = successes / n, z * z
    center = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, center - half), min(1.0, center + half)


def _mcnemar_by_hand(only_a: int, only_b: int) -> float:
    """The exact two-sided tail summed in integers: the cross-check of scipy's."""
    n, m = only_a + only_b, min(only_a, only_b)
    tail = sum(math.comb(n, k) for k in range(m + 1))
    return min(1.0, 2 * tail / 2**n) if n else 1.0


@pytest.mark.parametrize("n", [1, 2, 7, 30, 151])
def test_the_library_wilson_interval_matches_the_formula(n: int) -> None:
    for successes in range(n + 1):
        for confidence in (0.8, 0.95, 0.99):
            expected = _wilson_by_hand(successes, n, confidence)
            assert proportion_interval(successes, n, confidence) == pytest.approx(
                expected, abs=1e-12
            )


def test_the_library_mcnemar_test_matches_the_integer_tail() -> None:
    for a in range(0, 40, 3):
        for b in range(0, 40, 5):
            assert mcnemar_p(a, b) == pytest.approx(_mcnemar_by_hand(a, b), rel=1e-9, abs=1e-15)


def _beats_random_by_hand(
    columns: tuple[np.ndarray, ...], resamples: int, seed: int, confidence: float
) -> tuple[float, float]:
    """The paired bootstrap the project ran before scipy's, one resample at a time: the means
    of a resample's problems, the mix at the run's cost, and the differences' quantiles; NaN
    when a resample's strong model is not dearer. The cross-check of scipy's."""
    n = len(columns[0])
    table = np.stack([np.broadcast_to(np.asarray(c, dtype=float), n) for c in columns])
    rng = np.random.default_rng(seed)
    differences = []
    for _ in range(resamples):
        run, run_usd, strong, weak, strong_usd, weak_usd = table[:, rng.integers(0, n, n)].mean(1)
        if strong_usd <= weak_usd:
            return math.nan, math.nan
        share = min(1.0, max(0.0, (run_usd - weak_usd) / (strong_usd - weak_usd)))
        differences.append(run - (share * strong + (1 - share) * weak))
    low, high = np.quantile(differences, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)


def _apgr_by_hand(
    scores: np.ndarray, strong: np.ndarray, weak: np.ndarray, resamples: int, seed: int
) -> tuple[float, float, int]:
    """The APGR bootstrap's old loop: resamples without a gap skipped; (low, high, skipped)."""
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        i = rng.integers(0, len(scores), len(scores))
        draws.append(apgr_of(scores[i], strong[i], weak[i]) - 0.5)
    kept = [d for d in draws if not math.isnan(d)]
    low, high = np.quantile(kept, [0.025, 0.975])
    return float(low), float(high), resamples - len(kept)


@pytest.mark.parametrize("n", [2, 9, 40, 300])
def test_the_library_bootstrap_against_the_random_mix_matches_the_resampling_loop(n: int) -> None:
    rng = np.random.default_rng(n)
    strong, weak, routed = rng.random(n) < 0.8, rng.random(n) < 0.5, rng.random(n) < 0.5
    strong_usd, weak_usd = rng.uniform(0.005, 0.01, n), rng.uniform(0.0, 0.004, n)
    columns = (np.where(routed, strong, weak), np.where(routed, strong_usd, weak_usd))
    columns += (strong, weak, strong_usd, weak_usd)
    for seed, confidence in ((0, 0.95), (3, 0.8)):
        result = paired_bootstrap_beats_random(
            *columns, confidence=confidence, resamples=500, seed=seed
        )
        expected = _beats_random_by_hand(columns, 500, seed, confidence)
        assert (result.low, result.high) == pytest.approx(expected, abs=1e-12)
        assert result.low <= result.high


def test_the_library_bootstrap_gives_no_interval_when_a_resample_has_no_cost_gap() -> None:
    # Only problem 0 makes the strong model dearer; a resample without it has no mix. On the
    # sample: share (0.06 - 0.05) / (0.075 - 0.05) = 0.4, mix 0.4 * 0.75 + 0.6 * 0.25 = 0.45.
    columns = ([1, 0, 1, 0], 0.06, [1, 1, 1, 0], [0, 0, 1, 0], [0.3, 0, 0, 0], 0.05)
    result = paired_bootstrap_beats_random(*columns, resamples=200)
    assert (result.share, result.difference) == pytest.approx((0.4, 0.05))
    assert math.isnan(result.low) and math.isnan(result.high)
    assert all(math.isnan(v) for v in _beats_random_by_hand(columns, 200, 0, 0.95))


@pytest.mark.parametrize("n", [6, 50, 200])
def test_the_library_apgr_bootstrap_matches_the_resampling_loop(n: int) -> None:
    rng = np.random.default_rng(n)
    strong = (rng.random(n) < 0.7).astype(float)
    weak = np.where(strong == 1, rng.random(n) < 0.6, 0.0)
    if n == 6:  # one problem only the strong model gets: a third of the resamples lack a gap
        strong, weak = np.array([1.0, 1, 0, 1, 0, 1]), np.array([0.0, 1, 0, 1, 0, 1])
    scores = rng.random(n) + strong - weak
    diff, low, high = apgr_against_random(scores, strong, weak, resamples=400, seed=5)
    by_hand_low, by_hand_high, skipped = _apgr_by_hand(scores, strong, weak, 400, 5)
    assert diff == pytest.approx(apgr_of(scores, strong, weak) - 0.5)
    assert (low, high) == pytest.approx((by_hand_low, by_hand_high), abs=1e-12)
    assert (skipped > 0) == (n == 6)
