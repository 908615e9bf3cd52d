"""Token usage and prices, turned into dollars by code (never by hand).

Prices are data (USD per 1M tokens, from each model's config file). Cached input tokens are part of
``input_tokens`` as the OpenAI API reports them, and are billed at the cached rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from delegate.errors import ConfigError

_PER = 1_000_000  # prices are USD per this many tokens
DEFAULT_BATCH_DISCOUNT = 0.5  # OpenAI's Batch API: half the list price


@dataclass(frozen=True)
class Usage:
    """Tokens one or more model calls consumed, as reported by the backend or its tokenizer."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    calls: int = field(default=0)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.output_tokens + other.output_tokens,
            self.calls + other.calls,
        )


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens."""

    input: float = 0.0
    cached_input: float = 0.0
    output: float = 0.0

    @classmethod
    def from_config(cls, cfg: Any, where: str, batch: bool = False) -> Price:
        """Build from a ``price`` mapping, naming the config key on bad values. With ``batch``
        (calls sent through a Batch API) every rate is multiplied by ``batch_discount``
        (default 0.5: OpenAI's batch price is half its list price)."""
        values = dict(cfg or {})
        unknown = set(values) - {"input", "cached_input", "output", "batch_discount"}
        if unknown:
            raise ConfigError(f"unknown price key(s) {sorted(unknown)} <{where}.price>")
        discount = values.pop("batch_discount", DEFAULT_BATCH_DISCOUNT)
        try:
            price = cls(**{k: float(v) for k, v in values.items()})
            discount = float(discount)
        except (TypeError, ValueError):
            raise ConfigError(
                f"prices must be numbers (USD per 1M tokens) <{where}.price>"
            ) from None
        if min(price.input, price.cached_input, price.output) < 0:
            raise ConfigError(f"prices cannot be negative <{where}.price>")
        if not 0 < discount <= 1:  # NaN fails this too
            raise ConfigError(
                f"the batch discount is a share of the price above 0 and at most 1, got "
                f"{discount!r} <{where}.price.batch_discount>"
            )
        return price.times(discount) if batch else price

    def times(self, share: float) -> Price:
        """Every rate multiplied by ``share`` (a discount)."""
        return Price(self.input * share, self.cached_input * share, self.output * share)

    def input_cost_usd(self, tokens: int | float, cached_tokens: int | float = 0) -> float:
        """Dollars for ``tokens`` input tokens, ``cached_tokens`` of them at the cached rate."""
        return ((tokens - cached_tokens) * self.input + cached_tokens * self.cached_input) / _PER

    def output_cost_usd(self, tokens: int | float) -> float:
        """Dollars for ``tokens`` output tokens."""
        return tokens * self.output / _PER

    def cost_usd(self, usage: Usage) -> float:
        """Dollars for ``usage``: uncached input, cached input and output at their own rates.

        With ``input_cost_usd`` and ``output_cost_usd`` (the halves, for estimates that know only
        one side), the one place tokens become dollars. One division, so a cost is the same
        float however it is summed.
        """
        uncached = usage.input_tokens - usage.cached_input_tokens
        return (
            uncached * self.input
            + usage.cached_input_tokens * self.cached_input
            + usage.output_tokens * self.output
        ) / _PER
