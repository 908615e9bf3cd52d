"""A run's configuration identity: the one definition of "the same experiment".

Two runs are the same configuration when everything that can change an answer or a cost is the
same: the strategy and the settings it reads (``router.*`` for the router, nothing for ``llm``),
each model it uses as its backend resolves it (backend, model file, endpoint, device, dtype,
generation settings) with its prices, the prompt texts it sends, the dataset (its settings and a
digest of every problem's text and gold, so an edited or reordered file is another dataset) and the
sample size. Nothing else counts: not the seed (runs of several seeds pool), nor concurrency,
progress, resume, cache, tracking or Hydra's settings.

The identity is a plain JSON tree shaped like the config (``router.max_tool_calls``,
``llm.temperature``), so its flattened keys read as the overrides a user types. A run carries a
short digest of it as the ``config_id`` tag and the tree itself as ``identity.json``; resume and
``delegate.compare`` group runs by it, and the response cache keys on the models' part of it.
This module is pure: it imports no model stack, so the report can use it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from delegate.outputs import IDENTITY_FILE as IDENTITY_FILE
from delegate.tags import CONFIG_ID_TAG as CONFIG_ID_TAG

ANSWER_PROMPTS = ("system", "user")  # what a model answering alone is sent


def digest(value: Any, length: int = 12) -> str:
    """A short stable hash of a JSON-able value (keys sorted, so order of keys never matters)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def problems_digest(problems: Iterable[Any]) -> str:
    """A digest of problems' ids, texts and golds, in order: an edited or reordered copy of a
    dataset file differs."""
    return digest([[p.id, p.question, p.gold] for p in problems], 16)


def config_id(identity: Mapping[str, Any]) -> str:
    return digest(identity)


def dataset_identity(
    dataset_cfg: Mapping[str, Any], problems: Iterable[Any], samples: Any
) -> dict[str, Any]:
    """The dataset's settings (its file's path aside: the content digest stands for the file),
    the content digest and the sample size."""
    settings = {k: v for k, v in dataset_cfg.items() if k != "path"}
    return {**settings, "content_sha256": problems_digest(problems), "samples": samples}


def run_identity(
    strategy: str,
    settings: Mapping[str, Any] | None,
    models: Mapping[str, Mapping[str, Any]],
    prompts: Mapping[str, str],
    dataset: Mapping[str, Any],
) -> dict[str, Any]:
    """The identity tree from its parts: ``models`` maps each role the strategy uses to its
    model's identity (prices included), ``prompts`` the texts the strategy sends."""
    identity: dict[str, Any] = {"strategy": strategy}
    if settings is not None:
        identity[strategy] = dict(settings)
    identity.update({role: dict(model) for role, model in models.items()})
    identity["prompt"] = dict(prompts)
    identity["dataset"] = dict(dataset)
    return identity


def identity_document(identity: Mapping[str, Any], prompt_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """What ``identity.json`` holds: the identity, its id, and (outside the identity) the texts
    a model answering alone would get under the same prompt set, so the report can find the
    LLM-only and SLM-only runs a run is set against."""
    return {
        "config_id": config_id(identity),
        "identity": dict(identity),
        "answer_prompts": {k: str(prompt_cfg[k]) for k in ANSWER_PROMPTS if k in prompt_cfg},
    }


def alone_identity(document: Mapping[str, Any], role: str) -> dict[str, Any] | None:
    """The identity of the run in which ``role``'s model answers alone, under the same prompt
    set's instructions, dataset and sample; None when this run does not use that model."""
    identity = document["identity"]
    if role not in identity:
        return None
    model = {k: v for k, v in identity[role].items() if k != "tool_protocol"}
    return run_identity(role, None, {role: model}, document["answer_prompts"], identity["dataset"])


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"router": {"max_tool_calls": 1}}`` -> ``{"router.max_tool_calls": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


# Keys a report label never needs: the model names and prompt name are in every label already,
# prompt texts are long (a label names the prompt set), the content digest is not readable.
_UNLABELLED_PREFIXES = ("prompt.", "strategy")
_UNLABELLED_KEYS = ("llm.model", "slm.model", "dataset.content_sha256")


def varying_settings(identities: Iterable[Mapping[str, Any]]) -> list[str]:
    """The flattened keys that take more than one value among the identities that have them,
    less those every label shows anyway; in the order first seen."""
    values: dict[str, set[str]] = {}
    for identity in identities:
        for key, value in flatten(identity).items():
            values.setdefault(key, set()).add(json.dumps(value, sort_keys=True))
    return [
        key
        for key, seen in values.items()
        if len(seen) > 1
        and key not in _UNLABELLED_KEYS
        and not key.startswith(_UNLABELLED_PREFIXES)
    ]
