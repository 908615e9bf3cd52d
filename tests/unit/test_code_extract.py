"""The code grader's pure parts: the program a reply holds, the gold's form, stated examples."""

from __future__ import annotations

import pytest

from delegate.data.code import ERRATA, mbpp_question, stated_examples
from delegate.scoring.code import (
    CodeGold,
    _program,
    extract_code,
    grade_code,
    make_gold,
    parse_gold,
)

FENCED = "Here is my solution:\n```python\ndef f(x):\n    return x + 1\n```\nIt adds one."


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (FENCED, "def f(x):\n    return x + 1"),
        # the last python block wins: models often show a draft, then the fix
        (
            "```python\ndef f():\n    return 0\n```\nFixed:\n"
            "```python\ndef f():\n    return 1\n```",
            "def f():\n    return 1",
        ),
        ("```\ndef g():\n    pass\n```", "def g():\n    pass"),  # a bare fence
        ("```py\nimport math\n```", "import math"),
        ("```Python3\nx = 1\n```", "x = 1"),  # labels are case-insensitive
        # a python block beats a later block in another language
        ("```python\nx = 1\n```\nRun it with:\n```bash\npython x.py\n```", "x = 1"),
        # cut off by max_tokens: the unclosed last block is the program
        (
            "```python\ndef f():\n    return 1\n```\nBetter:\n```python\ndef f():\n    return 2",
            "def f():\n    return 2",
        ),
        ("```python\r\ndef f():\r\n    return 1\r\n```", "def f():\n    return 1"),  # CRLF
        ("def f(x):\n    return x * 2\n", "def f(x):\n    return x * 2"),  # the reply is code
        ("import os\nprint(os.sep)", "import os\nprint(os.sep)"),
        ("The answer is 42.", None),  # prose
        ("hello", None),  # parses as a name, defines nothing
        ("```bash\nls -l\n```", None),  # only another language
        ("```python\n```", None),  # an empty block
        ("", None),
    ],
)
def test_extract_code(reply: str, expected: str | None) -> None:
    assert extract_code(reply) == expected


def test_a_reply_without_code_is_no_code_and_runs_nothing() -> None:
    result = grade_code("I cannot solve this.", "assert False\n")
    assert result.outcome == "no_code" and not result.passed and result.duration_s == 0.0


def test_gold_round_trips_through_its_json_text() -> None:
    gold = make_gold(
        tests="def check(c):\n    assert c(1) == 2\n",
        entry_point="f",
        prelude="import math\n",
        examples="assert f(1) == 2\n",
    )
    assert parse_gold(gold) == CodeGold(
        tests="def check(c):\n    assert c(1) == 2\n",
        entry_point="f",
        prelude="import math\n",
        examples="assert f(1) == 2\n",
    )
    with pytest.raises(ValueError, match="'tests'"):
        parse_gold("42")


def test_entry_point_calls_check_and_a_body_completes_the_prelude() -> None:
    prelude = 'def f(x):\n    """Add one."""\n'
    code, tests, kept = _program("def f(x):\n    return x + 1", "def check(c): pass", "f", prelude)
    assert (code, kept) == ("def f(x):\n    return x + 1", prelude)
    assert tests.endswith("\ncheck(f)\n")
    code, tests, kept = _program("    return x + 1", "assert f(1) == 2", None, prelude)
    assert code == prelude + "    return x + 1\n" and kept == "" and tests == "assert f(1) == 2"


PROMPT = '''def add(a, b):
    """Add two numbers.
    >>> add(1, 2)
    3
    >>> add(0.1, 0.2)
    0.3
    >>> print(add(1, 1))  # prints
    2
    """
'''


def test_doctest_examples_become_asserts() -> None:
    # print(...) shows output rather than a value: left out
    assert stated_examples(PROMPT, "add") == [
        "assert _same(add(1, 2), 3), 'add(1, 2)'",
        "assert _same(add(0.1, 0.2), 0.3), 'add(0.1, 0.2)'",
    ]
    # the closing quotes right under the last result are not part of it (doctest reads them so)
    last = 'def add(a, b):\n    """Add.\n    >>> add(1, 2)\n    3\n    """\n'
    assert stated_examples(last, "add") == ["assert _same(add(1, 2), 3), 'add(1, 2)'"]
    single = "def add(a, b):\n    '''Add.\n    >>> add(1, 2)\n    3\n    '''\n"
    assert stated_examples(single, "add") == ["assert _same(add(1, 2), 3), 'add(1, 2)'"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("    f([1, 2]) ==> 3", "assert _same(f([1, 2]), 3), 'f([1, 2])'"),
        ("    f('a') => 'b'", "assert _same(f('a'), 'b'), \"f('a')\""),
        ("    f(1) ➞ True", "assert _same(f(1), True), 'f(1)'"),
        ("    for f(7, 34, 12) == 34", "assert _same(f(7, 34, 12), 34), 'f(7, 34, 12)'"),
        ("    f(3) returns [1, 5] # because", "assert _same(f(3), [1, 5]), 'f(3)'"),
        ("    * f([]) => []", "assert _same(f([]), []), 'f([])'"),
        ("    f(2) should return 16.", "assert _same(f(2), 16), 'f(2)'"),
        ("    f(1, 4) => true", None),  # a result in words
        ("    f(a) => False", None),  # a name the docstring never defines
        ("    f(2) = 1 + (2 / 2) = 2", None),  # a derivation
        ("    g(1) == 2", None),  # another function
    ],
)
def test_arrow_examples(line: str, expected: str | None) -> None:
    found = stated_examples(f'def f(x):\n    """Doc.\n{line}\n    """\n', "f")
    assert found == ([expected] if expected else [])


def test_errata_drop_examples_that_contradict_the_tests() -> None:
    prompt = '    """\n    tri(1) = 3\n    tri(3) = [1, 3, 2, 8]\n    """\n'
    assert stated_examples(prompt, "tri", task=130) == [
        "assert _same(tri(3), [1, 3, 2, 8]), 'tri(3)'"
    ]
    assert stated_examples(prompt, "tri") == [
        "assert _same(tri(1), 3), 'tri(1)'",
        "assert _same(tri(3), [1, 3, 2, 8]), 'tri(3)'",
    ]
    assert set(ERRATA) == {47, 116, 130, 148}


def test_mbpp_question_states_its_first_test() -> None:
    assert mbpp_question(" Write a function.\n", "assert f(1) == 2") == (
        "Write a function.\nYour code should pass this test:\nassert f(1) == 2"
    )
