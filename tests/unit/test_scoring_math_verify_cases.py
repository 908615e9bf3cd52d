"""The ``latex`` grader against a published labelled set: math-verify's own test cases (gold,
a model's whole text, equivalent or not; ``tests/data/grading/`` holds them with their
provenance and licence). Every case is graded end to end (our extraction, then equivalence)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from delegate.scoring import grade

CASES_FILE = Path(__file__).parents[1] / "data" / "grading" / "math_verify_cases.jsonl"
CASES: list[dict[str, Any]] = [json.loads(line) for line in CASES_FILE.read_text().splitlines()]

# Where this grader knowingly reads a text otherwise than upstream's labels, and why. The test
# below also checks that each still differs, so the list cannot go stale.
KNOWN_DIFFERENCES = {
    # math-verify reads no inline math that spans lines; the last inline math here is "9".
    ("$9$", "Answer $ \n 9 \n $"): "inline math across lines is read",
    ("$9$", "Answer \\( \n 9 \n \\)"): "inline math across lines is read",
}


def _id(case: dict[str, Any]) -> str:
    return f"{case['source'].split('::')[1]}:{case['gold']}"


def test_the_set_is_the_published_one() -> None:
    assert len(CASES) == 102
    assert {c["source"].split("::")[0] for c in CASES} == {
        "tests/test_all.py",
        "tests/test_yujianll.py",
    }
    assert sum(c["expected"] for c in CASES) == 78  # equivalent pairs; the rest are not


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_the_grader_agrees_with_the_label(case: dict[str, Any]) -> None:
    got = grade(case["prediction"], case["gold"], "latex")
    assert got.error is None
    if (case["gold"], case["prediction"]) in KNOWN_DIFFERENCES:
        assert got.correct is not case["expected"]
    else:
        assert got.correct is case["expected"], (got.extracted, got.extracted_by)
