"""Whether the tracking URI can work, checked in seconds before any work starts.

Settings themselves are checked when the config is parsed (``delegate.config``); this is the one
check that looks outside the process: an unknown scheme, a SQLite file whose directory cannot
exist, a tracking server that does not answer.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

from delegate.errors import ConfigError

_TRACKING_SCHEMES = ("sqlite", "http", "https", "postgresql", "mysql", "mssql", "databricks")


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
        _check_sqlite_path(uri)
    elif scheme in ("http", "https"):
        port = parts.port or (443 if scheme == "https" else 80)
        try:
            socket.create_connection((parts.hostname or "", port), timeout=timeout_s).close()
        except OSError as e:
            reason = e.strerror or type(e).__name__
            raise ConfigError(
                f"cannot reach the tracking server at {uri} ({reason}) <tracking.uri>"
            ) from None


def _check_sqlite_path(uri: str) -> None:
    path = Path(uri[len("sqlite:///") :]) if uri.startswith("sqlite:///") else None
    if path is None or not path.name:
        raise ConfigError(f"tracking.uri {uri!r}: expected sqlite:///<path> <tracking.uri>")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(
                    f"tracking.uri {uri!r}: {parent} is a file, not a directory <tracking.uri>"
                )
            return
