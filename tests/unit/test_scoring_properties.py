"""Property-based checks of the grader: it never raises, and reads back any number however it is
formatted (thousands commas, currency, percent, \\boxed{}, ####, "the answer is")."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from delegate.scoring import extract_answer, extract_strict, is_correct, is_correct_strict

# (template, has an explicit answer marker): {n} is the plain number, {c} with thousands commas.
FORMATS = [
    ("{n}", False),
    ("So the total is {c}%", False),
    (r"\boxed{{{n}}}", True),
    (r"\boxed{{{c}}}", True),
    (r"\boxed{{\${c}}}", True),
    (r"\boxed{{{n}\%}}", True),
    (r"\boxed{{{n} \text{{ dollars}}}}", True),
    ("#### {c}", True),
    ("The answer is {c}.", True),
    ("The answer is ${c}.", True),
    ("Working: 3 + 4 = 7. Final answer: \\boxed{{{c}}}", True),
]

numbers = st.one_of(
    st.integers(min_value=-(10**9), max_value=10**9).map(Decimal),
    st.decimals(
        min_value=-(10**6), max_value=10**6, places=2, allow_nan=False, allow_infinity=False
    ),
)


def with_commas(n: Decimal) -> str:
    whole, _, frac = f"{abs(n):f}".partition(".")
    text = f"{int(whole):,}" + (f".{frac}" if frac else "")
    return ("-" if n < 0 else "") + text


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_extraction_never_raises(text: str) -> None:
    extract_answer(text)
    extract_strict(text)
    is_correct(text, "42")


@settings(max_examples=300, deadline=None)
@given(number=numbers, form=st.sampled_from(FORMATS))
def test_any_formatted_number_is_read_back(number: Decimal, form: tuple[str, bool]) -> None:
    template, marked = form
    if number < 0 and "$" in template:
        number = -number  # "$-5" is not how anyone writes money
    text = template.format(n=f"{number:f}", c=with_commas(number))
    gold = f"{number:f}"
    assert is_correct(text, gold), (text, extract_answer(text))
    assert is_correct_strict(text, gold) is marked, text
