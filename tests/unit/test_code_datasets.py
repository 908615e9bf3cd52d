"""The shipped code sets: HumanEval and MBPP read as documented, with their licences."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from delegate.data import load_problems
from delegate.errors import ConfigError
from delegate.scoring.code import parse_gold

DATA = resources.files("delegate.data")


def raw(source: str) -> list[dict]:
    text = DATA.joinpath(f"{source}/test.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize("source", ["humaneval", "mbpp"])
def test_each_set_ships_its_licence_and_provenance(source: str) -> None:
    folder = DATA.joinpath(source)
    assert "License" in folder.joinpath("LICENSE").read_text()
    readme = folder.joinpath("README.md").read_text()
    assert "License" in readme and "arXiv" in readme and "sha256" in readme


def test_humaneval_is_its_164_problems_with_prompt_questions_and_check_golds() -> None:
    problems = load_problems({"name": "humaneval"})
    rows = raw("humaneval")
    assert [p.id for p in problems] == list(range(164))
    for p, row in zip(problems, rows, strict=True):
        gold = parse_gold(p.gold)
        assert p.question == row["prompt"] == gold.prelude
        assert gold.tests == row["test"] and "def check(candidate)" in gold.tests
        assert gold.entry_point == row["entry_point"]
        assert (p.source, p.level, p.answer_type, p.subject) == ("humaneval", 3, "code", None)
        assert row["canonical_solution"] not in p.gold  # the reference never reaches a model
    with_examples = [p for p in problems if parse_gold(p.gold).examples]
    assert len(with_examples) == 138  # the other docstrings state results in words, or none


def test_mbpp_is_the_test_split_with_the_first_test_stated() -> None:
    problems = load_problems({"name": "mbpp"})
    rows = raw("mbpp")
    assert [p.id for p in problems] == list(range(11, 511))
    for p, row in zip(problems, rows, strict=True):
        gold = parse_gold(p.gold)
        first = row["test_list"][0].strip()
        assert p.question.startswith(row["text"].strip()) and p.question.endswith(first)
        assert all(test in gold.tests for test in row["test_list"])
        assert gold.examples.strip().endswith(first) and gold.examples.count("assert ") == 1
        assert gold.entry_point is None and gold.prelude == ""
        assert (p.source, p.level, p.answer_type) == ("mbpp", 3, "code")
    setup = next(p for p in problems if p.id == 367)
    assert parse_gold(setup.gold).tests.startswith(rows[367 - 11]["test_setup_code"])


@pytest.mark.parametrize("source", ["humaneval", "mbpp"])
def test_level_is_set_by_the_config_and_bad_keys_name_themselves(source: str) -> None:
    assert {p.level for p in load_problems({"name": source, "level": 4})} == {4}
    with pytest.raises(ConfigError, match=r"<dataset\.answer_type>"):
        load_problems({"name": source, "answer_type": "number"})
    with pytest.raises(ConfigError, match=r"<dataset\.split>"):
        load_problems({"name": source, "split": "train"})
