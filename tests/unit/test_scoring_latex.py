"""The latex grader: symbolic equivalence (math-verify) on the extracted final answer."""

from __future__ import annotations

import threading

import pytest

from delegate.scoring import extract_answer, extract_strict, is_correct, is_correct_strict

EQUIVALENT = [
    # (gold, answer): MATH-500 writes the gold one way, a model another
    ("14/3", r"\frac{14}{3}"),
    (r"\frac{14}{3}", "14/3"),
    (r"\sqrt{117}", r"3\sqrt{13}"),
    (r"(3, \pi/2)", r"\left( 3, \frac{\pi}{2} \right)"),
    ("9i+6", "6+9i"),
    ("90", r"90^\circ"),
    (r"90^\circ", "90"),
    (r"\frac{1}{\sqrt{3}}", r"\frac{\sqrt{3}}{3}"),
    (r"\text{Evelyn}", r"\text{Evelyn}"),
    ("[-2,7]", r"x \in [-2,7]"),
    ("[-2,7]", r"[-2, 7]"),
    (r"\dfrac{1}{2}", "0.5"),
    ("x^2+2x", "x(x+2)"),
    (r"\{1,2\}", r"\{2,1\}"),
    (r"\$32,\!348", "32348"),
    (r"5.4 \text{ cents}", "5.4"),
    (r"\text{(C)}", "C"),
    (r"10\%", "10"),  # percent signs are dropped on both sides
]

DIFFERENT = [
    (r"\text{Carla}", r"\text{Evelyn}"),
    ("(-2,7)", "[-2,7]"),  # an open interval is not a closed one
    ("[-2,7)", "[-2,7]"),
    (r"2\sqrt{2}", r"2\sqrt{3}"),
    ("(3, 4)", "(3, 9)"),
    ("3", r"3\pi"),
    (r"\frac{14}{3}", "4.6"),
    ("6+9i", "6-9i"),
    ("2", "2.0001"),
]


@pytest.mark.parametrize(("gold", "answer"), EQUIVALENT)
def test_equivalent_answers_grade_equal(gold: str, answer: str) -> None:
    text = f"Working... so the result is \\boxed{{{answer}}}."
    assert is_correct(text, gold, answer_type="latex")
    assert is_correct_strict(text, gold, answer_type="latex")


@pytest.mark.parametrize(("gold", "answer"), DIFFERENT)
def test_different_answers_grade_different(gold: str, answer: str) -> None:
    assert not is_correct(f"\\boxed{{{answer}}}", gold, answer_type="latex")


EXTRACT_CASES = [
    # (text, strict, flexible): strict is a box only
    (r"so $x = \boxed{\frac{14}{3}}$", r"\frac{14}{3}", r"\frac{14}{3}"),
    (r"first \boxed{1} then \boxed{ (3, \pi/2) }", r"(3, \pi/2)", r"(3, \pi/2)"),
    ("The answer is $\\frac{14}{3}$.", None, r"\frac{14}{3}"),
    ("The final answer is 6+9i. I hope it is correct.", None, "6+9i"),
    ("#### [-2, 7]", None, "[-2, 7]"),
    ("We get $x = 2$ and then $y = \\sqrt{3}$", None, r"y = \sqrt{3}"),
    ("it comes to 14/3", None, "14/3"),
    ("no answer here", None, None),
    ("", None, None),
    (r"\boxed{}", None, None),
]


@pytest.mark.parametrize(("text", "strict", "flexible"), EXTRACT_CASES)
def test_extract(text: str, strict: str | None, flexible: str | None) -> None:
    assert extract_strict(text, answer_type="latex") == strict
    assert extract_answer(text, answer_type="latex") == flexible


def test_strict_needs_a_box_flexible_does_not() -> None:
    text = "The answer is $\\frac{14}{3}$."
    assert is_correct(text, "14/3", answer_type="latex")
    assert not is_correct_strict(text, "14/3", answer_type="latex")
    assert not is_correct("nothing", "14/3", answer_type="latex")


def test_grading_works_off_the_main_thread() -> None:
    # math-verify's own timeouts use SIGALRM, which only the main thread may set.
    results: list[tuple[bool, bool]] = []

    def grade() -> None:
        right = is_correct(r"\boxed{3\sqrt{13}}", r"\sqrt{117}", answer_type="latex")
        wrong = is_correct(r"\boxed{(-2,7)}", "[-2,7]", answer_type="latex")
        results.append((right, wrong))

    worker = threading.Thread(target=grade)
    worker.start()
    worker.join(timeout=60)
    assert results == [(True, False)]


def test_numbers_default_to_the_number_grader() -> None:
    # The same text under the two types: the number grader does not read 3\sqrt{13} as 3.
    assert not is_correct(r"\boxed{3\sqrt{13}}", r"\sqrt{117}")
    assert is_correct(r"\boxed{3\sqrt{13}}", r"\sqrt{117}", answer_type="latex")


def test_a_check_that_never_ends_counts_as_not_equal_off_the_main_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from delegate.scoring import latex

    release = threading.Event()
    monkeypatch.setattr(latex, "TIMEOUT_S", 0.05)
    monkeypatch.setattr(latex, "_equivalent", lambda gold, answer, timeout_s: release.wait(10))
    results: list[bool] = []
    worker = threading.Thread(target=lambda: results.append(latex.answers_match("1", "1")))
    worker.start()
    worker.join(timeout=5)
    release.set()
    assert results == [False]
