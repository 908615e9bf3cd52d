"""Every name that tests, benchmarks, experiments or the README imported from ``delegate.compare``
before the package was reshaped still imports from its old path, as the object that now lives
elsewhere; and a run still loads none of the report package."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

# (old module, name, new module): the name imported from the old module is the new one's object.
OLD_NAMES = [
    ("delegate.compare.by_level", "LEVEL_COLUMNS", "delegate.compare.levels"),
    ("delegate.compare.by_level", "SOURCE_COLUMNS", "delegate.compare.levels"),
    ("delegate.compare.by_level", "by_group", "delegate.compare.levels"),
    ("delegate.compare.curve_families", "answer_text", "delegate.record_cells:as_text"),
    ("delegate.compare.curve_report", "CURVE_CSV_COLUMNS", "delegate.compare.render"),
    ("delegate.compare.curve_report", "ROW_COLUMNS", "delegate.compare.rows"),
    ("delegate.compare.curve_report", "annotate", "delegate.compare.report"),
    ("delegate.compare.plot", "frontier", "delegate.compare.analysis.summaries"),
    ("delegate.compare.curves", "BeatsRandom", "delegate.compare.analysis.baselines"),
    ("delegate.compare.curves", "CURVE_COLUMNS", "delegate.compare.analysis.curves"),
    ("delegate.compare.curves", "aiq", "delegate.compare.analysis.summaries"),
    ("delegate.compare.curves", "apgr", "delegate.compare.analysis.summaries"),
    ("delegate.compare.curves", "cascade_curve", "delegate.compare.analysis.curves"),
    ("delegate.compare.curves", "cpt", "delegate.compare.analysis.summaries"),
    ("delegate.compare.curves", "cpt_cost", "delegate.compare.analysis.summaries"),
    (
        "delegate.compare.curves",
        "paired_bootstrap_beats_random",
        "delegate.compare.analysis.baselines",
    ),
    ("delegate.compare.curves", "random_mix", "delegate.compare.analysis.baselines"),
    ("delegate.compare.curves", "routing_curve", "delegate.compare.analysis.curves"),
    ("delegate.compare.report", "COLUMNS", "delegate.compare.rows"),
    ("delegate.compare.report", "compare", "delegate.compare.report"),
    ("delegate.compare.report", "markdown", "delegate.compare.render"),
    ("delegate.compare.report", "write_report", "delegate.compare.report"),
    ("delegate.compare.runs", "Loaded", "delegate.compare.runs"),
    ("delegate.compare.runs", "RunResult", "delegate.compare.runs"),
    ("delegate.compare.runs", "load_runs", "delegate.compare.runs"),
    ("delegate.compare.stats", "Mix", "delegate.compare.analysis.baselines"),
    ("delegate.compare.stats", "PairedCounts", "delegate.compare.analysis.intervals"),
    (
        "delegate.compare.stats",
        "accuracy_change_interval",
        "delegate.compare.analysis.intervals",
    ),
    ("delegate.compare.stats", "mcnemar_p", "delegate.compare.analysis.intervals"),
    ("delegate.compare.stats", "oracle", "delegate.compare.analysis.baselines"),
    ("delegate.compare.stats", "paired_counts", "delegate.compare.analysis.intervals"),
    ("delegate.compare.stats", "proportion_interval", "delegate.intervals"),
    (
        "delegate.compare.stats",
        "random_mix",
        "delegate.compare.analysis.baselines:cost_matched_mix",
    ),
    # Moved out of the report package so that a run does not load it.
    ("delegate.compare.attribution", "attribute", "delegate.attribution"),
    ("delegate.compare.attribution", "CATEGORIES", "delegate.attribution"),
    ("delegate.compare.attribution", "ROUTER_CATEGORIES", "delegate.attribution"),
    ("delegate.compare.attribution", "CASCADE_CATEGORIES", "delegate.attribution"),
    ("delegate.compare.analysis.intervals", "proportion_interval", "delegate.intervals"),
]


@pytest.mark.parametrize(("old", "name", "new"), OLD_NAMES)
def test_an_old_import_path_gives_the_object_that_moved(old: str, name: str, new: str) -> None:
    module, _, new_name = new.partition(":")
    expected = getattr(importlib.import_module(module), new_name or name)
    assert getattr(importlib.import_module(old), name) is expected


def _loaded_after(statement: str) -> set[str]:
    """The modules a fresh interpreter has loaded after ``statement``."""
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def test_a_run_loads_none_of_the_report_package() -> None:
    loaded = _loaded_after("import delegate.runner")
    assert not {m for m in loaded if m.startswith(("delegate.compare", "sklearn", "matplotlib"))}


def test_the_report_package_itself_imports_lightly() -> None:
    loaded = _loaded_after("import delegate.compare")
    assert not {m for m in loaded if m.startswith(("sklearn", "matplotlib", "mlflow"))}
