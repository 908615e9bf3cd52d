"""The calculator tool: exact answers worked by hand, clear refusals, hostile input refused fast."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delegate.tools.calculator import (
    MAX_DEPTH,
    MAX_LENGTH,
    CalculatorError,
    calculate,
    evaluate,
    format_number,
    tool_schema,
)

VALUES = [
    # (expression, formatted exact value)
    ("2+3*4", "14"),
    ("(1+2)*3", "9"),
    ("2^3^2", "512"),  # right-associative: 2^(3^2)
    ("2**3**2", "512"),
    ("-2^2", "-4"),  # the sign applies after the power, as in Python
    ("(-2)^2", "4"),
    ("2^-1", "0.5"),
    ("2^-3^2", "0.001953125"),  # 2^-(3^2) = 1/512
    ("7/2", "3.5"),
    ("1/3+1/6", "0.5"),
    ("3 × 4 ÷ 6", "2"),
    ("10 − 3 − 2", "5"),  # U+2212 minus; left-associative
    ("100/10/5", "2"),
    ("0.1+0.2", "0.3"),  # exact decimals, not binary floats
    (".5 * 4", "2"),
    ("1,000 + 1", "1001"),
    ("1,234,567.5 * 2", "2469135"),
    ("15% * 80", "12"),
    ("100 + 10%", "100.1"),  # percent is always /100, never "of the left operand"
    ("80 * (1 - 15%)", "68"),
    ("(1+1)%", "0.02"),
    ("50%^2", "0.25"),  # percent binds tighter than the power
    ("2.5e3 + 1E-2", "2500.01"),
    ("6.02e23", "602000000000000000000000"),
    ("--3", "3"),
    ("+-+3", "-3"),
    ("-0", "0"),
    ("7/4", "1.75"),
    ("-1/20", "-0.05"),
    ("1/3", "1/3 ≈ 0.333333333333"),
    ("-2/3", "-2/3 ≈ -0.666666666667"),
    ("22/7", "22/7 ≈ 3.14285714286"),
    ("(2/3)^-2", "2.25"),
    ("0^0", "1"),
    ("(-1)^(10^999)", "1"),  # a huge exponent of ±1 costs nothing
    ("(-1)^(10^999 + 1)", "-1"),
    ("0^(10^999)", "0"),
    (" \t( 1 +\n2 ) ", "3"),
]


@pytest.mark.parametrize(("expression", "expected"), VALUES)
def test_evaluate(expression: str, expected: str) -> None:
    assert evaluate(expression) == expected


def test_calculate_returns_the_exact_fraction() -> None:
    assert calculate("1/3 + 1/3") == Fraction(2, 3)
    assert calculate("0.1 * 3") == Fraction(3, 10)


FORMATS = [
    (Fraction(5), "5"),
    (Fraction(-12), "-12"),
    (Fraction(1, 8), "0.125"),
    (Fraction(-3, 40), "-0.075"),
    (Fraction(1, 2**30), "0.000000000931322574615478515625"),  # 30 places: still a decimal
    (Fraction(1, 2**40), "1/1099511627776 ≈ 9.09494701773E-13"),  # 40 places: a fraction
    (Fraction(1, 7), "1/7 ≈ 0.142857142857"),
]


@pytest.mark.parametrize(("value", "expected"), FORMATS)
def test_format_number(value: Fraction, expected: str) -> None:
    assert format_number(value) == expected


ERRORS = [
    # (expression, a fragment of the message)
    ("", "empty expression"),
    ("   ", "empty expression"),
    ("1/0", "division by zero at position 2"),
    ("1/(2-2)", "division by zero"),
    ("0^-1", "division by zero"),
    ("2 x 3", "unknown character 'x' at position 3"),
    ("7 % 3", "there is no remainder operator"),
    ("1,5", "misplaced comma at position 2"),
    ("1234,567", "misplaced comma at position 5"),
    ("1,0000", "misplaced comma"),
    ("1,000,00", "misplaced comma at position 6"),
    ("1 000", "expected an operator at position 3, found '000'"),
    ("2(3)", "expected an operator at position 2"),
    ("2^0.5", "not a whole number"),
    ("4^(1/2)", "not a whole number"),
    ("(1+2", "missing ')' for the '(' at position 1"),
    ("1+2)", "unmatched ')' at position 4"),
    ("1+", "incomplete expression"),
    ("*3", "expected a number or '(' at position 1, found '*'"),
    ("()", "expected a number or '(' at position 2, found ')'"),
    ("5.", "unknown character '.' at position 2"),
    ("$5", "unknown character '$'"),
    ("sqrt(4)", "unknown character 's'"),
    ("10^1000", "exponent too large"),  # 1001 digits
    ("1e1000", "out of range"),
    ("٣+1", "unknown character '٣' at position 1 (digits must be 0-9)"),  # Arabic-Indic 3
    ("１+1", "unknown character '１'"),  # fullwidth 1
    ("2²", "unknown character '²'"),
    ("1\u200b+1", "unknown character '\\u200b' at position 2"),  # zero-width space
]


@pytest.mark.parametrize(("expression", "message"), ERRORS)
def test_errors(expression: str, message: str) -> None:
    with pytest.raises(CalculatorError) as raised:
        evaluate(expression)
    assert message in str(raised.value)


def test_calculator_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="division by zero"):
        evaluate("1/0")


def test_a_non_string_is_refused() -> None:
    with pytest.raises(CalculatorError, match="must be a string"):
        evaluate(12)  # type: ignore[arg-type]


def test_the_digit_limit_is_exact() -> None:
    assert evaluate("2^3321") == str(2**3321)  # 1000 digits: allowed
    assert len(evaluate("2^3321")) == 1000
    assert evaluate("1" * MAX_LENGTH) == "1" * MAX_LENGTH  # a 1000-digit literal
    with pytest.raises(CalculatorError, match="exponent too large"):
        evaluate("2^3322")  # 1001 digits, refused before it is computed
    with pytest.raises(CalculatorError, match=r"result out of range: .* limited to 1000 digits"):
        evaluate("10^600 * 10^600 / 10^600")  # every intermediate counts, not just the result


def test_the_length_limit() -> None:
    assert evaluate("+".join(["1"] * 500)) == "500"  # 999 characters
    with pytest.raises(CalculatorError, match="expression too long: 1001 characters"):
        evaluate("1" + " " * MAX_LENGTH)


def test_the_depth_limit() -> None:
    assert evaluate("(" * MAX_DEPTH + "7" + ")" * MAX_DEPTH) == "7"
    deeper = MAX_DEPTH + 1
    with pytest.raises(CalculatorError, match="too deeply nested"):
        evaluate("(" * deeper + "7" + ")" * deeper)
    with pytest.raises(CalculatorError, match="too deeply nested"):
        evaluate("-" * 900 + "1")
    with pytest.raises(CalculatorError, match="too deeply nested"):
        evaluate("1^" * 300 + "1")


HOSTILE = [
    "9**9**9",
    "10**10**10",
    "2**-99999999",
    "(1/3)**100000",
    "(1/3)^(9^9)",
    "1e999999",
    "1e-999999",
    "1" + "%" * 900,
    "__import__('os')",
    "().__class__",
    "open('x')",
    "lambda: 1",
    "(" * 10_000 + "1" + ")" * 10_000,
    "(" * 400 + "1" + ")" * 400,  # under the length limit, over the depth limit
    "1" * 1_000_000,
    "9" * 999 + "^9",
    "(" * 400,
    "9" * 400 + "^" + "9" * 400,
    "٣" * 500,
]


@pytest.mark.parametrize("expression", HOSTILE, ids=lambda e: e[:20])
def test_hostile_input_is_refused_fast(expression: str) -> None:
    start = time.perf_counter()
    with pytest.raises(CalculatorError):
        evaluate(expression)
    assert time.perf_counter() - start < 0.5


def test_tool_schema_has_the_openai_function_shape() -> None:
    schema = tool_schema(description="  Evaluate.  ", argument_description=" The sum. ")
    assert schema == {
        "type": "function",
        "function": {
            "name": "calculator",
            "description": "Evaluate.",
            "parameters": {
                "type": "object",
                "properties": {"expression": {"type": "string", "description": "The sum."}},
                "required": ["expression"],
            },
        },
    }
    renamed = tool_schema(name="calc", argument="expr")["function"]
    assert renamed["name"] == "calc"
    assert renamed["parameters"]["required"] == ["expr"]
    assert "20% means 0.2" in renamed["description"]  # the default tells the model about %


# Property tests: random expressions agree with Python's exact Fraction arithmetic.

# Different spellings of the same operator, to exercise the tokenizer.
SPELLINGS = {"+": ["+"], "-": ["-", "−"], "*": ["*", "×"], "/": ["/", "÷"], "^": ["^", "**"]}
leaves = st.integers(min_value=0, max_value=50).map(lambda n: (str(n), Fraction(n)))


def _binary(draw_children: st.SearchStrategy[tuple[str, Fraction | None]]) -> st.SearchStrategy:
    """A fully parenthesised node; None stands for "division by zero somewhere inside"."""

    @st.composite
    def node(draw: st.DrawFn) -> tuple[str, Fraction | None]:
        operator = draw(st.sampled_from(["+", "-", "*", "/", "^"]))
        # A power of a number, never of a subtree: values and nesting stay well inside the limits.
        left_text, left = draw(leaves if operator == "^" else draw_children)
        spelling = draw(st.sampled_from(SPELLINGS[operator]))
        space = draw(st.sampled_from(["", " "]))
        if operator == "^":
            power = draw(st.integers(min_value=-2, max_value=3))
            right_text, right = f"({power})", Fraction(power)
        else:
            right_text, right = draw(draw_children)
        text = f"({left_text}{space}{spelling}{space}{right_text})"
        if left is None or right is None:
            return text, None
        try:
            value = {
                "+": lambda: left + right,
                "-": lambda: left - right,
                "*": lambda: left * right,
                "/": lambda: left / right,
                "^": lambda: left ** int(right),
            }[operator]()
        except ZeroDivisionError:
            return text, None
        return text, Fraction(value)

    return node()


expressions = st.recursive(leaves, _binary, max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(expressions)
def test_parenthesised_expressions_agree_with_fractions(
    expression: tuple[str, Fraction | None],
) -> None:
    text, expected = expression
    if expected is None:
        with pytest.raises(CalculatorError, match="division by zero"):
            calculate(text)
    else:
        assert calculate(text) == expected, text


def _by_precedence(numbers: list[int], operators: list[str]) -> Fraction | None:
    """The reference: * and / first, then + and -, each left to right."""
    terms: list[Fraction] = [Fraction(numbers[0])]
    signs: list[str] = []
    for operator, number in zip(operators, numbers[1:], strict=True):
        if operator in "+-":
            signs.append(operator)
            terms.append(Fraction(number))
        elif operator == "*":
            terms[-1] *= number
        elif number == 0:
            return None
        else:
            terms[-1] /= number
    total = terms[0]
    for sign, term in zip(signs, terms[1:], strict=True):
        total = total + term if sign == "+" else total - term
    return total


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_unparenthesised_expressions_follow_precedence(data: st.DataObject) -> None:
    numbers = data.draw(st.lists(st.integers(0, 99), min_size=1, max_size=10))
    operators = data.draw(
        st.lists(st.sampled_from("+-*/"), min_size=len(numbers) - 1, max_size=len(numbers) - 1)
    )
    text = str(numbers[0]) + "".join(
        f" {o} {n}" for o, n in zip(operators, numbers[1:], strict=True)
    )
    expected = _by_precedence(numbers, operators)
    if expected is None:
        with pytest.raises(CalculatorError, match="division by zero"):
            calculate(text)
    else:
        assert calculate(text) == expected, text


CALCULATOR_ALPHABET = "0123456789.,+-*/^%()eE ×÷−"


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=40), st.text(CALCULATOR_ALPHABET, max_size=60)))
def test_any_text_gives_a_value_or_a_calculator_error(text: str) -> None:
    try:
        result = evaluate(text)
    except CalculatorError as error:
        assert str(error)  # every refusal explains itself
    else:
        assert result
