"""The test sets shipped inside the package: SVAMP, GSM8K, GSM-Hard, MATH-500 (and ``mini``).

Each lives in ``delegate/data/<source>/test.jsonl``, byte for byte the published file, with its
licence and provenance beside it and its sha256 in ``delegate/data/SHA256SUMS``. ``SOURCES`` holds
what every problem of a source carries unless the dataset config overrides it: its answer type,
its level (MATH-500's problems have their own; each other source has one, on MATH's 1-5 scale, set
by how hard published models find it) and the grader's tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from delegate.data.hub import load_gsm8k_from_hub
from delegate.data.loaders import (
    DATASETS,
    Problem,
    check_grading,
    gold_text,
    json_rows,
    parse_jsonl,
    read_text,
)
from delegate.errors import ConfigError


@dataclass(frozen=True)
class Source:
    """A shipped test set and the defaults its problems carry."""

    name: str
    answer_type: str
    level: int | None  # None: each problem's own level (MATH-500)
    rel_tol: float = 0.0


SOURCES = {
    s.name: s
    for s in (
        Source("svamp", "number", level=1),
        Source("gsm8k", "number", level=2),
        Source("gsm-hard", "number", level=3, rel_tol=1e-6),  # its targets carry float noise
        Source("math500", "latex", level=None),
    )
}


def _packaged_text(name: str) -> tuple[str, str]:
    file = f"{name}/test.jsonl" if name in SOURCES else f"{name}.jsonl"
    text = resources.files("delegate.data").joinpath(file).read_text(encoding="utf-8")
    return text, f"delegate/data/{file}"


def _only_test(split: str, name: str) -> None:
    if split != "test":
        raise ConfigError(
            f"the packaged {name} has only its 'test' split, not {split!r} <dataset.split>"
        )


def read_source(
    name: str,
    answer_type: str | None = None,
    level: int | None = None,
    rel_tol: float | None = None,
) -> list[Problem]:
    """Every problem of the shipped source ``name``; ``None`` keeps the source's default."""
    source = SOURCES[name]
    answer_type = check_grading(answer_type or source.answer_type, rel_tol or 0.0)
    level = source.level if level is None else level
    tol = source.rel_tol if rel_tol is None else rel_tol
    text, where = _packaged_text(name)
    if name == "gsm8k":
        rows = parse_jsonl(text, where, tag=name, level=level)
        return [_with(p, answer_type, tol) for p in rows]
    return [
        _row_problem(name, i, row, answer_type, level, tol) for i, row in json_rows(text, where)
    ]


def _with(problem: Problem, answer_type: str, rel_tol: float) -> Problem:
    return replace(problem, answer_type=answer_type, rel_tol=rel_tol)


def _row_problem(
    name: str, index: int, row: dict[str, Any], answer_type: str, level: int | None, tol: float
) -> Problem:
    where = f"delegate/data/{name}/test.jsonl:{index + 1}"
    if name == "math500":
        return Problem(
            id=index,
            question=row["problem"],
            gold=gold_text(row["answer"], where),
            source=name,
            level=int(row["level"]) if level is None else level,
            subject=row["subject"],
            answer_type=answer_type,
            rel_tol=tol,
        )
    return Problem(
        id=index,
        question=row["input"],
        gold=gold_text(row["target"], where),
        source=name,
        level=level,
        answer_type=answer_type,
        rel_tol=tol,
    )


@DATASETS.register("svamp")
def load_svamp(
    split: str = "test", answer_type: str = "number", level: int = 1, rel_tol: float = 0.0
) -> list[Problem]:
    """SVAMP's 1,000 problems (PAL's reformatting)."""
    _only_test(split, "svamp")
    return read_source("svamp", answer_type, level, rel_tol)


@DATASETS.register("gsm-hard")
def load_gsm_hard(
    split: str = "test", answer_type: str = "number", level: int = 3, rel_tol: float = 1e-6
) -> list[Problem]:
    """GSM-Hard's 1,319 problems: GSM8K's test split with larger numbers."""
    _only_test(split, "gsm-hard")
    return read_source("gsm-hard", answer_type, level, rel_tol)


@DATASETS.register("math500")
def load_math500(
    split: str = "test", answer_type: str = "latex", level: int | None = None
) -> list[Problem]:
    """MATH-500; ``level`` set here overrides the problems' own levels."""
    _only_test(split, "math500")
    return read_source("math500", answer_type, level)


@DATASETS.register("gsm8k")
def load_gsm8k(
    path: str | None = None,
    hub: bool = False,
    split: str = "test",
    revision: str = "main",
    answer_type: str = "number",
    level: int = 2,
    rel_tol: float = 0.0,
) -> list[Problem]:
    """GSM8K: the packaged test split; a local file in its format (``path``); or the hub's
    ``openai/gsm8k`` (``hub=true``, config ``main``, at ``revision``)."""
    if path and hub:
        raise ConfigError("set either dataset.path or dataset.hub=true, not both <dataset.hub>")
    if path or hub:
        text, where = read_text(path) if path else load_gsm8k_from_hub(split, revision)
        check_grading(answer_type, rel_tol)
        problems = parse_jsonl(text, where, tag="gsm8k", level=level)
        return [_with(p, answer_type, rel_tol) for p in problems]
    if split != "test":
        raise ConfigError(
            f"only GSM8K's test split ships with delegate, not {split!r}; set dataset.hub=true "
            "or dataset.path=<file> <dataset.split>"
        )
    return read_source("gsm8k", answer_type, level, rel_tol)


@DATASETS.register("mini")
def load_mini(
    path: str | None = None, split: str = "test", answer_type: str = "number", level: int = 1
) -> list[Problem]:
    """The packaged offline set (``mini.jsonl``, 40 original problems), or a file in GSM8K's
    format."""
    check_grading(answer_type, 0.0)
    if path:
        text, where = read_text(path)
    else:
        _only_test(split, "mini dataset")
        text, where = _packaged_text("mini")
    return [_with(p, answer_type, 0.0) for p in parse_jsonl(text, where, tag="mini", level=level)]
