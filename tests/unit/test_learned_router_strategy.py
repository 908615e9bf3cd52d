"""``strategy=learned_router``'s settings and training set, without a store: bad settings fail
with the key, and the training pairs need both an LLM-only and an SLM-only run."""

from __future__ import annotations

import math

import pytest

from delegate.build import strategy_settings
from delegate.compare.runs import RunResult
from delegate.config import parse_config
from delegate.config.fields import read
from delegate.errors import ConfigError
from delegate.records import read_records
from delegate.strategies.learned_router import LearnedRouterSettings, training_set

from ..helpers import resolved


def settings(**values: object) -> LearnedRouterSettings:
    """The section read as a config's is, each key checked against the settings' fields."""
    return read(LearnedRouterSettings, {"runs": ["a", "b"], **values}, "learned_router")


def test_the_default_config_names_no_runs_and_says_which_key_to_set() -> None:
    config = parse_config(resolved("strategy=learned_router"))
    with pytest.raises(ConfigError, match=r"<learned_router\.runs>"):
        strategy_settings(config)


def test_runs_are_ids_or_a_configuration_and_seed() -> None:
    mixed = settings(runs=["abc", {"config_id": "c1", "seed": 7}])
    assert mixed.runs == ["abc", {"config_id": "c1", "seed": "7"}]
    with pytest.raises(ConfigError, match="run id or"):
        settings(runs=["abc", {"config_id": "c1"}])


@pytest.mark.parametrize("share", [-0.1, 0.0, 1.5, math.nan, math.inf, "half"])
def test_a_target_share_outside_zero_to_one_is_refused(share: object) -> None:
    with pytest.raises(ConfigError, match=r"^learned_router\.target_share must be a number"):
        settings(target_share=share)


@pytest.mark.parametrize("threshold", [-0.1, 1.5, math.nan, math.inf, -math.inf, "high", True])
def test_a_threshold_must_be_a_number_from_zero_to_one(threshold: object) -> None:
    with pytest.raises(ConfigError, match=r"^learned_router\.threshold must be a number"):
        settings(threshold=threshold)


def test_the_edges_of_both_ranges_are_accepted() -> None:
    assert settings(threshold=0, target_share=1).threshold == 0.0
    assert settings(threshold=1.0, target_share=1e-9).target_share == 1e-9
    assert settings(target_share=None).target_share is None


def test_a_bad_threshold_on_the_command_line_names_its_key() -> None:
    learned = ("strategy=learned_router", "learned_router.runs=[a,b]")
    config = parse_config(resolved(*learned, "learned_router.threshold=2"))
    with pytest.raises(ConfigError, match=r"<learned_router\.threshold>"):
        strategy_settings(config)


def _run(strategy: str, seed: str, right: list[bool]) -> RunResult:
    rows = [
        {
            "problem_id": i,
            "question": f"q{i}",
            "gold": "1",
            "final_text": "",
            "correct": ok,
            "correct_strict": ok,
        }
        for i, ok in enumerate(right)
    ]
    tags = {"strategy": strategy, "llm": "big", "slm": "small", "prompt": "cot", "dataset": "d"}
    return RunResult(f"{strategy}-{seed}", "cid", tags, seed, None, {}, read_records(rows))


def test_training_pairs_are_the_problems_both_models_answered_under_one_seed() -> None:
    runs = [_run("llm", "1", [True, True, False]), _run("slm", "1", [True, False])]
    runs.append(_run("slm", "2", [False, False, False]))  # no LLM-only run of seed 2
    assert training_set(runs) == (["q0", "q1"], [True, True], [True, False])


def test_training_needs_both_models() -> None:
    with pytest.raises(ConfigError, match=r"got strategies \['llm'\]"):
        training_set([_run("llm", "1", [True]), _run("llm", "2", [True])])
    with pytest.raises(ConfigError, match="share no problem"):
        training_set([_run("llm", "1", [True]), _run("slm", "2", [True])])
