"""The ``code`` grader: the reply's program, run against the problem's tests in the sandbox.

The answer is the last fenced ```` ```python ```` (or bare ```` ``` ````) block of the reply,
else the whole reply when it parses as a Python module that defines or imports something, else
nothing (``no_code``). A problem's gold (``CodeGold``, stored as JSON text in ``Problem.gold``)
holds the hidden tests, the entry point that HumanEval's ``check(candidate)`` is called with, a
prelude run before the program (HumanEval's prompt: its imports and helpers) and the examples the
question states. ``grade_gold`` runs the hidden tests; ``check_examples`` runs only the stated
examples, never the hidden tests, for a cascade that verifies the small model's programs. Every
run goes through ``delegate.execution``; nothing here executes model code itself.
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from delegate.execution import ExecutionResult, Sandbox, run_tests, run_tests_async
from delegate.scoring.grade import GRADERS, Extraction, Grade, NotChecked

_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+-]*)[^\n]*\n(.*?)^[ \t]*```", re.M | re.S)
_OPEN = re.compile(r"^[ \t]*```[ \t]*(python3?|py)?[ \t]*\n", re.M | re.I)
_PYTHON = {"", "python", "python3", "py"}


def extract_code(text: str) -> str | None:
    """The program in a reply: the last python (or unlabelled) fenced block, an unclosed last
    fence's remainder (a reply cut off by ``max_tokens``), else the whole reply if it is code."""
    text = text.replace("\r\n", "\n")
    fences = list(_FENCE.finditer(text))
    blocks = [m.group(2) for m in fences if m.group(1).lower() in _PYTHON]
    closed_end = fences[-1].end() if fences else 0
    openers = [m for m in _OPEN.finditer(text) if m.start() >= closed_end]
    if openers:
        return text[openers[-1].end() :].strip("\n") or None
    if blocks:
        return blocks[-1].strip("\n") or None
    return text.strip("\n") if _looks_like_code(text) else None


def _looks_like_code(text: str) -> bool:
    if "```" in text:
        return False  # fenced, but in another language only
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
    return any(isinstance(node, (*kinds, ast.Assign)) for node in tree.body)


@dataclass(frozen=True)
class CodeGold:
    """A code problem's gold: hidden ``tests``, HumanEval's ``entry_point`` (``None``: the tests
    call the function themselves), the ``prelude`` run before the program and the stated
    ``examples`` (``""``: the question states none that can be run)."""

    tests: str
    entry_point: str | None = None
    prelude: str = ""
    examples: str = ""


def make_gold(tests: str, entry_point: str | None, prelude: str, examples: str) -> str:
    """``CodeGold`` as the JSON text a ``Problem.gold`` holds."""
    fields = {"entry_point": entry_point, "prelude": prelude, "tests": tests, "examples": examples}
    return json.dumps(fields, ensure_ascii=False)


def parse_gold(gold: str) -> CodeGold:
    """The ``CodeGold`` in a code problem's gold text."""
    try:
        fields = json.loads(gold)
        return CodeGold(
            tests=str(fields["tests"]),
            entry_point=fields.get("entry_point"),
            prelude=str(fields.get("prelude", "")),
            examples=str(fields.get("examples", "")),
        )
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"not a code problem's gold (JSON with 'tests'): {e}") from None


def _program(code: str, tests: str, entry_point: str | None, prelude: str) -> tuple[str, str, str]:
    """(code, tests, prelude) as the sandbox runs them. A program whose first line is indented is
    the body that completes the prelude's last function (HumanEval's completion form)."""
    first = next((line for line in code.splitlines() if line.strip()), "")
    if first[:1] in (" ", "\t"):
        code, prelude = prelude + code + "\n", ""
    if entry_point:
        tests = f"{tests}\n\ncheck({entry_point})\n"
    return code, tests, prelude


_NO_CODE = ExecutionResult("no_code", "the reply holds no program")

Runnable = tuple[str, str, str]  # (code, tests, prelude) as the sandbox runs them


def _prepared(code: str | None, tests: str, entry: str | None, prelude: str) -> Runnable | None:
    return None if code is None else _program(code, tests, entry, prelude)


def _against(text: str, gold: CodeGold, examples: bool) -> Runnable | None:
    """The reply's program against ``gold``'s hidden tests, or its stated examples only."""
    if examples:
        return _prepared(extract_code(text), gold.examples, None, gold.prelude)
    return _prepared(extract_code(text), gold.tests, gold.entry_point, gold.prelude)


