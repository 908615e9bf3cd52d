"""``python -m delegate`` as a user runs it, in a subprocess: one real run, and bad input that must
fail with one clear line, a non-zero exit, and no MLflow run left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..helpers import finished_runs

pytestmark = pytest.mark.integration


def delegate(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY",)}
    return subprocess.run(
        [sys.executable, "-m", "delegate", *args, "progress=false", f"hydra.run.dir={cwd}/run"],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_offline_run_from_another_directory(tmp_path: Path, store: str) -> None:
    done = delegate(
        "experiment=offline",
        "strategy=slm",
        "samples=2",
        "max_tokens=32",
        f"tracking.uri={store}",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [run] = finished_runs(store, "delegate-offline")
    assert run.info.status == "FINISHED" and run.data.metrics["n_problems"] == 2
    assert (tmp_path / "run" / "results_slm.json").is_file()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["strategy=ruoter"], {}, "Could not find 'strategy/ruoter'"),
        (["llm=gpt-5"], {}, "Could not find 'llm/gpt-5'"),
        (["experiment=offline", "samples=abc"], {}, "samples must be a positive integer or 'all'"),
        (["experiment=offline", "concurrency=0"], {}, "concurrency must be an integer >= 1"),
        (["experiment=offline", "samples=41"], {}, "samples=41 but the split has only 40"),
        (
            ["experiment=offline", "dataset.path=/nonexistent.jsonl"],
            {},
            "dataset file not found: /nonexistent.jsonl",
        ),
        (["experiment=offline", "+router.max_calls=2"], {}, "unknown key(s) router.max_calls"),
        (["strategy=llm", "dataset=mini"], {}, "OPENAI_API_KEY is not set"),
        (["strategy=llm", "dataset=mini", "llm.api_key_env=MY_KEY"], {}, "MY_KEY is not set"),
        (
            [
                "strategy=llm",
                "dataset=mini",
                "llm.base_url=http://127.0.0.1:9/v1",
                "llm.api_key_env=null",
            ],
            {},
            "cannot reach http://127.0.0.1:9/v1",
        ),
        (
            [
                "strategy=router",
                "dataset=mini",
                "llm.base_url=http://127.0.0.1:9/v1",
                "llm.api_key_env=null",
                "slm=vllm",
                "slm.base_url=http://127.0.0.1:9/v1",
            ],
            {},
            "<llm.base_url>",
        ),
    ],
)
def test_bad_input_fails_with_one_line_and_no_run(
    tmp_path: Path, store: str, args: list[str], env: dict[str, str], message: str
) -> None:
    done = delegate(*args, f"tracking.uri={store}", cwd=tmp_path, env=env)
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not Path(store.removeprefix("sqlite:///")).exists()  # no run, not even a store


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "holds no problems"),
        ('{"question": "q", "answer": "#### 1"}\n{oops\n', "bad.jsonl:2: not valid JSON"),
        ('{"question": "q", "answer": "1"}\n', "bad.jsonl:1: the 'answer' field has no '####"),
    ],
)
def test_bad_dataset_files_fail_with_file_and_line(
    tmp_path: Path, store: str, content: str, message: str
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    done = delegate(
        "experiment=offline", f"dataset.path={bad}", f"tracking.uri={store}", cwd=tmp_path
    )
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not Path(store.removeprefix("sqlite:///")).exists()


def test_a_store_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    """A read-only store (here made immutable, which binds root too): one line naming the store
    and the reason, exit status 2, no traceback."""
    import shutil

    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    store_dir = tmp_path / "store"
    store = f"sqlite:///{store_dir}/mlflow.db"
    args = ["experiment=offline", "strategy=slm", "samples=1", "max_tokens=8"]
    assert delegate(*args, f"tracking.uri={store}", cwd=tmp_path, env={}).returncode == 0
    frozen = [store_dir / "mlflow.db", store_dir]
    if subprocess.run(["chattr", "+i", *map(str, frozen)], capture_output=True).returncode:
        pytest.skip("this file system has no immutable attribute")
    try:
        (tmp_path / "again").mkdir()
        done = delegate(*args, f"tracking.uri={store}", cwd=tmp_path / "again", env={})
    finally:
        subprocess.run(["chattr", "-i", *map(str, frozen)], check=True)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "[delegate][ERROR]" in line]
    assert len(errors) == 1 and "readonly database <tracking.uri>" in errors[0]
    assert f"in the MLflow store at {store}" in errors[0]
    assert "Traceback" not in done.stderr
