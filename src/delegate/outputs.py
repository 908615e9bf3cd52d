"""The run directory: every file name in it, and the writers of its files.

``samples.csv`` and ``results_<strategy>.json`` keep the reference study's file names, so its
analysis habits carry over; ``per_sample.jsonl`` grows one line per finished problem while the run
is going, so a crash loses nothing already measured; ``budget.json`` keeps what every session of
the run billed; ``config.yaml`` and ``identity.json`` say what ran.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the file names are read by the report, which imports no model code
    from delegate.data import Problem
    from delegate.records import ProblemRecord

SAMPLES_FILE = "samples.csv"
RECORDS_FILE = "per_sample.jsonl"
BUDGET_FILE = "budget.json"  # beside the records: what the run has billed so far
CONFIG_FILE = "config.yaml"
IDENTITY_FILE = "identity.json"
TABLE_ARTIFACT = "per_sample.json"  # the per-sample table in MLflow


def results_file(strategy: str) -> str:
    return f"results_{strategy}.json"


def write_samples(run_dir: Path, problems: Sequence[Problem]) -> None:
    with open(run_dir / SAMPLES_FILE, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["problem_id", "question", "gold"])
        for p in problems:
            writer.writerow([p.id, p.question, p.gold])


def write_config(run_dir: Path, redacted: Mapping[str, Any]) -> None:
    """The resolved config, already stripped of secrets (``params.redact``)."""
    import yaml

    text = yaml.safe_dump(dict(redacted), sort_keys=False, allow_unicode=True)
    (run_dir / CONFIG_FILE).write_text(text, encoding="utf-8")


def write_identity(run_dir: Path, document: Mapping[str, Any]) -> None:
    text = json.dumps(dict(document), indent=2, ensure_ascii=False) + "\n"
    (run_dir / IDENTITY_FILE).write_text(text, encoding="utf-8")


class RecordLog:
    """Writes each finished problem to ``per_sample.jsonl`` as soon as it is scored.

    The file starts empty: a resumed run writes the records it keeps first, so a run directory
    that is reused (a pinned ``hydra.run.dir``) never holds a problem twice.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / RECORDS_FILE
        self._file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def append(self, record: ProblemRecord, elapsed_s: float) -> None:
        """Write one record with the loop time so far; flushed, so a kill loses nothing done."""
        self._file.write(json.dumps(record.to_row() | {"elapsed_s": elapsed_s}) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def write_results(
    run_dir: Path,
    strategy: str,
    metrics: Mapping[str, float],
    records: Sequence[ProblemRecord],
    extra: Mapping[str, Any],
) -> Path:
    path = run_dir / results_file(strategy)
    payload = {
        "strategy": strategy,
        **extra,
        "metrics": dict(metrics),
        "records": [r.to_row() | {"tool_call_log": list(r.tool_call_log)} for r in records],
    }
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return path
