"""The code test sets: HumanEval and MBPP, shipped, with ``answer_type="code"``.

``humaneval``: OpenAI's 164 problems (``delegate/data/humaneval/test.jsonl``, the published file);
the question is the problem's prompt (signature and docstring). ``mbpp``: the 500 test problems of
MBPP (task ids 11-510; ``delegate/data/mbpp/test.jsonl``, those lines of the published file); the
question is the task's sentence with its first test as the stated example. A problem's gold is a
JSON object (``delegate.scoring.code.CodeGold``): the hidden tests, the entry point whose
``check`` they call (HumanEval), the prelude run before the program (HumanEval's prompt, so its
imports and helper functions are there) and the examples the question states. Ids: HumanEval's
task number, MBPP's task id. Both sit at level 3 on the project's 1-5 scale: the default small
model's published pass@1 (70.7 HumanEval, 69.2 MBPP) is below its GSM8K (level 2) and about equal
on the two sets.
"""

from __future__ import annotations

import ast
import doctest
import re
from importlib import resources

from delegate.data.loaders import DATASETS, Problem, json_rows
from delegate.data.shipped import _only_test
from delegate.errors import ConfigError
from delegate.scoring.code import make_gold

CODE_LEVEL = 3
MBPP_TEST_IDS = range(11, 511)

# A docstring's closing quotes on the line after its last example, read by doctest as output.
_DOCSTRING_END = re.compile(r"^[ \t]*(?:\"\"\"|\'\'\')", re.M)
# "f(x) ==> y", "f(x) => y", "f(x) ➞ y", "f(x) -> y", "f(x) == y", "f(x) = y", "returns y"
_ARROW = r"\s*(?:==>|=>|➞|->|==|=|should return|returns|# returns|# =>)\s*"


def _packaged(name: str) -> tuple[str, str]:
    file = f"{name}/test.jsonl"
    text = resources.files("delegate.data").joinpath(file).read_text("utf-8")
    return text, f"delegate/data/{file}"


def _only_code(answer_type: str, name: str) -> None:
    if answer_type != "code":
        raise ConfigError(
            f"{name} is graded by running its tests: answer_type must be 'code', not "
            f"{answer_type!r} <dataset.answer_type>"
        )


def _parsed(text: str) -> ast.expr | None:
    try:
        return ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return None


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, MemoryError, RecursionError):
        return False
    return True


# Stated results that contradict the problem's own tests (and its canonical solution), or lines
# that define the sequence rather than show a call: HumanEval task -> calls left out.
ERRATA = {
    47: {"median([-10, 4, 6, 1000, 10, 20])"},  # 15.0 stated; the median is 8.0
    116: {"sort_array([1, 5, 2, 3, 4])", "sort_array([-2, -3, -4, -5, -6])"},
    130: {"tri(1)", "tri(4)"},
    148: {"bf('Earth', 'Mercury')"},  # "("Venus")" is a string, the tests want a tuple
}


def _example(call: str, want: str, entry_point: str) -> str | None:
    """``assert _same(call, want)``, or None for prose or a result written in words."""
    call_node, want_node = _parsed(call), _parsed(want.strip().rstrip("."))
    if call_node is None or want_node is None or not _is_literal(want_node):
        return None
    names = {n.id for n in ast.walk(call_node) if isinstance(n, ast.Name)}
    if not names <= {entry_point, "round", "abs", "len", "sorted", "list", "tuple", "set"}:
        return None  # refers to something the docstring never defines (``is_happy(a)``)
    text = ast.unparse(call_node)  # without any trailing comment
    return f"assert _same({text}, {ast.unparse(want_node)}), {text!r}"


def stated_examples(prompt: str, entry_point: str, task: int = -1) -> list[str]:
    """The examples a HumanEval docstring states, as asserts: doctests (``>>> f(1)`` then its
    result) and lines such as ``f(1) ==> 2``; those whose result is not a Python literal are
    left out, and so are the ``ERRATA`` of ``task``."""
    found: list[str] = []
    for ex in doctest.DocTestParser().get_examples(prompt):
        want = _DOCSTRING_END.split(ex.want, maxsplit=1)[0]  # the closing quotes are no result
        line = _example(ex.source, want, entry_point) if want.strip() else None
        if line:
            found.append(line)
    if not found:
        found = _arrow_examples(prompt, entry_point)
    wrong = {f"assert _same({call}," for call in ERRATA.get(task, ())}
    return [line for line in found if not any(line.startswith(w) for w in wrong)]


