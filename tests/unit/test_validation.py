"""Settings checked before any work: unknown keys, ranges, and tracking URIs that cannot work."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from delegate.config import SECTION_KEYS, TOP_LEVEL_KEYS
from delegate.config import parse_config as check_settings
from delegate.errors import ConfigError
from delegate.validation import check_tracking_uri

from ..helpers import resolved


def test_the_known_keys_are_the_configs_keys() -> None:
    cfg = resolved()
    assert sorted(cfg) == sorted(TOP_LEVEL_KEYS)
    for section, keys in SECTION_KEYS.items():
        assert sorted(cfg[section]) == sorted(keys)


def test_the_default_config_passes() -> None:
    check_settings(resolved())
    check_settings(resolved("experiment=offline"))


def test_a_key_added_the_way_hydra_suggests_is_refused_with_the_valid_keys() -> None:
    with pytest.raises(ConfigError, match=r"unknown key\(s\) max_cost_usd .*valid keys: strategy"):
        check_settings(resolved("+max_cost_usd=1"))
    with pytest.raises(ConfigError, match=r"tracking\.colour"):
        check_settings(resolved("+tracking.colour=red"))


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("max_tokens=0", "max_tokens"),
        ("temperature=-1", "temperature"),
        ("temperature=2.5", "temperature"),
        ("llm.timeout_s=0", "llm.timeout_s"),
        ("llm.requests_per_minute=-5", "llm.requests_per_minute"),
        ("llm.tokens_per_minute=0", "llm.tokens_per_minute"),
        ("llm.max_retries=-1", "llm.max_retries"),
        ("slm.max_tokens=1.5", "slm.max_tokens"),
        ("slm.batch_size=0", "slm.batch_size"),
        ("llm.temperature=hot", "llm.temperature"),
    ],
)
def test_values_out_of_range_name_their_key(override: str, key: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"<{key}>")):
        check_settings(resolved(override))


def test_limits_may_be_off() -> None:
    check_settings(resolved("llm.requests_per_minute=null", "llm.tokens_per_minute=null"))


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("garbage://x", "unsupported scheme 'garbage'"),
        ("mlruns", "unsupported scheme '(none)'"),
        ("sqlite://relative.db", "expected sqlite:///<path>"),
    ],
)
def test_tracking_uris_that_cannot_work(uri: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_tracking_uri(uri)


def test_a_store_under_a_regular_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a directory"):
        check_tracking_uri(f"sqlite:///{blocker}/mlruns/mlflow.db")
    check_tracking_uri(f"sqlite:///{tmp_path}/new/dir/mlflow.db")  # to be created: fine


def test_a_tracking_server_that_does_not_answer_fails_in_seconds() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConfigError, match="cannot reach the tracking server"):
        check_tracking_uri(f"http://127.0.0.1:{port}")
