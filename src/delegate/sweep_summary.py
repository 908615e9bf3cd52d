"""The sweep's answer on its parent run: the comparison as an MLflow table and each
configuration's headline numbers as metrics, so the parent run answers in the UI without opening
its files.

The table (``comparison_table.json``) is what "View as table" opens on the parent run's
Artifacts tab, its headline columns first. The metrics are named ``<headline>/<strategy>-<id>``
(``accuracy/router-3f2a1c``, the configuration's id cut to 6 characters): one metric per
configuration, so the parent run's chart view sets the configurations side by side.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

log = logging.getLogger(__name__)

TABLE_FILE = "comparison_table.json"
# What a reader looks at first: which configuration, how good, at what cost, how it mixed.
HEADLINE_COLUMNS = (
    "configuration",
    "strategy",
    "seeds",
    "problems",
    "accuracy",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "cost_per_problem_usd",
    "vs_llm_accuracy_change",
    "vs_llm_cost_ratio",
    "random_mix_accuracy",
    "delegation_rate",
    "escalation_rate",
    "errors",
)
# The headline numbers logged as the parent run's metrics, per configuration.
HEADLINE_METRICS = (
    "accuracy",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "cost_per_problem_usd",
    "delegation_rate",
    "escalation_rate",
)
# Cells the table leaves out: lists of curve summaries and the pictures' short label.
_LEFT_OUT = ("curves", "short_label")


def metric_key(row: Mapping[str, Any]) -> str:
    """The suffix naming a configuration in the parent run's metrics."""
    return f"{row['strategy']}-{str(row['config_id'])[:6]}"


def headline_metrics(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Each configuration's headline numbers, those it has (a number, not NaN)."""
    metrics = {}
    for row in rows:
        for name in HEADLINE_METRICS:
            value = row.get(name)
            if isinstance(value, int | float) and not math.isnan(value):
                metrics[f"{name}/{metric_key(row)}"] = float(value)
    return metrics


def table(rows: Sequence[Mapping[str, Any]]) -> Any:
    """The comparison as a DataFrame, headline columns first, then the rest in report order."""
    import pandas as pd

    frame = pd.DataFrame([{k: v for k, v in r.items() if k not in _LEFT_OUT} for r in rows])
    first = [c for c in HEADLINE_COLUMNS if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]


def log_comparison(run_id: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Log the comparison ``rows`` (``compare.report``'s cells) to the parent run ``run_id`` as
    a table and metrics, through the store facade (the store MLflow is pointed at)."""
    from delegate import tracking

    tracking.log_run_table(run_id, table(rows), TABLE_FILE, headline_metrics(rows))
