"""A sweep's id is its directory: the same in every job, short when inside the project."""

from __future__ import annotations

from pathlib import Path

from delegate.paths import PROJECT_ROOT
from delegate.sweep import current_sweep, sweep_id


def test_a_sweep_inside_the_project_is_named_relative_to_it() -> None:
    assert (
        sweep_id(PROJECT_ROOT / "multirun" / "2026-11-28" / "10-00-00")
        == "multirun/2026-11-28/10-00-00"
    )


def test_a_sweep_elsewhere_keeps_its_absolute_path(tmp_path: Path) -> None:
    assert sweep_id(tmp_path / "s" / ".." / "sweep") == str(tmp_path / "sweep")


def test_outside_hydra_there_is_no_sweep() -> None:
    assert current_sweep() is None


def test_the_sweep_command_line_is_recorded_without_secrets() -> None:
    from delegate.sweep import _overrides

    argv = ["-m", "seed=1,2", "+llm.api_key=sk-canary", "llm.api_key_env=MY_KEY"]
    assert _overrides(argv) == "-m seed=1,2 +llm.api_key=*** llm.api_key_env=MY_KEY"
