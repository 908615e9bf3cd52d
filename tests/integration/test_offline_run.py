"""Each strategy end to end on the real offline model (SmolLM2-135M through transformers) into a
real temporary MLflow store: metrics, the per-sample table, tags, params and run files."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest

from delegate.runner import run

from ..helpers import finished_runs, mini_run_metrics, per_sample_table, resolved, run_traces

pytestmark = pytest.mark.integration

SAMPLES = 3


@pytest.fixture(scope="module")
def offline_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Path]]:
    """One run per strategy, same seed, into one store; the model is loaded once and shared."""
    root = tmp_path_factory.mktemp("offline")
    store = f"sqlite:///{root}/mlruns/mlflow.db"
    dirs = {}
    for strategy in ("llm", "slm", "router"):
        cfg = resolved(
            "experiment=offline",
            f"strategy={strategy}",
            f"samples={SAMPLES}",
            "seed=7",
            "max_tokens=64",
            "progress=false",
            f"tracking.uri={store}",
            "tracking.experiment=offline-test",
        )
        dirs[strategy] = root / strategy
        run(cfg, dirs[strategy])
    return store, dirs


def test_one_finished_run_per_strategy_with_every_metric(offline_runs) -> None:
    store, _ = offline_runs
    runs = finished_runs(store, "offline-test")
    assert [r.data.tags["strategy"] for r in runs] == ["llm", "slm", "router"]
    for r in runs:
        assert r.info.status == "FINISHED"
        assert set(r.data.metrics) == mini_run_metrics()
        assert r.data.metrics["n_problems"] == SAMPLES
        assert 0 <= r.data.metrics["accuracy_strict"] <= r.data.metrics["accuracy"] <= 1
        assert r.data.metrics["wall_time_s"] > 0
        n, cost = r.data.metrics["n_problems"], r.data.metrics["cost_usd"]
        assert r.data.metrics["cost_per_problem_usd"] == pytest.approx(cost / n)
        m = r.data.metrics
        assert m["accuracy_ci_low"] <= m["accuracy"] <= m["accuracy_ci_high"]
        assert r.data.tags["prompt"] == "cot" and r.data.tags["dataset"] == "mini:test"
        assert len(r.data.tags["git_commit"]) in (40, len("unknown"))
        assert (
            r.data.params["seed"] == "7"
            and r.data.params["strategy.name"] == r.data.tags["strategy"]
        )
        # Params are what the strategy reads: no other strategy's section, no unused model.
        strategy = r.data.tags["strategy"]
        assert ("router.max_tool_calls" in r.data.params) == (strategy == "router")
        assert ("llm.model" in r.data.params) == (strategy != "slm")
        assert not any(k.startswith("cascade.") for k in r.data.params)
        assert "prompt.name" in r.data.params and "prompt.system" not in r.data.params
        assert r.info.run_name.startswith(f"{strategy}-cot-seed7-")


def test_roles_are_accounted_separately(offline_runs) -> None:
    store, _ = offline_runs
    m = {r.data.tags["strategy"]: r.data.metrics for r in finished_runs(store, "offline-test")}
    assert m["llm"]["llm_input_tokens"] > 0 and m["llm"]["slm_input_tokens"] == 0
    assert m["slm"]["slm_input_tokens"] > 0 and m["slm"]["llm_input_tokens"] == 0
    assert m["router"]["llm_input_tokens"] > 0
    # The offline preset forces one delegation per problem; the small model answers each one.
    assert m["router"]["delegation_rate"] == 1.0
    assert m["router"]["tool_calls_per_problem"] == 1.0
    assert m["router"]["slm_input_tokens"] > 0
    for metrics in m.values():
        assert metrics["cost_usd"] == metrics["llm_cost_usd"] + metrics["slm_cost_usd"]


def test_per_sample_tables_share_problem_ids_and_sum_to_the_metrics(offline_runs) -> None:
    store, _ = offline_runs
    ids = {}
    for r in finished_runs(store, "offline-test"):
        table = per_sample_table(store, r)
        assert len(table) == SAMPLES
        for column in (
            "problem_id",
            "question",
            "gold",
            "final_text",
            "extracted",
            "correct",
            "latency_s",
            "llm_input_tokens",
            "slm_output_tokens",
            "cost_usd",
            "tool_calls",
            "error",
            "source",
            "level",
            "subject",
        ):
            assert column in table.columns
        assert set(table["source"]) == {"mini"} and set(table["level"]) == {1}
        assert table["llm_output_tokens"].sum() == r.data.metrics["llm_output_tokens"]
        assert table["slm_output_tokens"].sum() == r.data.metrics["slm_output_tokens"]
        assert table["correct"].mean() == pytest.approx(r.data.metrics["accuracy"])
        ids[r.data.tags["strategy"]] = sorted(table["problem_id"])
    assert ids["llm"] == ids["slm"] == ids["router"]


def test_run_files_and_artifacts(offline_runs) -> None:
    store, dirs = offline_runs
    for strategy, run_dir in dirs.items():
        names = {p.name for p in run_dir.iterdir()}
        assert {
            "config.yaml",
            "samples.csv",
            "per_sample.jsonl",
            f"results_{strategy}.json",
        } <= names
        results = json.loads((run_dir / f"results_{strategy}.json").read_text())
        assert len(results["records"]) == SAMPLES
        assert len((run_dir / "per_sample.jsonl").read_text().splitlines()) == SAMPLES
    client = mlflow.tracking.MlflowClient(store)
    for r in finished_runs(store, "offline-test"):
        artifacts = {a.path for a in client.list_artifacts(r.info.run_id)}
        assert {"config.yaml", "per_sample.json", "samples.csv"} <= artifacts
        assert f"results_{r.data.tags['strategy']}.json" in artifacts


def test_router_records_each_tool_call(offline_runs) -> None:
    _, dirs = offline_runs
    results = json.loads((dirs["router"] / "results_router.json").read_text())
    for record in results["records"]:
        [call] = record["tool_call_log"]
        assert call["name"] == "ask_small_model"
        assert call["question"]  # the large model wrote a question for the small one
        assert call["slm_output_tokens"] > 0


def test_every_problem_is_a_trace_of_its_model_and_tool_calls(offline_runs) -> None:
    store, _ = offline_runs
    for r in finished_runs(store, "offline-test"):
        traces = run_traces(store, r)
        assert len(traces) == SAMPLES
        llm_in = slm_out = 0
        for t in traces:
            spans = t.data.spans
            root = next(s for s in spans if s.parent_id is None)
            assert root.span_type == "CHAIN" and "question" in root.inputs
            assert "correct" in root.outputs
            outcome = "correct" if root.outputs["correct"] else "wrong"
            assert t.info.tags["outcome"] == ("error" if root.outputs["error"] else outcome)
            assert t.info.tags["gold"] == root.inputs["gold"]
            tags = t.info.tags
            assert (tags["strategy"], tags["seed"]) == (r.data.tags["strategy"], "7")
            assert tags["config_id"] == r.data.tags["config_id"]
            assert tags["label"].startswith(f"{r.data.tags['strategy']} (")
            assert (tags["source"], tags["level"]) == ("mini", "1")
            grades = {a.name: a for a in t.info.assessments}
            assert grades["correctness"].feedback.value == root.outputs["correct"]
            assert grades["expected_answer"].expectation.value == root.inputs["gold"]
            for s in spans:
                if s.span_type == "CHAT_MODEL" and s.name.startswith("llm:"):
                    llm_in += s.attributes["input_tokens"]
                if s.span_type == "CHAT_MODEL" and s.name.startswith("slm:"):
                    slm_out += s.attributes["output_tokens"]
            if r.data.tags["strategy"] == "router":
                tool = next(s for s in spans if s.span_type == "TOOL")
                slm_span = next(s for s in spans if s.name.startswith("slm:"))
                assert slm_span.parent_id == tool.span_id  # the small model answers the tool
                assert tool.attributes["question"]
        # The Traces list filters on the outcome ("open a wrong one").
        import mlflow

        wrong = mlflow.search_traces(
            locations=[r.info.experiment_id],
            run_id=r.info.run_id,
            filter_string="tags.outcome = 'wrong'",
            return_type="list",
        )
        assert {t.info.trace_id for t in wrong} == {
            t.info.trace_id for t in traces if t.info.tags["outcome"] == "wrong"
        }
        # The spans account for exactly the tokens the run reports.
        assert llm_in == r.data.metrics["llm_input_tokens"]
        assert slm_out == r.data.metrics["slm_output_tokens"]
