"""Whole runs on the code datasets against a real local OpenAI-compatible server that answers
every problem with its published reference solution (pass@1 must be 1.0), or with a wrong one
(0.0); each program runs in the real sandbox, and its outcome is in the per-sample table."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from delegate.runner import run

from ..helpers import finished_runs, per_sample_table, resolved

pytestmark = pytest.mark.integration


def reference_replies(source: str) -> dict[str, str]:
    """Each problem's question (as the code loaders state it) -> a model-like reply holding
    the reference solution in a fenced block."""
    from delegate.data import load_problems

    rows = [
        json.loads(line)
        for line in resources.files("delegate.data").joinpath(f"{source}/test.jsonl").open()
    ]
    code = [
        r["prompt"] + r["canonical_solution"] if source == "humaneval" else r["code"] for r in rows
    ]
    problems = load_problems({"name": source})
    return {
        p.question: f"Here is the function.\n```python\n{c}\n```\n"
        for p, c in zip(problems, code, strict=True)
    }


def code_run(url: str, store: str, run_dir: Path, source: str, experiment: str) -> dict:
    return run(
        resolved(
            "strategy=llm",
            "llm=gpt-4o",
            f"llm.base_url={url}",
            "llm.api_key_env=null",
            f"dataset={source}",
            "prompt=code",
            "samples=all",
            "concurrency=16",
            "progress=false",
            "cache.enabled=false",
            "tracking.traces=false",
            f"tracking.uri={store}",
            f"tracking.experiment={experiment}",
        ),
        run_dir,
    )


@pytest.mark.parametrize(("source", "size"), [("humaneval", 164), ("mbpp", 500)])
def test_reference_solutions_score_one_and_wrong_ones_zero(
    table_server: Any, store: str, tmp_path: Path, source: str, size: int
) -> None:
    replies = reference_replies(source)

    def answer(request: dict) -> tuple[str, int, int]:
        question = request["messages"][-1]["content"]
        found = [reply for q, reply in replies.items() if q.strip() in question]
        return (found[0] if len(found) == 1 else "no idea", 100, 50)

    server = table_server(answer)
    metrics = code_run(server.url, store, tmp_path / "right", source, f"code-{source}")
    assert metrics["n_problems"] == size and metrics["n_errors"] == 0
    assert metrics["accuracy"] == 1.0 and metrics["accuracy_strict"] == 1.0
    assert metrics["extracted_by/fence"] == 1.0
    [logged] = finished_runs(store, f"code-{source}")
    table = per_sample_table(store, logged)
    assert set(table["code_outcome"]) == {"passed"} and len(table) == size
    assert (table["code_duration_s"] > 0).all()

    wrong = table_server(lambda request: ("```python\ndef f():\n    return None\n```", 100, 50))
    metrics = code_run(wrong.url, store, tmp_path / "wrong", source, f"code-{source}-wrong")
    assert metrics["accuracy"] == 0.0 and metrics["n_problems"] == size
    [logged] = finished_runs(store, f"code-{source}-wrong")
    table = per_sample_table(store, logged)
    assert set(table["code_outcome"]) <= {"failed", "crashed"}
    assert table["code_message"].notna().all()  # the failing test's message, bounded


def test_a_test_verified_cascade_escalates_exactly_the_problems_whose_samples_fail(
    table_server: Any, store: str, tmp_path: Path
) -> None:
    """``cascade.confidence=tests``: the small model's samples run against the stated examples
    only; a problem escalates exactly when none passes, and the large model answers it."""
    from delegate.data import draw_sample, load_problems
    from delegate.scoring.code import stated_examples

    replies = reference_replies("humaneval")
    sample = draw_sample(load_problems({"name": "humaneval"}), 8, seed=5)
    with_examples = [p for p in sample if stated_examples(p.gold)]
    broken = {p.question.strip() for p in with_examples[::2]}  # the small model fails these
    assert broken and len(broken) < len(with_examples)

    def answer(request: dict) -> tuple[str, int, int]:
        question = request["messages"][-1]["content"]
        [reply] = [r for q, r in replies.items() if q.strip() in question]
        small = request["model"] != "gpt-4o"
        if small and any(q in question for q in broken):
            return ("```python\ndef nothing():\n    return None\n```", 100, 20)
        return (reply, 100, 50)

    server = table_server(answer)
    metrics = run(
        resolved(
            "strategy=cascade",
            "llm=gpt-4o",
            f"llm.base_url={server.url}",
            "llm.api_key_env=null",
            "slm=vllm",
            f"slm.base_url={server.url}",
            "dataset=humaneval",
            "prompt=code",
            "samples=8",
            "seed=5",
            "cascade.samples=2",
            "cascade.confidence=tests",
            "progress=false",
            "cache.enabled=false",
            "tracking.traces=false",
            f"tracking.uri={store}",
            "tracking.experiment=code-cascade",
        ),
        tmp_path / "run",
    )
    rows = [json.loads(line) for line in (tmp_path / "run" / "per_sample.jsonl").open()]
    escalated = {r["question"].strip() for r in rows if r["escalated"]}
    no_examples = {p.question.strip() for p in sample if not stated_examples(p.gold)}
    assert escalated == broken | no_examples  # nothing to verify: escalated too
    assert metrics["accuracy"] == 1.0  # the large model answered what the small one failed
    kept = [r for r in rows if not r["escalated"]]
    assert kept and all(r["confidence"] == 1.0 for r in kept)
    assert all(r["confidence"] == 0.0 for r in rows if r["question"].strip() in broken)


HOSTILE = [
    "import sys\nsys.exit(0)",  # ends before the tests with status 0
    "print('ALL TESTS PASSED')\nraise SystemExit(0)",
    "import time\ntime.sleep(3600)",
    "import os\nwhile True:\n    os.fork()",
    "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
    "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)",
    "import os\nos.abort()",
]


def test_hostile_programs_fail_and_the_run_accounts_for_every_problem(
    table_server: Any, store: str, tmp_path: Path
) -> None:
    import itertools
    import subprocess

    programs = itertools.cycle(HOSTILE)
    server = table_server(lambda request: (f"```python\n{next(programs)}\n```", 100, 50))
    metrics = run(
        resolved(
            "strategy=llm",
            "llm=gpt-4o",
            f"llm.base_url={server.url}",
            "llm.api_key_env=null",
            "dataset=humaneval",
            "prompt=code",
            f"samples={len(HOSTILE)}",
            "code.timeout_s=3",
            "concurrency=1",
            "progress=false",
            "cache.enabled=false",
            "tracking.traces=false",
            f"tracking.uri={store}",
            "tracking.experiment=code-hostile",
        ),
        tmp_path / "run",
    )
    assert metrics["n_problems"] == len(HOSTILE) and metrics["accuracy"] == 0.0
    rows = [json.loads(line) for line in (tmp_path / "run" / "per_sample.jsonl").open()]
    assert len(rows) == len(HOSTILE) and "passed" not in {r["code_outcome"] for r in rows}
    assert "timeout" in {r["code_outcome"] for r in rows}
    left = subprocess.run(["pgrep", "-u", "nobody"], capture_output=True, text=True).stdout
    assert left.strip() == ""  # nothing a program started outlived it
