"""Problems, the registry of dataset loaders, and reading JSONL files line by line.

``dataset.loader`` names the loader (it defaults to ``dataset.name``, which also tags the run); the
other keys of the ``dataset`` config group are the loader's arguments, checked against its
signature before anything is read. GSM8K's own format (``question``, and ``answer`` ending in a
``#### x`` line) is read here, as ``gsm8k``, ``mini`` and hub downloads share it.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from delegate.errors import ConfigError
from delegate.registry import Registry
from delegate.scoring import ANSWER_TYPES


@dataclass(frozen=True)
class Problem:
    """A problem to solve and its gold answer.

    ``id`` is the problem's 0-based line index in its source file (offset per source in
    ``mixed``); ``level`` is MATH's 1-5 or the level assigned to the whole source; ``answer_type``
    picks the grader (``delegate.scoring``) and ``rel_tol`` is its tolerance for numbers.
    """

    id: int
    question: str
    gold: str
    source: str = ""
    level: int | None = None
    subject: str | None = None
    answer_type: str = "number"
    rel_tol: float = 0.0


Loader = Callable[..., list[Problem]]
DATASETS: Registry[Loader] = Registry("dataset loader", "dataset.loader")


def load_problems(cfg: Mapping[str, Any]) -> list[Problem]:
    """Load every problem of the dataset that ``cfg`` (the ``dataset`` config group) names."""
    options = dict(cfg)
    name = options.pop("name", None)
    kind = options.pop("loader", None) or name
    if not name:
        raise ConfigError("the dataset needs a name, which tags the run <dataset.name>")
    loader = DATASETS.get(str(kind))
    params = inspect.signature(loader).parameters
    if "name" in params:
        options["name"] = str(name)
    unknown = sorted(set(options) - set(params))
    if unknown:
        valid = ", ".join(n for n in params if n != "name")
        raise ConfigError(
            f"unknown key(s) {', '.join(f'dataset.{k}' for k in unknown)} <dataset>; "
            f"valid keys for dataset.loader={kind}: {valid}"
        )
    return loader(**options)


def check_grading(answer_type: str, rel_tol: float) -> str:
    """``answer_type`` once it is known to name a grader and ``rel_tol`` to be usable."""
    if answer_type not in ANSWER_TYPES:
        raise ConfigError(
            f"unknown answer type {answer_type!r} <dataset.answer_type>; "
            f"known: {', '.join(ANSWER_TYPES)}"
        )
    number = not isinstance(rel_tol, bool) and isinstance(rel_tol, int | float)
    # A share of the gold: 1 or more would accept any number of the same sign.
    if not number or not 0 <= rel_tol < 1:
        raise ConfigError(
            f"rel_tol must be a number of at least 0 and below 1, got {rel_tol!r} <dataset.rel_tol>"
        )
    return answer_type


def read_text(path: str | Path) -> tuple[str, str]:
    """A local dataset file's text and its name for messages; a file that is missing or not
    UTF-8 text is a ConfigError naming it (and the line of the first bad byte)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"dataset file not found: {p} <dataset.path>")
    data = p.read_bytes()
    try:
        return data.decode("utf-8-sig"), str(p)
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ConfigError(
            f"{p}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x}); save the file as UTF-8 "
            "<dataset.path>"
        ) from None


def json_rows(text: str, source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(0-based line index, object) for each non-blank line; errors name ``source`` and the
    1-based line."""
    found = False
    for index, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{source}:{index + 1}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise ConfigError(f"{source}:{index + 1}: expected an object, one per line")
        found = True
        yield index, row
    if not found:
        raise ConfigError(f"{source}: the dataset file holds no problems")


def gold_text(value: Any, where: str) -> str:
    """A gold answer as text: strings as they are, numbers as plain decimals (``51.0`` -> ``51``,
    ``2e-06`` -> ``0.000002``), so that a number grader and a reader see the same value."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        exact = Decimal(repr(value))
        if not exact.is_finite():
            raise ConfigError(f"{where}: the answer {value!r} is not a finite number")
        return str(int(exact)) if exact == exact.to_integral_value() else f"{exact.normalize():f}"
    raise ConfigError(f"{where}: the answer must be a non-empty string or a number")


def gsm8k_gold(answer: Any, where: str) -> str:
    """The gold answer of a GSM8K-format solution: what follows its last ``####``."""
    text = answer if isinstance(answer, str) else ""
    if "####" not in text:
        raise ConfigError(f"{where}: the 'answer' field has no '#### <answer>' line")
    gold = text.rsplit("####", 1)[1].strip().splitlines()
    if not gold or not gold[0].strip():
        raise ConfigError(f"{where}: the 'answer' field has no '#### <answer>' line")
    return gold[0].strip()


def parse_jsonl(text: str, source: str, tag: str = "gsm8k", level: int | None = 2) -> list[Problem]:
    """Problems from GSM8K-format JSONL text; errors name ``source`` and the 1-based line."""
    problems: list[Problem] = []
    for index, row in json_rows(text, source):
        where = f"{source}:{index + 1}"
        if not isinstance(row.get("question"), str):
            raise ConfigError(f"{where}: expected an object with a 'question' string")
        gold = gsm8k_gold(row.get("answer"), where)
        problems.append(Problem(index, row["question"], gold, source=tag, level=level))
    return problems
