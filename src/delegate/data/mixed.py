"""``dataset=mixed``: a stratified mixture of the four shipped test sets.

A stratum is a whole source (``svamp``) or one level of it (``math500_level_3``); ``dataset.mix``
gives each a relative weight. The loader returns every problem of the weighted strata as a
``Mixture``, which ``draw_sample`` samples stratum by stratum, so ``samples=n`` keeps the
proportions and the same seed draws the same problems for every strategy.

Ids stay unique and stable across sources: a problem's id is ``OFFSETS[source] + line index``
(svamp 100000+, gsm8k 200000+, gsm-hard 300000+, math500 400000+).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace

from delegate.data.loaders import DATASETS, Problem
from delegate.data.sampling import Mixture
from delegate.data.shipped import SOURCES, read_source
from delegate.errors import ConfigError

OFFSETS = {
    "svamp": 100_000,
    "gsm8k": 200_000,
    "gsm-hard": 300_000,
    "math500": 400_000,
    "humaneval": 500_000,  # + the task number
    "mbpp": 600_000,  # + the task id
}
CODE_SOURCES = ("humaneval", "mbpp")  # their own loaders (delegate.data.code); graded as code
# One spelling per stratum: "math500_level_01" would name level 1 twice over and draw it twice.
_STRATUM_RE = re.compile(r"(?P<source>.+?)(?:_level_(?P<level>[1-9]\d*))?")


@DATASETS.register("mixed")
def load_mixed(
    mix: Mapping[str, float], split: str = "test", answer_type: str = "by_source"
) -> Mixture:
    """Every problem of the strata ``mix`` weighs above 0, each graded as its source says."""
    if split != "test":
        raise ConfigError(f"the mixture draws from test splits only, not {split!r} <dataset.split>")
    if answer_type != "by_source":
        raise ConfigError(
            f"each problem of a mixture keeps its source's answer type; dataset.answer_type must "
            f"be by_source, not {answer_type!r} <dataset.answer_type>"
        )
    weights = _weights(mix)
    cache: dict[str, list[Problem]] = {}
    strata: dict[str, list[Problem]] = {}
    for stratum in weights:
        source, level = _parse_stratum(stratum)
        if source not in cache:
            cache[source] = [replace(p, id=OFFSETS[source] + p.id) for p in _read(source)]
        strata[stratum] = [p for p in cache[source] if level is None or p.level == level]
        if not strata[stratum]:
            raise ConfigError(f"{source} has no problems at level {level} <dataset.mix.{stratum}>")
    sources = [_parse_stratum(s)[0] for s in weights]
    for source in set(sources):
        if sources.count(source) > 1 and source in weights:
            raise ConfigError(
                f"dataset.mix weighs all of {source} and one of its levels too; keep one "
                "<dataset.mix>"
            )
    return Mixture(strata, weights)


def _weights(mix: Mapping[str, float]) -> dict[str, float]:
    if not isinstance(mix, Mapping) or not mix:
        raise ConfigError("dataset.mix must map strata to weights <dataset.mix>")
    for stratum, weight in mix.items():
        number = not isinstance(weight, bool) and isinstance(weight, int | float)
        if not number or not math.isfinite(weight) or weight < 0:
            raise ConfigError(
                f"a weight must be a finite number of at least 0, got {weight!r} "
                f"<dataset.mix.{stratum}>"
            )
    weights = {str(k): float(w) for k, w in mix.items() if w > 0}
    if not weights:
        raise ConfigError("every weight in dataset.mix is 0 <dataset.mix>")
    return weights


def _read(source: str) -> list[Problem]:
    if source in CODE_SOURCES:
        return DATASETS.get(source)()
    return read_source(source)


def _parse_stratum(stratum: str) -> tuple[str, int | None]:
    """``math500_level_3`` -> (``math500``, 3); ``svamp`` -> (``svamp``, None)."""
    m = _STRATUM_RE.fullmatch(stratum)
    source, level = (m.group("source"), m.group("level")) if m else (stratum, None)
    if source not in SOURCES and source not in CODE_SOURCES:
        raise ConfigError(
            f"unknown stratum {stratum!r} <dataset.mix>; a stratum is a source "
            f"({', '.join([*SOURCES, *CODE_SOURCES])}) or <source>_level_<k>"
        )
    return source, int(level) if level is not None else None
