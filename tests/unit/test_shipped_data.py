"""The test sets shipped in the package: intact, read as documented, and every gold gradable."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from delegate.data import SOURCES, load_problems
from delegate.data.loaders import gold_text
from delegate.errors import ConfigError
from delegate.scoring import is_correct, is_correct_strict, number

DATA = resources.files("delegate.data")
SIZES = {"svamp": 1000, "gsm8k": 1319, "gsm-hard": 1319, "math500": 500}


def raw_rows(source: str) -> list[dict]:
    text = DATA.joinpath(f"{source}/test.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_shipped_files_match_their_sha256() -> None:
    listed = {}
    for line in DATA.joinpath("SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        listed[name] = digest
    code_sets = {"humaneval/test.jsonl", "mbpp/test.jsonl"}  # tests/unit/test_code_datasets.py
    assert set(listed) == {f"{s}/test.jsonl" for s in SIZES} | {"mini.jsonl"} | code_sets
    for name, digest in listed.items():
        assert hashlib.sha256(DATA.joinpath(name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("source", sorted(SIZES))
def test_every_source_ships_its_licence_and_provenance(source: str) -> None:
    folder = DATA.joinpath(source)
    assert "License" in folder.joinpath("LICENSE").read_text()
    readme = folder.joinpath("README.md").read_text()
    assert "License" in readme and "arXiv" in readme
    assert not folder.joinpath("train.jsonl").is_file()  # GSM8K's train split stays out


def test_sizes_add_up_to_the_documented_total() -> None:
    counts = {s: len(load_problems({"name": s})) for s in SIZES}
    assert counts == SIZES and sum(counts.values()) == 4138
    assert set(SOURCES) == set(SIZES)


@pytest.mark.parametrize("source", sorted(SIZES))
def test_every_gold_grades_equal_to_itself_boxed(source: str) -> None:
    problems = load_problems({"name": source})
    assert len(problems) == SIZES[source]
    for p in problems:
        text = f"So the answer is \\boxed{{{p.gold}}}."
        assert is_correct_strict(text, p.gold, answer_type=p.answer_type, rel_tol=p.rel_tol), p
        assert is_correct(text, p.gold, answer_type=p.answer_type, rel_tol=p.rel_tol), p
        if p.answer_type == "number":  # compared as numbers, not as equal text
            assert number.to_number(number.normalize(p.gold)) is not None, p


@pytest.mark.parametrize(
    ("source", "question_key"),
    [("svamp", "input"), ("gsm-hard", "input"), ("math500", "problem"), ("gsm8k", "question")],
)
def test_ids_are_line_indices_and_fields_are_read_as_documented(
    source: str, question_key: str
) -> None:
    rows = raw_rows(source)
    problems = load_problems({"name": source})
    assert [p.id for p in problems] == list(range(len(rows)))
    for p in (problems[0], problems[len(rows) // 2], problems[-1]):
        row = rows[p.id]
        assert p.question == row[question_key]
        assert p.source == source
        assert p.answer_type == SOURCES[source].answer_type
        assert p.rel_tol == SOURCES[source].rel_tol
        if source == "math500":
            assert (p.gold, p.level, p.subject) == (
                row["answer"],
                int(row["level"]),
                row["subject"],
            )
        elif source == "gsm8k":
            assert p.gold == row["answer"].rsplit("####", 1)[1].strip()
            assert (p.level, p.subject) == (2, None)
        else:
            assert float(p.gold) == row["target"]
            assert (p.level, p.subject) == (SOURCES[source].level, None)


def test_math500_levels_and_subjects_are_the_published_counts() -> None:
    problems = load_problems({"name": "math500"})
    assert Counter(p.level for p in problems) == {1: 43, 2: 90, 3: 105, 4: 128, 5: 134}
    subjects = Counter(p.subject for p in problems)
    assert subjects["Algebra"] == 124 and subjects["Counting & Probability"] == 38
    assert len(subjects) == 7


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (51.0, "51"),
        (2.0107e-06, "0.0000020107"),
        (3244047.0999999996, "3244047.0999999996"),
        (-9867630.0, "-9867630"),
        (0.5, "0.5"),
        (7, "7"),
        (" 3/4 ", "3/4"),
    ],
)
def test_gold_numbers_are_written_as_plain_decimals(value: object, text: str) -> None:
    assert gold_text(value, "f:1") == text


@pytest.mark.parametrize("value", [True, None, [1], "", float("nan")])
def test_a_gold_that_is_no_answer_is_an_error(value: object) -> None:
    with pytest.raises(ConfigError, match="f:1"):
        gold_text(value, "f:1")


def test_the_packaged_gsm8k_is_the_shared_copy(gsm8k_path: Path) -> None:
    packaged = load_problems({"name": "gsm8k"})
    from_file = load_problems({"name": "gsm8k", "path": str(gsm8k_path)})
    assert packaged == from_file


@pytest.mark.parametrize("source", ["svamp", "gsm8k", "gsm-hard", "math500", "mini"])
def test_only_the_test_split_ships(source: str) -> None:
    with pytest.raises(ConfigError, match=r"'train'.*<dataset\.split>"):
        load_problems({"name": source, "split": "train"})


def test_overrides_reach_every_problem() -> None:
    problems = load_problems({"name": "svamp", "level": 4, "answer_type": "latex"})
    assert {(p.level, p.answer_type) for p in problems} == {(4, "latex")}
    math = load_problems({"name": "math500", "level": 2})
    assert {p.level for p in math} == {2}


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"name": "svamp", "answer_type": "words"}, r"unknown answer type 'words'"),
        ({"name": "gsm-hard", "rel_tol": -1}, r"rel_tol .*<dataset\.rel_tol>"),
        ({"name": "svamp", "colour": "red"}, r"unknown key\(s\) dataset\.colour"),
        ({"name": "nope"}, r"unknown dataset loader 'nope'"),
        ({"loader": "svamp"}, r"needs a name"),
    ],
)
def test_bad_dataset_options_are_config_errors(cfg: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_problems(cfg)
