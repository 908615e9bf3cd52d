"""Secrets kept out of everything the project writes: logs, MLflow, output files, error texts.

Two kinds of secret. Values registered at run time (an API key when it is read, the password of a
URL's ``user:pass@`` and its Basic-auth form) are replaced by ``***`` wherever ``scrub`` sees them.
The ``user:pass@`` part of any URL is removed from config values (``scrub_config``) and from text.
``install_log_scrubber`` passes every log record through ``scrub``; model backends raise errors
whose messages went through it (``delegate.models.call_error``).
"""

from __future__ import annotations

import base64
import logging
import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

MASK = "***"
# Masking shorter values would garble ordinary text; no real key or password is that short.
MIN_SECRET_CHARS = 4

# scheme://user:pass@ -- the userinfo runs to the last '@' before the host's end; quotes and
# whitespace end it so that an '@' later in the same text is not taken for one. Hydra writes
# overrides with escaped colons (``http\://alice\:pw@host``): those are URLs too.
_USERINFO_RE = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*\\?://)(?P<userinfo>[^/?#\s\"'<>]*@)"
)

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def split_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without its ``user:pass@``, and the (percent-decoded) user and password if any."""
    match = _USERINFO_RE.match(url)
    if match is None:
        return url, None
    user, _, password = match.group("userinfo")[:-1].partition(":")
    return strip_userinfo(url), (unquote(user), unquote(password))


def strip_userinfo(text: str) -> str:
    """``text`` with the ``user:pass@`` of every URL in it removed."""
    return _USERINFO_RE.sub(r"\g<scheme>", text)


def register_secret(value: str) -> None:
    """Mask ``value`` in everything ``scrub`` sees from now on (a ``Bearer`` header included)."""
    if len(value) < MIN_SECRET_CHARS:
        return
    global _pattern
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        # Longest first, so a secret containing another is masked whole.
        alternatives = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in alternatives))


def registered_secrets() -> list[str]:
    """The values registered so far, for a child process that writes on this one's behalf (the
    trace writer) to register in turn."""
    with _lock:
        return sorted(_secrets)


# What an environment variable's name looks like; anything else in ``api_key_env`` is probably
# the key itself, pasted in by mistake.
VARIABLE_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def register_config_secrets(cfg: Any) -> None:
    """Register, before anything is written, the keys a resolved config points at: the value of
    each model's ``api_key_env`` variable (from the environment or a ``.env`` file), so a key
    quoted anywhere (a prompt text, Hydra's copies of the config) is masked from the start; and
    an ``api_key_env`` that is no variable name at all (a key pasted in its place)."""
    if not isinstance(cfg, dict):
        return
    names = [(cfg.get(role) or {}).get("api_key_env") for role in ("llm", "slm")]
    register_variable_secrets(n for n in names if isinstance(n, str) and n)


def register_variable_secrets(names: Iterable[str]) -> None:
    """Register the values of these key variables (environment, else a ``.env`` file); a name
    that is no variable name is registered itself (a key pasted where a name belongs)."""
    dotenv: dict[str, Any] | None = None
    for name in names:
        if not VARIABLE_NAME_RE.fullmatch(name):
            register_secret(name)
            continue
        value = os.environ.get(name)
        if not value:
            dotenv = _dotenv_values() if dotenv is None else dotenv
            value = dotenv.get(name)
        if isinstance(value, str) and value.strip():
            register_secret(value.strip())


def register_argv_secrets(argv: Iterable[str], config_names: Iterable[str] = ()) -> None:
    """Before Hydra composes and logs anything (``hydra.verbose`` prints the config, a multirun
    each job's overrides): the keys of every variable an ``api_key_env`` may name, on the
    command line or in the model config files (``config_names``), and a key pasted as
    ``api_key_env=<key>``."""
    names = set(config_names)
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key.lstrip("+~").endswith("api_key_env") and value not in ("", "null"):
            names.update(v for v in value.split(",") if v)  # a sweep lists several
    register_variable_secrets(sorted(names))


def _dotenv_values() -> dict[str, Any]:
    try:
        from dotenv import dotenv_values, find_dotenv
    except ImportError:
        return {}
    path = find_dotenv(usecwd=True)
    return dict(dotenv_values(path)) if path else {}


def basic_auth(user: str, password: str) -> str:
    """The ``Authorization`` value for HTTP Basic auth; the password and the header's encoded
    credentials are registered as secrets."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    register_secret(password)
    register_secret(token)
    return f"Basic {token}"


def scrub(text: str) -> str:
    """``text`` with registered secrets masked and the ``user:pass@`` of URLs removed."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return strip_userinfo(text)


def scrub_config(tree: Any) -> Any:
    """A copy of a plain config tree (dicts, lists, scalars) with every string scrubbed."""
    if isinstance(tree, dict):
        return {k: scrub_config(v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return [scrub_config(v) for v in tree]
    if isinstance(tree, str):
        return scrub(tree)
    return tree


def scrub_files(paths: Iterable[Path]) -> None:
    """Rewrite each text file whose scrubbed text differs (Hydra's own copies of the config and
    the command line), atomically, so that a reader never sees half a file."""
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        clean = scrub(text)
        if clean != text:
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            temporary.write_text(clean, encoding="utf-8")
            temporary.replace(path)


class ScrubFilter(logging.Filter):
    """Scrubs a record's message, arguments and traceback in place; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it when the record is formatted
            return True
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


_installed = False


def install_log_scrubber() -> None:
    """Scrub every log record from now on, as it is made.

    A filter on the root logger's handlers would miss loggers that do not propagate and have
    handlers of their own, some added by libraries after start-up; scrubbing at the record's
    creation covers every logger and handler. Idempotent.
    """
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    make_record = logging.getLogRecordFactory()
    scrubber = ScrubFilter()

    def scrubbed_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        scrubber.filter(record)
        return record

    logging.setLogRecordFactory(scrubbed_record)
