"""Secrets masked in text, config trees, log records and errors; URLs without their userinfo."""

from __future__ import annotations

import base64
import logging

import pytest

from delegate import secrets
from delegate.models.call_error import ModelCallError, call_error, from_exception
from delegate.secrets import (
    ScrubFilter,
    basic_auth,
    register_secret,
    scrub,
    scrub_config,
    split_userinfo,
    strip_userinfo,
)
from delegate.tracking import flatten, redact


@pytest.mark.parametrize(
    ("text", "stripped"),
    [
        ("http://alice:pw@127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
        ("https://token@host/v1", "https://host/v1"),
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
        ("https://a:p@ss@host/v1", "https://host/v1"),  # an unencoded '@' in the password
        ("url=http://a:b@h/v1 mail a@b.org", "url=http://h/v1 mail a@b.org"),
        ("http://h/v1?user=a@b", "http://h/v1?user=a@b"),  # an '@' in the query is no userinfo
        ('{"u": "http://h", "e": "a@b"}', '{"u": "http://h", "e": "a@b"}'),
        (r"llm.base_url=http\://alice\:pw@h\:1/v1", r"llm.base_url=http\://h\:1/v1"),  # Hydra's
        ("sqlite:////tmp/x/mlflow.db", "sqlite:////tmp/x/mlflow.db"),
    ],
)
def test_userinfo_is_removed_from_every_url(text: str, stripped: str) -> None:
    assert strip_userinfo(text) == stripped
    assert scrub(text) == stripped


def test_split_userinfo_decodes_the_credentials() -> None:
    assert split_userinfo("https://bob:p%40ss%3Aw@host:1/v1") == (
        "https://host:1/v1",
        ("bob", "p@ss:w"),
    )
    assert split_userinfo("http://host/v1") == ("http://host/v1", None)


def test_registered_secrets_are_masked_wherever_they_appear() -> None:
    register_secret("sk-unit-secret-AAAA")
    register_secret("sk-unit-secret-AAAA-longer")  # contains the first: masked whole
    text = "Authorization: Bearer sk-unit-secret-AAAA-longer; again sk-unit-secret-AAAA."
    assert scrub(text) == "Authorization: Bearer ***; again ***."


def test_short_values_are_not_registered() -> None:
    register_secret("abc")
    assert scrub("abc abcd") == "abc abcd"


def test_basic_auth_registers_the_password_and_the_header_token() -> None:
    header = basic_auth("alice", "unit-pw-BBBB")
    token = base64.b64encode(b"alice:unit-pw-BBBB").decode()
    assert header == f"Basic {token}"
    assert scrub(f"{header} unit-pw-BBBB") == "Basic *** ***"


def test_config_trees_are_scrubbed_before_logging() -> None:
    register_secret("sk-unit-secret-CCCC")
    cfg = {
        "llm": {"base_url": "http://alice:pw@h/v1", "note": "sk-unit-secret-CCCC", "n": 3},
        "list": ["https://u:p@x/y", 1.5, None],
    }
    assert scrub_config(cfg) == {
        "llm": {"base_url": "http://h/v1", "note": "***", "n": 3},
        "list": ["https://x/y", 1.5, None],
    }
    assert flatten(cfg)["llm.base_url"] == "http://h/v1" and flatten(cfg)["llm.note"] == "***"
    assert redact(cfg)["list"][0] == "https://x/y"


def test_the_filter_scrubs_message_arguments_and_traceback() -> None:
    register_secret("sk-unit-secret-DDDD")
    try:
        raise ValueError("failed with sk-unit-secret-DDDD")
    except ValueError:
        import sys

        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "x",
        logging.ERROR,
        __file__,
        1,
        "key %s at %s",
        ("sk-unit-secret-DDDD", "http://a:b@h/"),
        exc_info,
    )
    assert ScrubFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert "sk-unit-secret-DDDD" not in formatted and "a:b@" not in formatted
    assert formatted.startswith("key *** at http://h/")
    assert "ValueError: failed with ***" in formatted


def test_the_installed_scrubber_covers_loggers_added_later(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(logging, "_logRecordFactory", logging.getLogRecordFactory())
    monkeypatch.setattr(secrets, "_installed", False)
    register_secret("sk-unit-secret-EEEE")
    secrets.install_log_scrubber()
    secrets.install_log_scrubber()  # twice: records are not wrapped twice
    late = logging.getLogger("unit.test.late")
    with caplog.at_level(logging.INFO, logger="unit.test.late"):
        late.info("using %s", "sk-unit-secret-EEEE")
    assert [r.getMessage() for r in caplog.records] == ["using ***"]


def test_call_errors_keep_the_name_and_mask_the_message() -> None:
    register_secret("sk-unit-secret-FFFF")

    class BadRequestError(Exception):
        pass

    try:
        try:
            raise OSError("reset by peer sk-unit-secret-FFFF")
        except OSError as cause:
            raise BadRequestError("Error code: 400 - Bearer sk-unit-secret-FFFF") from cause
    except BadRequestError as e:
        error = from_exception(e)
    assert isinstance(error, ModelCallError) and type(error).__name__ == "BadRequestError"
    assert str(error) == "Error code: 400 - Bearer *** (OSError: reset by peer ***)"
    assert type(call_error("BadRequestError", "x")) is type(error)  # one class per name
