"""Answer extraction and grading, including every case the reference implementation got wrong."""

import pytest

from delegate.scoring import (
    extract_answer,
    extract_strict,
    is_correct,
    is_correct_strict,
    last_boxed,
)

EXTRACT_CASES = [
    # (text, strict, flexible)
    (r"so the total is \boxed{1,000}", "1000", "1000"),  # the original read "000"
    (r"\boxed{0.5}", "0.5", "0.5"),  # the original read "5"
    (r"The answer is \boxed{-3}.", "-3", "-3"),  # the original read "3"
    (r"half: \boxed{\frac{1}{2}}", "1/2", "1/2"),  # the original cut at "\frac{1"
    (r"\boxed{\dfrac{3}{4}}", "3/4", "3/4"),
    (r"first \boxed{2} then \boxed{7}", "7", "7"),  # the last box wins
    (r"\boxed{18 \text{ dollars}}", "18", "18"),
    (r"\boxed{\$1,250.50}", "1250.50", "1250.50"),
    (r"\boxed{45\%}", "45", "45"),
    (r"\boxed{\text{12}}", "12", "12"),
    ("She pays 3 + 4 = 7 dollars.\n#### 7", "7", "7"),
    ("#### 1,000", "1000", "1000"),
    ("The answer is $1,000.", "1000", "1000"),
    ("So the final answer is: 42 apples.", "42", "42"),
    ("I think it is 5-3 = 2.", None, "2"),  # "-3" here is subtraction, not a negative
    ("It costs $12.50 in total.", None, "12.50"),
    ("Temperature dropped to -4 degrees", None, "-4"),
    ("There are 3 boxes with 12 each, so 36", None, "36"),
    ("no numbers at all", None, None),
    ("", None, None),
    (r"broken \boxed{5 and then 6", None, "6"),  # unbalanced box is not an answer
]


@pytest.mark.parametrize(("text", "strict", "flexible"), EXTRACT_CASES)
def test_extract(text: str, strict: str | None, flexible: str | None) -> None:
    assert extract_strict(text) == strict
    assert extract_answer(text) == flexible


def test_nested_braces_are_balanced() -> None:
    assert last_boxed(r"\boxed{\frac{1}{2} + {3}}") == r"\frac{1}{2} + {3}"


GRADE_CASES = [
    (r"\boxed{1,000}", "1000", True),
    (r"\boxed{1000}", "1,000", True),
    (r"\boxed{0.5}", "5", False),
    (r"\boxed{-3}", "3", False),
    (r"\boxed{\frac{1}{2}}", "0.5", True),
    (r"\boxed{5.00}", "5", True),
    (r"\boxed{$18}", "18", True),
    ("#### 72", "72", True),
    ("the answer is 71", "72", False),
    ("no answer", "72", False),
]


@pytest.mark.parametrize(("text", "gold", "expected"), GRADE_CASES)
def test_is_correct(text: str, gold: str, expected: bool) -> None:
    assert is_correct(text, gold) is expected


def test_strict_needs_a_marker_flexible_does_not() -> None:
    text = "3 boxes of 12 make 36"
    assert is_correct(text, "36")
    assert not is_correct_strict(text, "36")


def test_question_numbers_are_not_the_answer_when_a_box_exists() -> None:
    # The reference baseline decoded prompt + answer together and graded the question's numbers.
    text = r"There are 48 eggs and 6 boxes, so \boxed{8}. Also 48."
    assert extract_answer(text) == "8"