def _arrow_examples(prompt: str, entry_point: str) -> list[str]:
    found: list[str] = []
    pattern = re.compile(
        rf"^\s*(?:>>>\s*|for\s+|assert\s+|\*\s+)?({re.escape(entry_point)}\(.*\)){_ARROW}(.+?)\s*$"
    )
    for text in prompt.splitlines():
        match = pattern.match(text)
        line = _example(match.group(1), match.group(2), entry_point) if match else None
        if line:
            found.append(line)
    return found


# Results compared as the doctests mean them: equal, or floats equal to 6 significant digits.
_SAME = (
    "def _same(got, want):\n"
    "    if isinstance(want, float) and isinstance(got, (int, float)):\n"
    "        return abs(got - want) <= 1e-6 * max(1.0, abs(want))\n"
    "    return got == want\n\n"
)


def _rows(name: str, split: str, answer_type: str) -> list[tuple[dict, str]]:
    """The shipped test split of ``name``: each row and where it sits (``file:line``); another
    split or answer type is refused."""
    _only_test(split, name)
    _only_code(answer_type, name)
    text, where = _packaged(name)
    return [(row, f"{where}:{i + 1}") for i, row in json_rows(text, where)]


def _humaneval_problem(row: dict, where: str, level: int) -> Problem:
    for key in ("task_id", "prompt", "test", "entry_point"):
        if not isinstance(row.get(key), str):
            raise ConfigError(f"{where}: expected a {key!r} string")
    number = int(row["task_id"].rsplit("/", 1)[1])
    examples = stated_examples(row["prompt"], row["entry_point"], number)
    gold = make_gold(
        tests=row["test"],
        entry_point=row["entry_point"],
        prelude=row["prompt"],
        examples=_SAME + "\n".join(examples) + "\n" if examples else "",
    )
    return Problem(number, row["prompt"], gold, source="humaneval", level=level, answer_type="code")


@DATASETS.register("humaneval")
def load_humaneval(
    split: str = "test", answer_type: str = "code", level: int = CODE_LEVEL
) -> list[Problem]:
    """HumanEval's 164 problems; the question is the prompt the function completes."""
    rows = _rows("humaneval", split, answer_type)
    return [_humaneval_problem(row, where, level) for row, where in rows]


def mbpp_question(text: str, first_test: str) -> str:
    """MBPP's task sentence with its first test as the stated example."""
    return f"{text.strip()}\nYour code should pass this test:\n{first_test.strip()}"


def _mbpp_problem(row: dict, where: str, level: int) -> Problem:
    tests = row.get("test_list")
    if not isinstance(row.get("text"), str) or not isinstance(tests, list) or not tests:
        raise ConfigError(f"{where}: expected a 'text' string and a non-empty 'test_list'")
    setup = row.get("test_setup_code") or ""
    # the setup builds objects from classes the program defines, so it runs after the program
    head = f"{setup}\n" if setup.strip() else ""
    gold = make_gold(
        tests=head + "\n".join(tests) + "\n",
        entry_point=None,
        prelude="",
        examples=head + tests[0] + "\n",
    )
    question = mbpp_question(row["text"], tests[0])
    return Problem(
        int(row["task_id"]), question, gold, source="mbpp", level=level, answer_type="code"
    )


@DATASETS.register("mbpp")
def load_mbpp(
    split: str = "test", answer_type: str = "code", level: int = CODE_LEVEL
) -> list[Problem]:
    """MBPP's test split: task ids 11-510, 500 problems; ids are the task ids."""
    rows = _rows("mbpp", split, answer_type)
    problems = [_mbpp_problem(row, where, level) for row, where in rows]
    if [p.id for p in problems] != list(MBPP_TEST_IDS):
        raise ConfigError("delegate/data/mbpp/test.jsonl: expected MBPP's test task ids 11-510")
    return problems
