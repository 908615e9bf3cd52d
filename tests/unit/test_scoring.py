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


# A number is read only where it is the whole answer; the original read the first number it saw.
NOT_A_NUMBER_CASES = [
    # (text, gold, strict answer read, correct)
    (r"\boxed{2\sqrt{3}}", r"2\sqrt{2}", r"2\sqrt{3}", False),  # the original read 2 = 2
    (r"\boxed{(3, 9)}", "(3, 4)", "(3,9)", False),  # the original read 3 = 3
    (r"\boxed{3\pi}", "3", r"3\pi", False),  # the original read 3 = 3
    (r"\boxed{2\sqrt{3}}", "2", r"2\sqrt{3}", False),
    (r"\boxed{(3, 9)}", "(3,9)", "(3,9)", True),  # the same text still matches
    (r"\boxed{3 and 4}", "3", "3and4", False),
    ("The answer is $2\\sqrt{3}$.", "2", r"2\sqrt{3}", False),
    ("The answer is (3, 9).", "3", "(3,9)", False),
    ("The answer is 3\\pi", "3", r"3\pi", False),
    ("The answer is 6 + 9i", "6", "6+9i", False),
    ("The answer is 3x + 2.", "3", "3x+2", False),
]


@pytest.mark.parametrize(("text", "gold", "read", "expected"), NOT_A_NUMBER_CASES)
def test_a_non_numeric_answer_is_not_its_first_number(
    text: str, gold: str, read: str, expected: bool
) -> None:
    assert extract_strict(text) == read
    assert extract_answer(text) == read  # the flexible reading does not look further
    assert is_correct(text, gold) is expected
    assert is_correct_strict(text, gold) is expected


NUMBER_IN_CONTEXT_CASES = [
    # (text, read): a number among words or units is still the answer
    ("The answer is 3/4", "3/4"),  # the original read 3
    ("The answer is 3 / 4.", "3/4"),
    ("The final answer is $\\frac{3}{4}$.", "3/4"),
    (r"\boxed{-\frac{1}{2}}", "-1/2"),
    ("So the answer is that Janet makes $18 every day.", "18"),
    ("The answer is 42, since 6 * 7 = 42.", "42"),
    ("The answer is **42**.", "42"),
    ("The answer is x = 5.", "5"),
    ("The answer is 36 = 3 \\times 12.", "36"),
    (r"\boxed{x = 5}", "5"),
    (r"\boxed{12 \text{ cm}^2}", "12"),
    (r"\boxed{32,\!348}", "32348"),  # LaTeX thousands separators
    (r"\boxed{1\,000}", "1000"),
    (r"\boxed{1{,}000}", "1000"),
    (r"\boxed{90^\circ}", "90"),
]


@pytest.mark.parametrize(("text", "read"), NUMBER_IN_CONTEXT_CASES)
def test_a_number_among_words_is_read(text: str, read: str) -> None:
    assert extract_strict(text) == read


def test_a_plain_fraction_is_read_as_a_fraction() -> None:
    assert is_correct("The answer is 3/4", "0.75")
    assert not is_correct("The answer is 3/4", "3")
    assert extract_answer("She ate 3/4 of the pie") == "3/4"  # the last number, flexibly
    assert is_correct("She ate 3/4 of the pie", "0.75")


@pytest.mark.parametrize(
    ("text", "gold", "rel_tol", "expected"),
    [
        (r"\boxed{3244047.1}", "3244047.0999999996", 1e-6, True),  # GSM-Hard's float noise
        (r"\boxed{3244047.1}", "3244047.0999999996", 0.0, False),  # exact by default
        (r"\boxed{14053029.67}", "14053029.666666666", 1e-6, True),
        (r"\boxed{3244050}", "3244047.0999999996", 1e-6, True),  # 2.9 / 3244050 = 8.9e-7
        (r"\boxed{3244051}", "3244047.0999999996", 1e-6, False),  # 3.9 / 3244051 = 1.2e-6
        (r"\boxed{1.0000011}", "1", 1e-6, False),  # 1.1e-6 relative
        (r"\boxed{1.0000009}", "1", 1e-6, True),
        (r"\boxed{-5}", "5", 1e-6, False),
        (r"\boxed{0}", "0", 1e-6, True),
    ],
)
def test_relative_tolerance(text: str, gold: str, rel_tol: float, expected: bool) -> None:
    assert is_correct(text, gold, rel_tol=rel_tol) is expected


def test_unknown_answer_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown answer type 'words'"):
        is_correct(r"\boxed{1}", "1", answer_type="words")
