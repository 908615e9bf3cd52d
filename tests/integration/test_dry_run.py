"""``dry_run=true``: the problems, first-request tokens and a dollar range, with no request sent
and nothing written to the store; tokens counted by the model's own tokenizer when it is local."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from delegate.runner import run

from ..helpers import finished_runs, resolved

pytestmark = pytest.mark.integration

SRC = str(Path(__file__).resolve().parents[2] / "src")
INPUT, OUTPUT = 2.50, 10.00  # conf/llm/gpt-4o.yaml


def api(url: str, store: str, *extra: str) -> list[str]:
    return [
        "strategy=llm",
        "llm=gpt-4o",
        f"llm.base_url={url}",
        "llm.api_key_env=null",
        "dataset=mini",
        "max_tokens=50",
        "progress=false",
        "cache.enabled=false",
        "tracking.traces=false",
        f"tracking.uri={store}",
        "tracking.experiment=dry",
        *extra,
    ]


def test_a_dry_run_sends_nothing_and_writes_nothing(metered_server, tmp_path: Path) -> None:
    server = metered_server()
    db = tmp_path / "mlruns" / "mlflow.db"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "delegate",
            *api(server.url, f"sqlite:///{db}", "samples=all", "dry_run=true"),
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": SRC, "OPENAI_API_KEY": ""},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert server.arrivals == 0
    assert not db.exists() and not db.parent.exists()
    assert "strategy=llm, 40 problems (mini:test" in done.stdout
    assert "llm gpt-4o: 40 first requests" in done.stdout
    assert "estimated at ~4 characters a token" in done.stdout
    assert "up to llm.max_tokens=50 per call" in done.stdout


def dollars(text: str) -> tuple[int, float, float]:
    tokens = int(re.search(r"([\d,]+) input tokens", text).group(1).replace(",", ""))
    low, high = re.search(r"cost: \$([\d.]+) to \$([\d.]+)", text).groups()
    return tokens, float(low), float(high)


def test_earlier_finished_runs_price_the_output(
    metered_server, store: str, tmp_path: Path, capsys
) -> None:
    server = metered_server()
    metrics = run(resolved(*api(server.url, store, "samples=4")), tmp_path / "real")
    assert metrics["llm_output_tokens"] == 4 * 50  # the server bills every allowed token
    arrivals = server.arrivals
    capsys.readouterr()

    assert run(resolved(*api(server.url, store, "samples=4", "dry_run=true")), tmp_path / "d") == {}
    out = capsys.readouterr().out
    assert server.arrivals == arrivals
    assert "1 earlier finished run(s) of this configuration" in out
    tokens, low, high = dollars(out)
    # Hand-worked: the same 4 problems (the sample size is part of the configuration), 50
    # output tokens per problem then; the high end is what the earlier run cost in all (its
    # prompts were billed a token per byte, more than the estimate).
    expected_low = tokens * INPUT / 1e6 + 4 * 50 * OUTPUT / 1e6
    expected_high = max(expected_low, metrics["cost_usd"])
    assert low == pytest.approx(expected_low, abs=5e-5)
    assert high == pytest.approx(expected_high, abs=5e-5)
    assert len(finished_runs(store, "dry")) == 1  # the dry run logged nothing


@pytest.mark.parametrize("llm", ["local-llamacpp", "local"])
def test_a_local_model_is_counted_with_its_own_tokenizer(
    store: str, tmp_path: Path, capsys, llm: str
):
    pytest.importorskip("llama_cpp" if llm == "local-llamacpp" else "transformers")
    local = (
        "strategy=llm",
        f"llm={llm}",
        "dataset=mini",
        "samples=3",
        "max_tokens=4",
        "progress=false",
        "cache.enabled=false",
        "tracking.traces=false",
        f"tracking.uri={store}",
        "tracking.experiment=dry-local",
    )
    assert run(resolved(*local, "dry_run=true"), tmp_path / "dry") == {}
    out = capsys.readouterr().out
    assert "counted with the model's own tokenizer" in out
    tokens, _, _ = dollars(out)
    real = run(resolved(*local), tmp_path / "real")
    assert tokens == real["llm_input_tokens"]  # what the engine itself reported


def test_a_batched_run_is_priced_at_the_batch_price(tmp_path: Path, capsys) -> None:
    url, store = "http://127.0.0.1:9/v1", f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    ranges = {}
    for batch in ("false", "true"):
        assert (
            run(
                resolved(*api(url, store, "samples=all", "dry_run=true", f"llm.batch={batch}")),
                tmp_path,
            )
            == {}
        )
        out = capsys.readouterr().out
        ranges[batch] = dollars(out)
    assert "at the batch price <llm.batch=true>" in out
    live, batched = ranges["false"], ranges["true"]
    assert batched[0] == live[0]  # the same requests
    # Printed to four decimals: each figure is within 5e-5 of the exact one.
    assert batched[1] == pytest.approx(live[1] / 2, abs=1e-4)
    assert batched[2] == pytest.approx(live[2] / 2, abs=1e-4)
