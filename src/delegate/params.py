"""What of a run's configuration may be recorded: flattened params and a redacted copy.

Keys whose value could be a secret are dropped (``api_key_env`` names a variable and stays), and
every string is scrubbed (``delegate.secrets``), before anything reaches MLflow or a file.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from typing import Any

from delegate.paths import PROJECT_ROOT
from delegate.secrets import scrub, scrub_config

_SECRET_KEY_RE = re.compile(r"(api_?key|secret|password|token)$", re.IGNORECASE)
PARAM_MAX_CHARS = 6000  # MLflow's limit per param value


def is_secret_key(key: str) -> bool:
    """Config keys whose value could be a secret. ``api_key_env`` names a variable: not secret."""
    leaf = key.rsplit(".", 1)[-1]
    return bool(_SECRET_KEY_RE.search(leaf)) and not leaf.endswith("_env")


def flatten(cfg: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"llm": {"model": "x"}}`` -> ``{"llm.model": "x"}``, secrets dropped, values as
    scrubbed text."""
    flat: dict[str, str] = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if is_secret_key(name):
            continue
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = scrub(str(value))[:PARAM_MAX_CHARS]
    return flat


def redact(cfg: Any) -> Any:
    """A copy of a plain config tree without secret-looking keys, its strings scrubbed."""
    return scrub_config(_without_secret_keys(cfg))


def _without_secret_keys(cfg: Any) -> Any:
    if isinstance(cfg, Mapping):
        return {k: _without_secret_keys(v) for k, v in cfg.items() if not is_secret_key(str(k))}
    if isinstance(cfg, list):
        return [_without_secret_keys(v) for v in cfg]
    return cfg


def git_commit() -> str:
    """The project's checked-out commit, or "unknown" outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
