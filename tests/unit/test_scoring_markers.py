"""Where each answer comes from: the box, each answer marker, a JSON answer field, and each
fallback, labelled by ``extracted_by``; numbers as models write them; markers from the prompt set;
and adversarial answers of 1 MB graded end to end (through the grading pool) in under a second."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest

from delegate.scoring import DEFAULT_MARKERS, grade
from delegate.scoring.latex import MAX_ANSWER_CHARS
from delegate.scoring.markers import check_markers
from delegate.scoring.pool import GradingPool

# (text, answer type, gold, extracted, extracted_by, correct)
MARKER_CASES = [
    # The box comes first, even after a marker.
    (r"The answer is 5. Check: \boxed{6}", "number", "6", "6", "boxed", True),
    (r"Answer: 3. So \boxed{\frac{14}{3}}", "latex", "14/3", r"\frac{14}{3}", "boxed", True),
    # Each marker.
    ("Adding up: 3 + 4 = 7\n#### 7", "number", "7", "7", "marker", True),
    ("so the answer is 42 apples.", "number", "42", "42", "marker", True),
    (
        "The final answer is $\\frac{14}{3}$. I hope it is correct.",
        "latex",
        "14/3",
        r"\frac{14}{3}",
        "marker",
        True,
    ),
    ("Working: 6 * 7 = 42, minus 2.\nFinal Answer: 40", "number", "40", "40", "marker", True),
    (
        "We get $x = 2$ and $y = 3$.\nFinal Answer: $\\sqrt{117}$",
        "latex",
        r"3\sqrt{13}",
        r"\sqrt{117}",
        "marker",
        True,
    ),
    ("Steps: 2 + 2 = 4, then 4 * 3.\nAnswer: 12", "number", "12", "12", "marker", True),
    ("Steps with $a + b$ first.\nAnswer: $(3, 9)$", "latex", "(3,9)", "(3, 9)", "marker", True),
    # Bold forms.
    ("So 18 in all, and 3 left.\n**Answer:** 15", "number", "15", "15", "marker", True),
    ("**Final Answer**\n$\\dfrac{1}{2}$", "latex", "0.5", r"\dfrac{1}{2}", "marker", True),
    (
        "Then $a + b$ is the sum.\n**Answer: $\\frac{n}{99}$**",
        "latex",
        r"\frac{n}{99}",
        r"\frac{n}{99}",
        "marker",
        True,
    ),
    (
        "The answer is **42**, since 6 * 7 = 42 and 1 more is 43",
        "number",
        "42",
        "42",
        "marker",
        True,
    ),
    # A marker at the end of its line takes the next line.
    ("The final answer:\n\n  17 marbles", "number", "17", "17", "marker", True),
    # "####" is trusted over "answer is".
    ("I thought the answer is 5.\n#### 6", "number", "6", "6", "marker", True),
    # Fallbacks, labelled as such.
    ("3 boxes of 12 make 36", "number", "36", "36", "last_number", True),
    (
        "We get $x = 2$ and then $y = \\sqrt{3}$",
        "latex",
        r"\sqrt{3}",
        r"y = \sqrt{3}",
        "last_math",
        True,
    ),
    ("it comes to 14/3", "latex", r"\frac{14}{3}", "14/3", "last_number", True),
    ("no answer here", "latex", "1", None, "none", False),
    ("", "number", "1", None, "none", False),
]


@pytest.mark.parametrize(("text", "kind", "gold", "extracted", "by", "correct"), MARKER_CASES)
def test_each_marker_and_fallback(
    text: str, kind: str, gold: str, extracted: str | None, by: str, correct: bool
) -> None:
    got = grade(text, gold, kind)
    assert (got.extracted, got.extracted_by, got.correct) == (extracted, by, correct)
    assert got.error is None


def json_output(answer: str, reasoning: str) -> str:
    # json.dumps doubles every backslash, as a model writing valid JSON does.
    return "```json\n" + json.dumps({"reasoning": reasoning, "answer": answer}) + "\n```"


def test_a_json_answer_with_doubled_backslashes_reads_as_latex() -> None:
    text = json_output(r"\frac{n}{99}", r"Let $a + b = n$, so the fraction is $\frac{a+b}{99}$.")
    assert r"\\frac{n}{99}" in text  # what the model wrote
    got = grade(text, r"\frac{n}{99}", "latex")
    assert (got.extracted, got.extracted_by, got.correct) == (r"\frac{n}{99}", "json", True)
    # Without the JSON marker, the last inline math of the reasoning would be read instead.
    without = grade(text, r"\frac{n}{99}", "latex", markers=["answer is"])
    assert without.extracted_by == "last_math" and not without.correct


@pytest.mark.parametrize(
    ("text", "kind", "gold", "extracted"),
    [
        ('{"reasoning": "3 * 4", "answer": 12}', "number", "12", "12"),
        ('{"reasoning": "3 * 4", "answer": "12 apples"}', "number", "12", "12"),
        ('{"answer": "$\\\\sqrt{117}$"}', "latex", r"3\sqrt{13}", r"\sqrt{117}"),
        ('{"answer": "\\\\left(3, 9\\\\right)"}', "latex", "(3,9)", r"\left(3, 9\right)"),
        # One backslash, as models also write: \f and \n before a letter stay LaTeX.
        ('{"answer": "\\frac{14}{3}"}', "latex", "14/3", r"\frac{14}{3}"),
        ('{"answer": "x \\neq 2"}', "latex", r"x \neq 2", r"x \neq 2"),
        ('{"answer": "\\u22123"}', "number", "-3", "-3"),
    ],
)
def test_json_answer_fields(text: str, kind: str, gold: str, extracted: str) -> None:
    got = grade(text, gold, kind)
    assert (got.extracted, got.extracted_by, got.correct) == (extracted, "json", True)


def test_a_box_inside_a_json_answer_is_still_a_box() -> None:
    got = grade('{"answer": "\\\\boxed{(3, 9)}"}', "(3,9)", "latex")
    assert (got.extracted, got.extracted_by, got.correct) == ("(3, 9)", "boxed", True)


def test_strict_grading_reads_the_prompts_own_marker_only() -> None:
    text = json_output("12", "3 * 4 = 12")
    got = grade(text, "12")
    assert got.correct and got.extracted_by == "json"
    assert got.extracted_strict is None and not got.correct_strict
    latex = grade("Final Answer: $\\frac{14}{3}$", "14/3", "latex")
    assert latex.correct and latex.extracted_strict is None and not latex.correct_strict


def test_a_prompt_sets_own_markers_replace_the_default() -> None:
    text = "Working: 3 + 4 = 7, and 7 * 2.\nResult => 14\nCheck: 14 - 7 = 7"
    assert grade(text, "14").extracted_by == "last_number" and not grade(text, "14").correct
    own = grade(text, "14", markers=["result =>"])
    assert (own.extracted, own.extracted_by, own.correct) == ("14", "marker", True)
    assert grade('{"final": "14"}', "14", markers=["json:final"]).extracted_by == "json"


def test_markers_are_checked() -> None:
    assert check_markers(DEFAULT_MARKERS) == DEFAULT_MARKERS
    with pytest.raises(ValueError, match="non-empty"):
        check_markers(["answer is", " "])
    with pytest.raises(ValueError, match="json:<field>"):
        check_markers(["json:the answer"])


NUMBER_FORMS = [
    ("\\boxed{\u22123}", "-3"),  # U+2212 minus
    ("The answer is \u2212 3.", "-3"),
    ("#### 1\u2009000\u2009000", "1000000"),  # thin spaces between digit groups
    ("#### 1\u202f250", "1250"),  # narrow no-break space
    (r"\boxed{3.2 \times 10^{6}}", "3200000"),
    (r"\boxed{3.2 \cdot 10^6}", "3200000"),
    ("The answer is 3.2 × 10^6.", "3200000"),
    ("The answer is 2.5e3", "2500"),
    ("The answer is 1.5E-3", "0.0015"),
    (r"so about $4.2 \times 10^{-2}$", "0.042"),
]


@pytest.mark.parametrize(("text", "read"), NUMBER_FORMS)
def test_numbers_as_models_write_them(text: str, read: str) -> None:
    got = grade(text, read)
    assert got.correct, (got.extracted, read)


def test_a_huge_exponent_is_not_written_out() -> None:
    got = grade(r"\boxed{10^{10^{10}}}", "1")
    assert not got.correct and got.extracted == "10^{10^{10}}"


ADVERSARIAL = {
    "unclosed boxes": "\\boxed{" * 100_000 + "x" * 300_000,
    "unclosed inline math": "\\(" * 500_000,
    "answer markers": "the answer is " * 75_000,
    "an unterminated JSON answer": '{"answer": "' + "\\\\" * 500_000,
    "one long number": "1" * 1_000_000,
    "braces": "{" * 1_000_000,
    "dollars": "$" * 1_000_000,
    "fractions": "\\frac{" * 170_000,
    "exponents": "3 \\times 10^{" * 80_000,
    "final answers": "**Final Answer** " * 60_000,
}


@pytest.fixture(scope="module")
def warm_pool() -> Iterator[GradingPool]:
    with GradingPool(workers=1) as pool:  # the default time limit: the check must not reach it
        asyncio.run(pool.grade(r"\\boxed{1}", "1", "latex"))  # the worker's start is not timed
        yield pool


@pytest.mark.parametrize("kind", ["number", "latex"])
@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_a_1mb_adversarial_answer_is_graded_in_well_under_a_second(
    name: str, kind: str, warm_pool: GradingPool
) -> None:
    # end to end as a run grades: through the grading pool (latex: in its worker process)
    text = ADVERSARIAL[name]
    assert len(text) >= 1_000_000
    started = time.perf_counter()
    got = asyncio.run(warm_pool.grade(text, "2", kind))
    assert time.perf_counter() - started < 1.0
    assert not got.correct
    if kind == "latex" and got.extracted and len(got.extracted) > MAX_ANSWER_CHARS:
        assert got.error and "math-verify not run" in got.error


def test_an_answer_over_the_length_cap_is_not_equivalent_and_says_why() -> None:
    long_one = "1+" * MAX_ANSWER_CHARS + "1"
    got = grade(f"\\boxed{{{long_one}}}", str(MAX_ANSWER_CHARS + 1), "latex")
    assert got.extracted == long_one and not got.correct and not got.correct_strict
    assert got.error and f"{len(long_one):,} characters" in got.error
    assert grade("\\boxed{" + "1" * MAX_ANSWER_CHARS + "}", "1" * MAX_ANSWER_CHARS, "latex").correct
