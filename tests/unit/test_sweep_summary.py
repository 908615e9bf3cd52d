"""The sweep's parent run answers in the UI: the comparison as an MLflow table (headline columns
first) and each configuration's headline numbers as metrics, in a real SQLite store."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from delegate import tracking
from delegate.compare.report import write_report
from delegate.sweep_summary import HEADLINE_COLUMNS, TABLE_FILE, log_comparison, metric_key

from .test_compare_by_level import LOADED


def test_the_parent_run_holds_the_comparison_table_and_metrics(tmp_path: Path) -> None:
    _, rows = write_report("exp", "s1", tmp_path / "report", LOADED)
    store = tracking.open_store(f"sqlite:///{tmp_path}/mlflow.db", "sweeps")
    parent = store.start_sweep_run("s1", "strategy=llm,router,cascade")
    log_comparison(parent, rows)

    # The file "View as table" opens: MLflow's table form, columns and rows.
    uri = mlflow.get_run(parent).info.artifact_uri
    table = mlflow.artifacts.load_dict(f"{uri}/{TABLE_FILE}")
    columns = table["columns"]
    assert columns[: len(HEADLINE_COLUMNS)] == list(HEADLINE_COLUMNS)
    assert [row[0] for row in table["data"]] == [r["configuration"] for r in rows]
    assert "curves" not in columns and "config_id" in columns

    metrics = mlflow.get_run(parent).data.metrics
    for row in rows:
        key = metric_key(row)
        assert metrics[f"accuracy/{key}"] == pytest.approx(row["accuracy"])
        assert metrics[f"cost_per_problem_usd/{key}"] == pytest.approx(row["cost_per_problem_usd"])
        assert metrics[f"escalation_rate/{key}"] == pytest.approx(row["escalation_rate"])
    cascade = next(r for r in rows if r["strategy"] == "cascade")
    assert metrics[f"escalation_rate/{metric_key(cascade)}"] == pytest.approx(2 / 6)
