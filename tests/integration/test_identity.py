"""One definition of "the same experiment", end to end against real local servers and stores: a
sweep over the router's own settings compares as one row per configuration, runtime settings do not
split a configuration, a truncated answer is visible, and the report reads back what was run."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from delegate.compare.report import write_report
from delegate.compare.runs import load_runs
from delegate.identity import CONFIG_ID_TAG
from delegate.runner import run

from ..helpers import endpoint_overrides, finished_runs, multirun, per_sample_table, resolved

pytestmark = pytest.mark.integration


def endpoints(url: str) -> list[str]:
    """Both models behind one local OpenAI-compatible server, no key, three problems."""
    return endpoint_overrides(url, samples=3)


def test_a_sweep_over_router_settings_compares_one_row_per_configuration(
    scripted_server: Any, tmp_path: Path
) -> None:
    server = scripted_server([])  # every request: a canned boxed answer with its usage
    done, store = multirun(
        tmp_path,
        "identity-sweep",
        "strategy=llm,router",
        "router.max_tool_calls=1,3",
        "seed=1,2",
        *endpoints(server.url),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| router (gpt-4o + Qwen/Qwen2.5-Math-1.5B-Instruct, cot; router.max_tool_calls=1)" in (
        done.stdout
    )  # the multirun prints its comparison when it ends

    with (tmp_path / "sweep" / "comparison.csv").open() as f:
        rows = list(csv.DictReader(f))
    by_label = {r["configuration"]: r for r in rows}
    assert sorted(by_label) == [
        "llm (gpt-4o, cot)",
        "router (gpt-4o + Qwen/Qwen2.5-Math-1.5B-Instruct, cot; router.max_tool_calls=1)",
        "router (gpt-4o + Qwen/Qwen2.5-Math-1.5B-Instruct, cot; router.max_tool_calls=3)",
    ]
    for row in rows:  # each pools its two seeds, three problems each
        assert (row["seeds"], row["runs"], row["problems"]) == ("1 2", "2", "6")
    routers = [r for r in rows if r["strategy"] == "router"]
    assert sorted(r["router.max_tool_calls"] for r in routers) == ["1", "3"]
    assert all(r["llm_reference"] == "llm (gpt-4o, cot)" for r in routers)
    assert all(r["vs_llm_shared_problems"] == "6" for r in routers)
    # Eight jobs ran; the two LLM-only jobs per seed are one configuration (router.* is not
    # part of an llm run's identity): the newest of each counts.
    runs = [r for r in finished_runs(store, "identity-sweep") if CONFIG_ID_TAG in r.data.tags]
    assert len(runs) == 8 and len({r.data.tags[CONFIG_ID_TAG] for r in runs}) == 3
    assert len({r.info.run_name for r in runs if r.data.tags["strategy"] == "router"}) == 4


def test_runs_differing_only_in_runtime_settings_pool(
    scripted_server: Any, store: str, tmp_path: Path
) -> None:
    server = scripted_server([])
    common = [*endpoints(server.url), "strategy=llm", f"tracking.uri={store}"]
    common.append("tracking.experiment=identity-runtime")
    run(resolved(*common, "seed=1", "concurrency=1"), tmp_path / "a")
    run(
        resolved(
            *common,
            "seed=2",
            "concurrency=4",
            "progress=true",
            "cache.enabled=true",
            f"cache.dir={tmp_path / 'cache'}",
        ),
        tmp_path / "b",
    )
    first, second = finished_runs(store, "identity-runtime")
    assert first.data.tags[CONFIG_ID_TAG] == second.data.tags[CONFIG_ID_TAG]
    import mlflow

    mlflow.set_tracking_uri(store)
    _, rows = write_report(
        "identity-runtime", None, tmp_path / "report", load_runs("identity-runtime")
    )
    assert [(r["seeds"], r["runs"]) for r in rows] == [("1 2", 2)]
    # The identity a run records is what it ran: the resolved model settings and prompt texts.
    document = json.loads((tmp_path / "a" / "identity.json").read_text())
    assert document["config_id"] == first.data.tags[CONFIG_ID_TAG]
    assert document["identity"]["llm"]["base_url"] == server.url
    assert "router" not in document["identity"] and "concurrency" not in document["identity"]


def test_an_answer_cut_off_by_max_tokens_is_visible(
    store: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("llama_cpp", reason="install with 'make setup-server'")
    cfg = resolved(
        "experiment=offline",
        "strategy=slm",
        "slm=smollm2-135m-llamacpp",
        "samples=3",
        "max_tokens=8",
        "progress=false",
        "cache.enabled=false",
        f"tracking.uri={store}",
        "tracking.experiment=identity-truncated",
    )
    with caplog.at_level("WARNING", logger="delegate.runner"):
        metrics = run(cfg, tmp_path / "run")
    assert metrics["n_truncated"] == 3
    assert any("max_tokens" in m and "3 of 3" in m for m in caplog.messages)
    [logged] = finished_runs(store, "identity-truncated")
    table = per_sample_table(store, logged)
    assert table["truncated"].tolist() == [True, True, True]
    assert table["finish_reasons"].tolist() == ["slm:length"] * 3
