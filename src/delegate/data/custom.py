"""``dataset=jsonl``: your own problems, one JSON object per line.

``dataset.fields`` names the fields holding the question and the answer (and, optionally, each
problem's level, source and subject). An answer may be a number, a string, or a GSM8K-style worked
solution, whose gold is what follows its last ``####``. The run is tagged with ``dataset.name``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from delegate.data.loaders import (
    DATASETS,
    Problem,
    check_grading,
    gold_text,
    gsm8k_gold,
    json_rows,
    read_text,
)
from delegate.errors import ConfigError

_FIELDS = ("question", "answer", "level", "source", "subject")


@DATASETS.register("jsonl")
def load_jsonl(
    name: str,
    path: str | None,
    fields: Mapping[str, str | None],
    answer_type: str = "number",
    rel_tol: float = 0.0,
    level: int | None = None,
    split: str = "test",
) -> list[Problem]:
    """The problems of the JSONL file at ``path``; ``level`` applies where no level field is set.
    ``split`` only labels the run (``<name>:<split>``)."""
    if not path:
        raise ConfigError("dataset=jsonl needs the file: dataset.path=/path/to/file.jsonl")
    check_grading(answer_type, rel_tol)
    unknown = sorted(set(fields) - set(_FIELDS))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(f'dataset.fields.{k}' for k in unknown)} <dataset.fields>;"
            f" valid keys: {', '.join(_FIELDS)}"
        )
    for required in ("question", "answer"):
        if not fields.get(required):
            raise ConfigError(f"dataset.fields.{required} must name a field <dataset.fields>")
    text, where = read_text(path)
    return [
        _problem(row, index, f"{where}:{index + 1}", name, fields, answer_type, rel_tol, level)
        for index, row in json_rows(text, where)
    ]


def _problem(
    row: dict[str, Any],
    index: int,
    where: str,
    name: str,
    fields: Mapping[str, str | None],
    answer_type: str,
    rel_tol: float,
    level: int | None,
) -> Problem:
    question = row.get(str(fields["question"]))
    if not isinstance(question, str) or not question.strip():
        raise ConfigError(f"{where}: expected a non-empty string in field {fields['question']!r}")
    answer_field = str(fields["answer"])
    if answer_field not in row:
        raise ConfigError(f"{where}: no answer field {answer_field!r}")
    answer = row[answer_field]
    gold = gsm8k_gold(answer, where) if isinstance(answer, str) and "####" in answer else None
    return Problem(
        id=index,
        question=question,
        gold=gold or gold_text(answer, where),
        source=_optional_text(row, fields.get("source"), where) or name,
        level=_level(row, fields.get("level"), where, level),
        subject=_optional_text(row, fields.get("subject"), where),
        answer_type=answer_type,
        rel_tol=rel_tol,
    )


def _optional_text(row: dict[str, Any], field: str | None, where: str) -> str | None:
    if not field or row.get(field) is None:
        return None
    value = row[field]
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ConfigError(f"{where}: field {field!r} must be a string")
    return str(value)


def _level(row: dict[str, Any], field: str | None, where: str, default: int | None) -> int | None:
    if not field or row.get(field) is None:
        return default
    value = row[field]
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ConfigError(f"{where}: field {field!r} must be a whole number, not {value!r}")