def _run(program: Runnable | None, sandbox: Sandbox | None) -> ExecutionResult:
    return _NO_CODE if program is None else run_tests(*program, sandbox=sandbox)


async def _run_async(program: Runnable | None, sandbox: Sandbox | None) -> ExecutionResult:
    return _NO_CODE if program is None else await run_tests_async(*program, sandbox=sandbox)


def grade_code(
    text: str,
    tests: str,
    entry_point: str | None = None,
    *,
    prelude: str = "",
    sandbox: Sandbox | None = None,
) -> ExecutionResult:
    """Run the reply's program (after ``prelude``) against ``tests``; with ``entry_point``, the
    tests' ``check(candidate)`` is then called on it. ``no_code`` when the reply has none."""
    return _run(_prepared(extract_code(text), tests, entry_point, prelude), sandbox)


def grade_gold(text: str, gold: str, *, sandbox: Sandbox | None = None) -> ExecutionResult:
    """Grade a reply against a code problem's gold text (its hidden tests)."""
    return _run(_against(text, parse_gold(gold), examples=False), sandbox)


async def grade_gold_async(
    text: str, gold: str, *, sandbox: Sandbox | None = None
) -> ExecutionResult:
    """``grade_gold`` off the event loop."""
    return await _run_async(_against(text, parse_gold(gold), examples=False), sandbox)


def stated_examples(gold: str) -> str:
    """The runnable examples the problem's question states (``""``: none), never its tests."""
    return parse_gold(gold).examples


async def check_examples_async(
    text: str, gold: str, *, sandbox: Sandbox | None = None
) -> ExecutionResult | None:
    """Run the reply's program against the question's stated examples only; ``None`` when the
    question states none that can be run."""
    g = parse_gold(gold)
    return await _run_async(_against(text, g, examples=True), sandbox) if g.examples else None


def check_examples(
    text: str, gold: str, *, sandbox: Sandbox | None = None
) -> ExecutionResult | None:
    """``check_examples_async``, blocking."""
    g = parse_gold(gold)
    return _run(_against(text, g, examples=True), sandbox) if g.examples else None


def _extraction(text: str) -> Extraction:
    code = extract_code(text)
    if code is None:
        return Extraction(None, "none")
    return Extraction(code, "fence" if "```" in text else "reply")


class CodeGrader:
    """``code`` in the grader registry. Reading a program is cheap; checking it runs the tests
    in the sandbox, a blocking subprocess: ``slow``, and the grading pool routes code answers to
    ``grade_answer_async`` (the sandbox's threads; the execution kept on the grade), so none runs
    on the event loop. ``matches`` blocks; asked on a thread that runs an event loop, it does
    not run the program (``NotChecked``: counted as not passing, with the reason) rather than
    stall the loop."""

    name = "code"
    slow = True

    def extract(self, text: str, markers: Sequence[str]) -> Extraction:
        return _extraction(text)

    def extract_strict(self, text: str) -> str | None:
        """The program in a fenced block: the code prompt's own answer format."""
        found = _extraction(text)
        return found.answer if found.by == "fence" else None

    def matches(self, extracted: str | None, gold: str, rel_tol: float) -> bool:
        """Whether the program passes ``gold``'s hidden tests; against another answer (not a
        code gold: a program), whether it is the same program."""
        if extracted is None:
            return False
        if not gold.lstrip().startswith("{"):
            return extracted.strip() == gold.strip()
        _not_on_a_loop()
        g = parse_gold(gold)
        return _run(_prepared(extracted, g.tests, g.entry_point, g.prelude), None).passed


def _not_on_a_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise NotChecked(
        "a code check blocks on a subprocess and was asked for on the event loop: not run "
        "(use GradingPool.grade or grade_answer_async)"
    )


GRADERS.register("code")(CodeGrader())


async def grade_answer_async(text: str, gold: str, *, sandbox: Sandbox | None = None) -> Grade:
    """A code reply graded by one run of its program against the hidden tests; the strict
    reading passes only when the program came in a fenced block."""
    found = _extraction(text or "")
    g = parse_gold(gold)
    result = await _run_async(_prepared(found.answer, g.tests, g.entry_point, g.prelude), sandbox)
    strict = found.answer if found.by == "fence" else None
    passed = result.passed
    return Grade(
        found.answer, strict, passed, passed and strict is not None, found.by, None, result
    )
