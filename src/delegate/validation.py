"""Settings checked before any work starts: unknown keys, values out of range, the tracking store.

Each failure is one ``ConfigError`` line naming the key. Backends, strategies and datasets check
their own sections when they are bound (``build.bind``); this module checks what nothing else
owns: the top-level keys, the ``cache`` and ``tracking`` sections, the generation settings every
backend shares, and whether the tracking URI can work.
"""

from __future__ import annotations

import math
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from delegate.errors import ConfigError

# The keys of conf/config.yaml (a test keeps them in step); anything else was added by mistake,
# such as ``+max_cost_usd=1``, and would be silently ignored.
TOP_LEVEL_KEYS = (
    "strategy",
    "llm",
    "slm",
    "dataset",
    "prompt",
    "samples",
    "seed",
    "concurrency",
    "progress",
    "resume",
    "temperature",
    "max_tokens",
    "router",
    "cascade",
    "cache",
    "tracking",
    "budget_usd",
    "dry_run",
    "retry_errors",
)
SECTION_KEYS = {"cache": ("enabled", "dir"), "tracking": ("uri", "experiment", "traces")}

# (minimum, maximum, whether the minimum itself is allowed) for settings every backend shares.
_RANGES: dict[str, tuple[float, float, bool]] = {
    "max_tokens": (1, math.inf, True),
    "temperature": (0.0, 2.0, True),
    "timeout_s": (0.0, math.inf, False),
    "max_retries": (0, 100, True),
    "requests_per_minute": (0.0, math.inf, False),
    "tokens_per_minute": (0.0, math.inf, False),
    "batch_size": (1, math.inf, True),
    "batch_window_ms": (0.0, math.inf, True),
    "n_ctx": (1, math.inf, True),
}
_INTEGERS = ("max_tokens", "max_retries", "batch_size", "n_ctx")
_TRACKING_SCHEMES = ("sqlite", "http", "https", "postgresql", "mysql", "mssql", "databricks")


def check_settings(cfg: Mapping[str, Any]) -> None:
    """Unknown keys and out-of-range values, before anything is loaded or started."""
    unknown = sorted(set(cfg) - set(TOP_LEVEL_KEYS))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(unknown)} <{unknown[0]}>; valid keys: "
            f"{', '.join(TOP_LEVEL_KEYS)}"
        )
    for section, keys in SECTION_KEYS.items():
        extra = sorted(set(cfg.get(section) or {}) - set(keys))
        if extra:
            raise ConfigError(
                f"unknown key(s) {', '.join(f'{section}.{k}' for k in extra)} <{section}>; "
                f"valid keys: {', '.join(keys)}"
            )
    _check_range("max_tokens", cfg.get("max_tokens"))
    _check_range("temperature", cfg.get("temperature"))
    for role in ("llm", "slm"):
        for key, value in (cfg.get(role) or {}).items():
            if key in _RANGES:
                _check_range(f"{role}.{key}", value)


def _check_range(key: str, value: Any) -> None:
    name = key.rsplit(".", 1)[-1]
    low, high, inclusive = _RANGES[name]
    if value is None and name in ("requests_per_minute", "tokens_per_minute"):
        return  # no limit
    integer = name in _INTEGERS
    kind = "an integer" if integer else "a number"
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (integer and not isinstance(value, int))
    ):
        raise ConfigError(f"{key} must be {kind}, got {value!r} <{key}>")
    if math.isnan(value) or value > high or value < low or (value == low and not inclusive):
        bound = f">= {low:g}" if inclusive else f"> {low:g}"
        if high != math.inf:
            bound += f" and <= {high:g}"
        raise ConfigError(f"{key} must be {bound}, got {value!r} <{key}>")


def check_tracking_uri(uri: str, timeout_s: float = 5.0) -> None:
    """Fail in seconds, with one line, on a tracking URI that cannot work: an unknown scheme, a
    SQLite file whose directory cannot exist, a server that does not answer."""
    parts = urlsplit(uri)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in _TRACKING_SCHEMES:
        raise ConfigError(
            f"tracking.uri {uri!r}: unsupported scheme {parts.scheme or '(none)'!r}; use one of "
            f"{', '.join(_TRACKING_SCHEMES)} <tracking.uri>"
        )
    if scheme == "sqlite":
        path = Path(uri[len("sqlite:///") :]) if uri.startswith("sqlite:///") else None
        if path is None or not path.name:
            raise ConfigError(f"tracking.uri {uri!r}: expected sqlite:///<path> <tracking.uri>")
        for parent in path.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise ConfigError(
                        f"tracking.uri {uri!r}: {parent} is a file, not a directory <tracking.uri>"
                    )
                break
        return
    if scheme in ("http", "https"):
        port = parts.port or (443 if scheme == "https" else 80)
        try:
            socket.create_connection((parts.hostname or "", port), timeout=timeout_s).close()
        except OSError as e:
            reason = e.strerror or type(e).__name__
            raise ConfigError(
                f"cannot reach the tracking server at {uri} ({reason}) <tracking.uri>"
            ) from None
