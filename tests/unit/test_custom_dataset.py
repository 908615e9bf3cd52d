"""dataset=jsonl: your own file, its fields named in the config, tagged with your name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from delegate.data import draw_sample, load_problems
from delegate.errors import ConfigError

from ..helpers import resolved


def write(tmp_path: Path, rows: list[Any], name: str = "mine.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def config(path: Path, *overrides: str) -> dict[str, Any]:
    return resolved("dataset=jsonl", f"dataset.path={path}", "dataset.name=mine", *overrides)


def test_a_file_with_default_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            {"question": "1 + 1?", "answer": 2},
            {"question": "Half of 3?", "answer": "3/2"},
            {"question": "GSM8K style", "answer": "3 + 4 = 7\n#### 7"},
        ],
    )
    cfg = config(path)
    problems = load_problems(cfg["dataset"])
    assert [(p.id, p.gold, p.source, p.level, p.answer_type) for p in problems] == [
        (0, "2", "mine", None, "number"),
        (1, "3/2", "mine", None, "number"),
        (2, "7", "mine", None, "number"),
    ]
    assert draw_sample(problems, "all", seed=1) == problems


def test_the_run_is_tagged_with_the_users_name(tmp_path: Path) -> None:
    from delegate.build import Models
    from delegate.config import parse_config
    from delegate.plan import Plan
    from delegate.session import run_tags
    from delegate.tags import DATASET_TAG

    cfg = parse_config(config(write(tmp_path, [{"question": "q", "answer": 1}])))
    tags = run_tags(Plan(cfg, [], []), Models.for_run(cfg), "0" * 12, tmp_path)
    assert tags[DATASET_TAG] == "mine:test"


def test_named_fields_levels_sources_and_latex(tmp_path: Path) -> None:
    rows = [
        {"problem": "Simplify sqrt(117).", "solution": "3\\sqrt{13}", "lvl": 4, "from": "book"},
        {"problem": "Name?", "solution": "\\text{Evelyn}", "lvl": "2", "topic": "words"},
        {"problem": "No level", "solution": "1"},
    ]
    overrides = [
        "dataset.fields.question=problem",
        "dataset.fields.answer=solution",
        "dataset.fields.level=lvl",
        "dataset.fields.source=from",
        "dataset.fields.subject=topic",
        "dataset.answer_type=latex",
        "dataset.level=5",
    ]
    problems = load_problems(config(write(tmp_path, rows), *overrides)["dataset"])
    assert [(p.source, p.level, p.subject, p.answer_type) for p in problems] == [
        ("book", 4, None, "latex"),
        ("mine", 2, "words", "latex"),
        ("mine", 5, None, "latex"),  # dataset.level where the row has none
    ]


def test_ids_are_line_indices_blank_lines_included(tmp_path: Path) -> None:
    path = tmp_path / "gaps.jsonl"
    path.write_text('{"question": "a", "answer": 1}\n\n{"question": "b", "answer": 2}\n')
    assert [p.id for p in load_problems(config(path)["dataset"])] == [0, 2]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"question": "q", "answer": 1}\n{"question": "q"}\n', r"mine\.jsonl:2: no answer field"),
        ('{"question": "q", "answer": 1}\nnot json\n', r"mine\.jsonl:2: not valid JSON"),
        ('{"question": "", "answer": 1}\n', r"mine\.jsonl:1: expected a non-empty string"),
        ('{"question": "q", "answer": null}\n', r"mine\.jsonl:1: the answer must be"),
        ('{"question": "q", "answer": "x\\n#### "}\n', r"mine\.jsonl:1: .*####"),
        ("[1, 2]\n", r"mine\.jsonl:1: expected an object"),
        ("\n\n", r"holds no problems"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_problems(config(path)["dataset"])


def test_a_bad_level_names_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [{"question": "q", "answer": 1, "lvl": 1}, {"question": "q", "answer": 1, "lvl": "hard"}],
    )
    with pytest.raises(ConfigError, match=r"mine\.jsonl:2: field 'lvl' must be a whole number"):
        load_problems(config(path, "dataset.fields.level=lvl")["dataset"])


def test_a_file_that_is_not_utf8_is_one_config_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"question": "q", "answer": 1}\n{"question": "caf\xe9", "answer": 2}\n')
    with pytest.raises(ConfigError, match=r"latin1\.jsonl:2: not UTF-8 text \(byte 0xe9\)") as e:
        load_problems(config(path)["dataset"])
    assert "\n" not in str(e.value)
    # The GSM8K-format loaders read files the same way.
    with pytest.raises(ConfigError, match=r"latin1\.jsonl:2: not UTF-8"):
        load_problems({"name": "gsm8k", "path": str(path)})


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"question": "q", "answer": 1}\n')
    assert load_problems(config(path)["dataset"])[0].gold == "1"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["dataset.name=null"], r"needs a name.*<dataset\.name>"),
        (["dataset.path=null"], r"dataset\.path="),
        (["dataset.fields.answer=null"], r"dataset\.fields\.answer must name a field"),
        (["+dataset.fields.colour=x"], r"unknown key\(s\) dataset\.fields\.colour"),
        (["dataset.answer_type=words"], r"unknown answer type 'words'"),
    ],
)
def test_bad_config_is_a_config_error(tmp_path: Path, overrides: list[str], message: str) -> None:
    path = write(tmp_path, [{"question": "q", "answer": 1}])
    with pytest.raises(ConfigError, match=message):
        load_problems(config(path, *overrides)["dataset"])


@pytest.mark.parametrize("rel_tol", ["-0.1", "1", "5", "nan", "inf"])
def test_rel_tol_is_a_share_below_one(tmp_path: Path, rel_tol: str) -> None:
    path = write(tmp_path, [{"question": "q", "answer": 1}])
    with pytest.raises(ConfigError, match=r"<dataset\.rel_tol>"):
        load_problems(config(path, f"dataset.rel_tol={rel_tol}")["dataset"])
