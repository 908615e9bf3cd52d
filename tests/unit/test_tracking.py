"""What reaches MLflow params: the flattened config, without secret-looking keys."""

from pathlib import Path

from delegate.tracking import artifact_root_for, flatten, is_secret_key, redact


def test_flatten_and_drop_secrets() -> None:
    cfg = {
        "llm": {
            "model": "gpt-4o",
            "api_key_env": "OPENAI_API_KEY",
            "api_key": "sk-x",
            "price": {"input": 2.5},
        },
        "token": "t",
        "max_tokens": 10,
    }
    assert flatten(cfg) == {
        "llm.model": "gpt-4o",
        "llm.api_key_env": "OPENAI_API_KEY",
        "llm.price.input": "2.5",
        "max_tokens": "10",
    }
    assert redact(cfg) == {
        "llm": {"model": "gpt-4o", "api_key_env": "OPENAI_API_KEY", "price": {"input": 2.5}},
        "max_tokens": 10,
    }


def test_secret_key_names() -> None:
    assert is_secret_key("llm.api_key") and is_secret_key("password") and is_secret_key("apikey")
    assert not is_secret_key("llm.api_key_env") and not is_secret_key("llm.max_tokens")


def test_long_values_fit_mlflow_param_limit() -> None:
    assert len(flatten({"p": "x" * 10_000})["p"]) == 6000


def test_sqlite_store_keeps_artifacts_beside_the_database() -> None:
    assert artifact_root_for("sqlite:////tmp/store/mlflow.db") == "file:///tmp/store/artifacts"
    assert artifact_root_for("http://127.0.0.1:5000") is None


def test_a_run_owner_blocks_only_while_it_is_a_live_delegate_process() -> None:
    import socket
    import subprocess
    import sys
    import time

    from delegate.resume import _still_running

    host = socket.gethostname()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    ours = subprocess.Popen(
        [sys.executable, "-c", "import time, sys; time.sleep(30)", "-m", "delegate"]
    )
    try:
        assert not _still_running(f"{host}:{other.pid}")  # a reused PID: another program
        # The kernel shows the new command line once the child has executed it: wait for that.
        cmdline = Path(f"/proc/{ours.pid}/cmdline")
        deadline = time.monotonic() + 10
        while b"delegate" not in cmdline.read_bytes():
            assert ours.poll() is None, f"the child exited ({ours.returncode})"
            assert time.monotonic() < deadline, f"child command line: {cmdline.read_bytes()!r}"
            time.sleep(0.01)
        assert _still_running(f"{host}:{ours.pid}")
        assert not _still_running(f"another-host:{ours.pid}")
    finally:
        other.kill()
        ours.kill()
        other.wait()
        ours.wait()
    assert not _still_running(f"{host}:{ours.pid}")  # gone
