"""dataset=mixed: a seeded, stratified mixture whose samples keep their proportions."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

import pytest

from delegate.data import Mixture, draw_sample, load_problems
from delegate.data.sampling import allocate
from delegate.errors import ConfigError

from ..helpers import resolved

DEFAULT = resolved("dataset=mixed")["dataset"]


def stratum(p) -> str:  # type: ignore[no-untyped-def]
    return f"math500_level_{p.level}" if p.source == "math500" else p.source


def mixed(mix: dict[str, float]) -> Mixture:
    problems = load_problems({"name": "mixed", "mix": mix})
    assert isinstance(problems, Mixture)
    return problems


def test_default_mix_is_the_four_sources_with_math_by_level() -> None:
    assert DEFAULT["mix"] == {
        "svamp": 0.2,
        "gsm8k": 0.2,
        "gsm-hard": 0.1,
        **{f"math500_level_{k}": 0.1 for k in range(1, 6)},
    }


def test_a_sample_keeps_the_proportions_and_depends_on_the_seed_alone() -> None:
    pool = load_problems(DEFAULT)
    sample = draw_sample(pool, 200, seed=123)
    # 200 x (0.2, 0.2, 0.1, 0.1 x 5) = 40, 40, 20, 20 x 5: exact, no rounding needed.
    assert Counter(stratum(p) for p in sample) == {
        "svamp": 40,
        "gsm8k": 40,
        "gsm-hard": 20,
        **{f"math500_level_{k}": 20 for k in range(1, 6)},
    }
    again = draw_sample(load_problems(DEFAULT), 200, seed=123)
    assert sample == again
    assert [p.id for p in draw_sample(pool, 200, seed=124)] != [p.id for p in sample]
    assert [p.id for p in sample] == sorted(p.id for p in sample)


def test_ids_are_offset_line_indices_unique_across_sources() -> None:
    pool = load_problems(DEFAULT)
    assert len({p.id for p in pool}) == len(pool) == 4138
    by_source = {s: load_problems({"name": s}) for s in ("svamp", "gsm8k", "gsm-hard", "math500")}
    offsets = {"svamp": 100_000, "gsm8k": 200_000, "gsm-hard": 300_000, "math500": 400_000}
    for p in draw_sample(pool, 50, seed=7):
        original = by_source[p.source][p.id - offsets[p.source]]
        assert (original.question, original.gold, original.level) == (p.question, p.gold, p.level)
        assert (original.answer_type, original.rel_tol) == (p.answer_type, p.rel_tol)


def test_largest_remainders_split_an_uneven_sample() -> None:
    weights = {"a": Fraction(1), "b": Fraction(1), "c": Fraction(1)}
    assert allocate(weights, 10) == {"a": 4, "b": 3, "c": 3}  # 3.33 each: the tie goes to "a"
    assert allocate({"a": Fraction(2, 10), "b": Fraction(8, 10)}, 7) == {"a": 1, "b": 6}  # 1.4/5.6


def test_a_stratum_that_draws_more_keeps_what_it_drew() -> None:
    pool = mixed({"svamp": 1, "gsm8k": 1})
    small = {p.id for p in draw_sample(pool, 20, seed=3)}
    large = {p.id for p in draw_sample(pool, 60, seed=3)}
    assert small < large


def test_reweighting_one_stratum_leaves_the_others_alone() -> None:
    a = draw_sample(mixed({"svamp": 1, "gsm8k": 1}), 20, seed=5)
    b = draw_sample(mixed({"svamp": 1, "gsm8k": 1, "math500": 2}), 40, seed=5)
    assert [p.id for p in a] == [p.id for p in b if p.source != "math500"]


def test_all_is_the_largest_sample_that_keeps_the_proportions() -> None:
    # MATH-500 has 43 level-1 problems at weight 0.1: 430 problems in all.
    sample = draw_sample(load_problems(DEFAULT), "all", seed=1)
    assert len(sample) == 430
    assert Counter(stratum(p) for p in sample)["math500_level_1"] == 43
    with pytest.raises(ConfigError, match=r"needs 44 problems from math500_level_1, which has 43"):
        draw_sample(load_problems(DEFAULT), 440, seed=1)


def test_zero_weight_leaves_a_stratum_out() -> None:
    pool = mixed({"svamp": 1, "gsm-hard": 0})
    assert {p.source for p in pool} == {"svamp"}


@pytest.mark.parametrize(
    ("mix", "message"),
    [
        ({"svmap": 1}, r"unknown stratum 'svmap'"),
        ({"math500_level_9": 1}, r"no problems at level 9"),
        ({"math500": 1, "math500_level_2": 1}, r"all of math500 and one of its levels"),
        ({"svamp": -1}, r"at least 0.*<dataset\.mix\.svamp>"),
        ({"svamp": "a lot"}, r"at least 0"),
        ({"svamp": 0}, r"every weight .* is 0"),
        ({"svamp": float("inf")}, r"finite number.*<dataset\.mix\.svamp>"),
        ({"svamp": float("nan")}, r"finite number"),
        # One spelling per level: an alias would draw the same problems twice.
        ({"math500_level_1": 1, "math500_level_01": 1}, r"unknown stratum 'math500_level_01'"),
        ({"math500_level_0": 1}, r"unknown stratum"),
        ({}, r"must map strata to weights"),
    ],
)
def test_bad_mixes_are_config_errors(mix: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_problems({"name": "mixed", "mix": mix})


def test_a_mixture_keeps_each_sources_answer_type() -> None:
    with pytest.raises(ConfigError, match="by_source"):
        load_problems({"name": "mixed", "mix": {"svamp": 1}, "answer_type": "number"})
    types = {p.source: p.answer_type for p in load_problems(DEFAULT)}
    assert types == {"svamp": "number", "gsm8k": "number", "gsm-hard": "number", "math500": "latex"}


def test_code_strata_mix_with_math_and_keep_their_grader() -> None:
    problems = load_problems({"name": "mixed", "mix": {"gsm8k": 1, "humaneval": 1, "mbpp": 1}})
    sample = draw_sample(problems, 30, seed=3)
    by_source = {s: [p for p in sample if p.source == s] for s in ("gsm8k", "humaneval", "mbpp")}
    assert {s: len(ps) for s, ps in by_source.items()} == {"gsm8k": 10, "humaneval": 10, "mbpp": 10}
    assert {p.answer_type for p in by_source["humaneval"] + by_source["mbpp"]} == {"code"}
    assert all(500_000 <= p.id < 500_164 for p in by_source["humaneval"])
    assert all(600_011 <= p.id <= 600_510 for p in by_source["mbpp"])
    assert len({p.id for p in sample}) == 30
