"""Dataset loaders, registered by the name used in ``dataset.name``.

Both read GSM8K's format: one JSON object per line with ``question`` and ``answer``, the gold answer
on the answer's ``#### x`` line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from delegate.errors import ConfigError
from delegate.registry import Registry

_GOLD_RE = re.compile(r"####\s*(.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Problem:
    """A word problem; ``id`` is its 0-based index in the source split."""

    id: int
    question: str
    gold: str


Loader = Callable[..., list[Problem]]
DATASETS: Registry[Loader] = Registry("dataset", "dataset.name")


def load_problems(cfg: Mapping[str, Any]) -> list[Problem]:
    """Load every problem of the split that ``cfg`` (the ``dataset`` config group) names."""
    loader = DATASETS.get(str(cfg.get("name")))
    options = {k: v for k, v in cfg.items() if k != "name"}
    try:
        return loader(**options)
    except TypeError as e:
        raise ConfigError(f"bad dataset options <dataset>: {e}") from None


def parse_jsonl(text: str, source: str) -> list[Problem]:
    """Problems from GSM8K-format JSONL text; errors name ``source`` and the 1-based line."""
    problems: list[Problem] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{source}:{lineno}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise ConfigError(f"{source}:{lineno}: expected an object with a 'question' string")
        gold = _GOLD_RE.findall(str(row.get("answer", "")))
        if not gold:
            raise ConfigError(f"{source}:{lineno}: the 'answer' field has no '#### <answer>' line")
        problems.append(Problem(id=len(problems), question=row["question"], gold=gold[-1]))
    if not problems:
        raise ConfigError(f"{source}: the dataset file holds no problems")
    return problems


def read_jsonl_file(path: str | Path) -> list[Problem]:
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"dataset file not found: {p} <dataset.path>")
    return parse_jsonl(p.read_text(encoding="utf-8"), str(p))


@DATASETS.register("gsm8k")
def load_gsm8k(path: str | None, split: str = "test", revision: str = "main") -> list[Problem]:
    """GSM8K from a local JSONL file, or from the hub's ``openai/gsm8k`` (config ``main``)."""
    if path:
        return read_jsonl_file(path)
    return _load_gsm8k_from_hub(split, revision)


def _load_gsm8k_from_hub(split: str, revision: str) -> list[Problem]:
    try:
        import pyarrow.parquet as pq
        from huggingface_hub import hf_hub_download

        file = hf_hub_download(
            "openai/gsm8k",
            f"main/{split}-00000-of-00001.parquet",
            repo_type="dataset",
            revision=revision,
        )
        rows = pq.read_table(file).to_pylist()
    except ImportError as e:
        raise ConfigError(
            f"loading GSM8K from the hub needs {e.name}; or set dataset.path to a local JSONL file"
        ) from None
    except Exception as e:  # any hub or network failure: the fix is the same for the user
        raise ConfigError(
            f"could not download openai/gsm8k ({type(e).__name__}); "
            "set dataset.path to a local GSM8K JSONL file (dataset.path=/data/gsm8k/test.jsonl)"
        ) from None
    text = "\n".join(json.dumps(r) for r in rows)
    return parse_jsonl(text, f"openai/gsm8k@{revision}:{split}")


@DATASETS.register("mini")
def load_mini(path: str | None = None, split: str = "test") -> list[Problem]:
    """The packaged offline set (``mini.jsonl``), or a file in the same format."""
    if path:
        return read_jsonl_file(path)
    if split != "test":
        raise ConfigError(
            f"the mini dataset has only a 'test' split, not {split!r} <dataset.split>"
        )
    text = resources.files("delegate.data").joinpath("mini.jsonl").read_text(encoding="utf-8")
    return parse_jsonl(text, "delegate/data/mini.jsonl")
