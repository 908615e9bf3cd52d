"""Loaders and sampling: ids are dataset indices, samples depend on the seed alone."""

import json
from fractions import Fraction
from importlib import resources
from pathlib import Path

import pytest

from delegate.data import draw_sample, load_problems
from delegate.data.loaders import parse_jsonl
from delegate.errors import ConfigError


def test_mini_expressions_equal_their_gold_answers() -> None:
    text = resources.files("delegate.data").joinpath("mini.jsonl").read_text()
    rows = [json.loads(line) for line in text.splitlines()]
    assert len(rows) == 40
    assert sum(r["steps"] == "one" for r in rows) == 20
    problems = load_problems({"name": "mini", "path": None, "split": "test"})
    for row, problem in zip(rows, problems, strict=True):
        value = eval(row["expression"].replace("//", "/"), {"__builtins__": {}})  # true division
        assert Fraction(value) == Fraction(problem.gold), row["question"]


def test_mini_questions_are_unique() -> None:
    problems = load_problems({"name": "mini", "path": None, "split": "test"})
    assert len({p.question for p in problems}) == len(problems)


def test_gsm8k_ids_are_line_indices_and_gold_comes_from_hashes(gsm8k_path: Path) -> None:
    problems = load_problems({"name": "gsm8k", "path": str(gsm8k_path), "split": "test"})
    assert len(problems) == 1319
    lines = gsm8k_path.read_text().splitlines()
    for p in (problems[0], problems[700], problems[-1]):
        row = json.loads(lines[p.id])
        assert row["question"] == p.question
        assert row["answer"].rsplit("####", 1)[1].strip() == p.gold


def test_sample_is_a_function_of_seed_and_size(gsm8k_path: Path) -> None:
    problems = load_problems({"name": "gsm8k", "path": str(gsm8k_path)})
    a = [p.id for p in draw_sample(problems, 50, seed=123)]
    b = [p.id for p in draw_sample(list(problems), 50, seed=123)]
    c = [p.id for p in draw_sample(problems, 50, seed=124)]
    assert a == b
    assert a != c
    assert a == sorted(a) and len(set(a)) == 50


def test_samples_all_and_bad_values() -> None:
    problems = parse_jsonl('{"question": "q", "answer": "#### 1"}\n' * 3, "x")
    assert len(draw_sample(problems, "all", seed=1)) == 3
    for bad in ("abc", 0, -1, True, 2.5):
        with pytest.raises(ConfigError, match="samples"):
            draw_sample(problems, bad, seed=1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="only 3 problems"):
        draw_sample(problems, 4, seed=1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "holds no problems"),
        ('{"question": "q", "answer": "#### 1"}\nnot json\n', r"bad\.jsonl:2: not valid JSON"),
        ('{"question": "q", "answer": "no marker"}\n', r"bad\.jsonl:1: .*####"),
        ('["a list"]\n', r"bad\.jsonl:1: expected an object"),
    ],
)
def test_bad_dataset_files_name_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_problems({"name": "gsm8k", "path": str(path)})


def test_missing_file_and_unreachable_hub_say_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_problems({"name": "gsm8k", "path": str(tmp_path / "nope.jsonl")})
    with pytest.raises(ConfigError, match=r"dataset\.hub=false .*dataset\.path"):
        load_problems({"name": "gsm8k", "hub": True, "split": "test", "revision": "main"})
    with pytest.raises(ConfigError, match=r"either dataset\.path or dataset\.hub"):
        load_problems({"name": "gsm8k", "hub": True, "path": str(tmp_path / "x.jsonl")})
