"""An exact, bounded calculator the large model can call as a tool.

The language is arithmetic only, read by a hand-written tokenizer and recursive-descent parser
(no ``eval``, no ``ast``), so no input can reach a name, a call or an attribute:

- numbers: ``42``, ``2.5``, ``.5``, ``6.02e23``, and thousands groups ``1,000,000`` (a comma is
  accepted only between groups of exactly three digits, so ``1,5`` is an error, never 15 or 1.5);
  digits are ASCII ``0-9`` only. Decimals are exact rationals: ``0.1 + 0.2`` is ``0.3``.
- operators, loosest first: ``+ -``; ``* /`` (also ``×``, ``÷``); prefix signs ``+ -`` (also
  ``−``); power ``^`` or ``**``, right-associative; postfix percent ``%``; parentheses.
  So ``2^3^2`` is 512 and ``-2^2`` is -4, as in Python and in written mathematics.
- ``%`` always means "divided by 100": ``15% * 80`` is 12 and ``100 + 10%`` is 100.1 (not 110).
  There is no remainder operator, so ``7 % 3`` is an error that says so.
- powers need a whole-number exponent (a fractional power is rarely exact); ``0^0`` is 1.

Results are formatted for a model to read: an integer as an integer (``14``), a value with a
short terminating decimal as that decimal (``7/4`` -> ``1.75``), anything else as the exact
fraction with a 12-digit approximation (``1/3 ≈ 0.333333333333``).

Every size is bounded so that no input can hang or crash the process: the expression's length,
its nesting depth (which also bounds the parser's recursion), and the digits of every number met
along the way; a power is refused from a cheap lower bound of its size *before* it is computed,
so ``9^9^9`` fails at once. Every refusal is a :class:`CalculatorError` whose one-line message
tells the model what to change.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any, NamedTuple

MAX_LENGTH = 1000  # characters in an expression
MAX_DEPTH = 100  # nested parentheses, signs and powers; keeps the parser's recursion shallow
MAX_DIGITS = 1000  # digits of any numerator or denominator, input, intermediate or result
MAX_DECIMAL_PLACES = 30  # a terminating decimal longer than this is shown as a fraction
APPROXIMATION_DIGITS = 12  # significant digits of the approximation beside a fraction

_LIMIT = 10**MAX_DIGITS
# A power whose lower bound 2^(|e| * (bits - 1)) reaches 2^_LIMIT_BITS is over _LIMIT.
_LIMIT_BITS = _LIMIT.bit_length()

DESCRIPTION = (
    "Evaluate an arithmetic expression exactly. Use numbers (1,000 and 2.5e3 are fine), "
    "+ - * / ^ and parentheses; 20% means 0.2. The answer is exact: an integer, a decimal, "
    "or a fraction a/b with an approximation."
)
ARGUMENT_DESCRIPTION = "The expression, for example (1,200 - 15% * 80) / 3^2"

_NUMBER = re.compile(
    r"(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
    r"|\.[0-9]+(?:[eE][+-]?[0-9]+)?"
)
# Each accepted symbol and the ASCII operator it stands for ("**" is read as "^" separately).
_SYMBOLS = dict(zip("+-−*×/÷^%()", "+--**//^%()", strict=True))


class CalculatorError(ValueError):
    """The expression cannot be evaluated; the message is meant for the model that sent it."""


class _Token(NamedTuple):
    kind: str  # "number", "end", or the operator's ASCII spelling: + - * / ^ % ( )
    text: str
    position: int  # 1-based, as the error messages count
    value: Fraction = Fraction(0)


def evaluate(expression: str) -> str:
    """The exact value of an arithmetic expression, formatted by :func:`format_number`.

    Raises:
        CalculatorError: the expression is malformed, too large, or divides by zero.
    """
    return format_number(calculate(expression))


def calculate(expression: str) -> Fraction:
    """The exact value of an arithmetic expression (the language is in the module docstring)."""
    if not isinstance(expression, str):
        raise CalculatorError("the expression must be a string")
    if len(expression) > MAX_LENGTH:
        raise CalculatorError(
            f"expression too long: {len(expression)} characters, the limit is {MAX_LENGTH}"
        )
    tokens = _tokenize(expression)
    if tokens[0].kind == "end":
        raise CalculatorError("empty expression")
    return _Parser(tokens).parse()


def format_number(value: Fraction) -> str:
    """``14``, ``1.75`` or ``1/3 ≈ 0.333333333333``: exact first, approximate only beside it."""
    numerator, denominator = value.numerator, value.denominator
    if denominator == 1:
        return str(numerator)
    places = _decimal_places(denominator)
    if places is not None and places <= MAX_DECIMAL_PLACES:
        digits = str(abs(numerator) * 10**places // denominator).rjust(places + 1, "0")
        sign = "-" if numerator < 0 else ""
        return f"{sign}{digits[:-places]}.{digits[-places:]}"
    with localcontext(prec=APPROXIMATION_DIGITS):
        approximation = Decimal(numerator) / Decimal(denominator)
    return f"{numerator}/{denominator} ≈ {approximation}"


def tool_schema(
    name: str = "calculator",
    description: str = DESCRIPTION,
    argument: str = "expression",
    argument_description: str = ARGUMENT_DESCRIPTION,
) -> dict[str, Any]:
    """The calculator as an OpenAI function tool, shaped like ``PromptSet.tool_schema``."""
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description.strip(),
            "parameters": {
                "type": "object",
                "properties": {
                    argument: {"type": "string", "description": argument_description.strip()}
                },
                "required": [argument],
            },
        },
    }


def _decimal_places(denominator: int) -> int | None:
    """Places after the point of p/denominator in lowest terms, or None if it never ends."""
    twos = (denominator & -denominator).bit_length() - 1
    rest, fives = denominator >> twos, 0
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    return max(twos, fives) if rest == 1 else None


def _bounded(value: Fraction, what: str = "result out of range") -> Fraction:
    if abs(value.numerator) >= _LIMIT or value.denominator >= _LIMIT:
        raise CalculatorError(f"{what}: numbers are limited to {MAX_DIGITS} digits")
    return value


def _read_number(text: str, position: int) -> Fraction:
    mantissa, _, exponent_text = text.replace(",", "").lower().partition("e")
    whole, _, fraction = mantissa.partition(".")
    exponent = int(exponent_text or 0)
    if abs(exponent) > MAX_DIGITS:
        raise CalculatorError(
            f"number {text} at position {position} is out of range: "
            f"numbers are limited to {MAX_DIGITS} digits"
        )
    exponent -= len(fraction)
    digits = int(whole + fraction)
    value = Fraction(digits * 10**exponent) if exponent >= 0 else Fraction(digits, 10**-exponent)
    return _bounded(value, f"number {text} at position {position} is out of range")


def _tokenize(expression: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    while index < len(expression):
        char, position = expression[index], index + 1
        if char.isspace():
            index += 1
        elif match := _NUMBER.match(expression, index):
            text = match.group()
            tokens.append(_Token("number", text, position, _read_number(text, position)))
            index = match.end()
        elif expression.startswith("**", index):
            tokens.append(_Token("^", "**", position))
            index += 2
        elif char in _SYMBOLS:
            tokens.append(_Token(_SYMBOLS[char], char, position))
            index += 1
        elif char == ",":
            raise CalculatorError(
                f"misplaced comma at position {position}: a comma may only separate "
                "thousands, as in 1,000 (use a point for decimals)"
            )
        else:
            hint = " (digits must be 0-9)" if char.isnumeric() else ""
            raise CalculatorError(
                f"unknown character {char!r} at position {position}{hint}: only numbers, "
                "+ - * / ^ %, and parentheses are allowed"
            )
    tokens.append(_Token("end", "", len(expression) + 1))
    return tokens


class _Parser:
    """Recursive descent, one method per precedence level, loosest first."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens, self.index, self.depth = tokens, 0, 0

    def parse(self) -> Fraction:
        value = self._sum()
        token = self._peek()
        if token.kind == ")":
            raise CalculatorError(f"unmatched ')' at position {token.position}")
        if token.kind != "end":
            after_percent = self.tokens[self.index - 1].kind == "%"
            hint = " ('%' means percent, 20% = 0.2; there is no remainder operator)"
            raise CalculatorError(
                f"expected an operator at position {token.position}, found {token.text!r}"
                + (hint if after_percent else "")
            )
        return value

    def _peek(self) -> _Token:
        return self.tokens[self.index]

    def _next(self) -> _Token:
        self.index += 1
        return self.tokens[self.index - 1]

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise CalculatorError(
                f"expression too deeply nested: at most {MAX_DEPTH} levels of parentheses, "
                "signs and powers"
            )

    def _sum(self) -> Fraction:
        value = self._product()
        while self._peek().kind in ("+", "-"):
            operator = self._next().kind
            right = self._product()
            value = _bounded(value + right if operator == "+" else value - right)
        return value

    def _product(self) -> Fraction:
        value = self._signed()
        while self._peek().kind in ("*", "/"):
            operator = self._next()
            right = self._signed()
            if operator.kind == "/" and right == 0:
                raise CalculatorError(f"division by zero at position {operator.position}")
            value = _bounded(value / right if operator.kind == "/" else value * right)
        return value

    def _signed(self) -> Fraction:
        if self._peek().kind not in ("+", "-"):
            return self._power()
        sign = self._next().kind
        self._enter()
        value = self._signed()
        self.depth -= 1
        return -value if sign == "-" else value

    def _power(self) -> Fraction:
        base = self._atom()
        while self._peek().kind == "%":
            self._next()
            base = _bounded(base / 100)
        if self._peek().kind != "^":
            return base
        operator = self._next()
        self._enter()
        exponent = self._signed()  # right-associative, and 2^-1 needs its sign
        self.depth -= 1
        return _raise(base, exponent, operator.position)

    def _atom(self) -> Fraction:
        token = self._next()
        if token.kind == "number":
            return token.value
        if token.kind == "(":
            self._enter()
            value = self._sum()
            self.depth -= 1
            if self._next().kind != ")":
                raise CalculatorError(f"missing ')' for the '(' at position {token.position}")
            return value
        if token.kind == "end":
            raise CalculatorError("incomplete expression: a number is missing at the end")
        raise CalculatorError(
            f"expected a number or '(' at position {token.position}, found {token.text!r}"
        )


def _raise(base: Fraction, exponent: Fraction, position: int) -> Fraction:
    """base^exponent, refused before computing when its size is sure to exceed the limit."""
    if exponent.denominator != 1:
        raise CalculatorError(
            f"the exponent of the power at position {position} is not a whole number; "
            "only whole-number powers are supported (they are exact)"
        )
    power = exponent.numerator
    if base == 0 and power < 0:
        raise CalculatorError(f"division by zero: 0 to a negative power at position {position}")
    if base == 0:
        return Fraction(1 if power == 0 else 0)
    if abs(base) == 1:  # any exponent is cheap: only its parity matters
        return base ** (power % 2)
    too_large = f"exponent too large (power at position {position})"
    bits = max(abs(base.numerator), base.denominator).bit_length()
    if abs(power) * (bits - 1) >= _LIMIT_BITS:  # the result is at least 2^(|power| * (bits-1))
        raise CalculatorError(f"{too_large}: numbers are limited to {MAX_DIGITS} digits")
    return _bounded(base**power, too_large)
