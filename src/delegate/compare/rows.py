"""The comparison row: one configuration with its numbers, its references and the curves it lies
on, built in one place (``comparison_rows``) and flattened once into the report's columns
(``ComparisonRow.cells``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from delegate.compare.fixed import ROUTED, BestFixed, best_fixed
from delegate.compare.references import (
    AgainstMix,
    Baselines,
    VersusLlm,
    against_mix,
    baselines,
    describe,
    reference,
    versus_llm,
)
from delegate.compare.runs import LABEL_TAGS
from delegate.compare.table import Configuration, report_order

if TYPE_CHECKING:  # rows only read the curves' summaries
    from delegate.compare.families import Curve

_VERSUS_COLUMNS = tuple(f"vs_llm_{name}" for name in VersusLlm.__dataclass_fields__)
_BASELINE_COLUMNS = tuple(Baselines.__dataclass_fields__)
# The columns of ``comparison.csv`` every report has (then ``ROW_COLUMNS``, then one per setting
# that varies between the configurations).
COLUMNS = (
    "configuration",
    "config_id",
    *LABEL_TAGS,
    "seeds",
    "runs",
    "problems",
    "accuracy",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "accuracy_strict",
    "cost_per_problem_usd",
    "cost_per_150_usd",
    "llm_input_tokens_per_problem",
    "llm_output_tokens_per_problem",
    "slm_input_tokens_per_problem",
    "slm_output_tokens_per_problem",
    "latency_p50_s",
    "latency_p95_s",
    "tool_calls_per_problem",
    "delegation_rate",
    "escalation_rate",
    "errors",
    "tool_errors",
    "tool_error_rate",
    "truncated",
    "extracted_by",
    "llm_reference",
    *_VERSUS_COLUMNS,
    "slm_reference",
    *_BASELINE_COLUMNS,
)
# A router or cascade row's PGR and its test against the random mix, then the best fixed model
# at its cost and the test against it (None on the other rows).
ROW_COLUMNS = (*AgainstMix.__dataclass_fields__, *BestFixed.__dataclass_fields__)
# Where a row's cells keep the summaries of the curves it lies on (for the Markdown tables).
CURVES_KEY = "curves"


@dataclass(frozen=True)
class ComparisonRow:
    """One configuration, set against its references. The parts that do not apply are None:
    ``versus`` on LLM-only itself or without an LLM-only reference, ``slm_reference`` on
    LLM-only, ``baselines`` without both references, ``against_mix`` and ``best_fixed`` off
    routers, cascades and learned routers."""

    config: Configuration
    llm_reference: str
    slm_reference: str | None
    versus: VersusLlm | None
    baselines: Baselines | None
    against_mix: AgainstMix | None
    best_fixed: BestFixed | None
    curves: tuple[Mapping[str, Any], ...]  # the summaries of the curves it lies on

    @property
    def strategy(self) -> str:
        return self.config.strategy

    def cells(self) -> dict[str, Any]:
        """The row as the report's columns (and ``short_label``, ``CURVES_KEY``)."""
        c = self.config
        versus = asdict(self.versus) if self.versus else {}
        mix = asdict(self.baselines) if self.baselines else {}
        tested = asdict(self.against_mix) if self.against_mix else {}
        tested |= asdict(self.best_fixed) if self.best_fixed else {}
        return {
            "configuration": c.label,
            "short_label": c.short_label,
            "config_id": c.config_id,
            **c.tags,
            **asdict(c.summary),
            # A cascade's share sent to the large model; 0 for strategies that never escalate.
            "escalation_rate": sum(p.escalated for p in c.records) / max(len(c.records), 1),
            "llm_reference": self.llm_reference,
            **{f"vs_llm_{k}": versus.get(k) for k in VersusLlm.__dataclass_fields__},
            "slm_reference": self.slm_reference,
            **{k: mix.get(k) for k in _BASELINE_COLUMNS},
            **dict(c.settings),
            **{k: tested.get(k) for k in ROW_COLUMNS},
            CURVES_KEY: [dict(s) for s in self.curves],
        }


def comparison_row(
    config: Configuration, configs: Mapping[str, Configuration], curves: Sequence[Curve]
) -> ComparisonRow:
    """``config`` against its references, with the summaries of the curves it lies on."""
    cid = config.config_id
    llm = reference(config, configs, "llm")
    slm = reference(config, configs, "slm") if config.strategy != "llm" else None
    own_llm = llm is not None and llm.config_id != cid
    versus = versus_llm(config, configs[llm.config_id]) if llm and own_llm else None
    mix = None
    if llm and slm and own_llm and slm.config_id != cid:
        mix = baselines(config, configs[llm.config_id], configs[slm.config_id])
    routed = config.strategy in ROUTED
    tested = against_mix(config, configs) if routed else None
    return ComparisonRow(
        config=config,
        llm_reference=describe(llm, configs),
        slm_reference=describe(slm, configs) if config.strategy != "llm" else None,
        versus=versus,
        baselines=mix,
        against_mix=tested,
        best_fixed=best_fixed(config, configs),
        curves=tuple(c.summary for c in curves if cid in c.config_ids),
    )


def comparison_rows(
    configs: Mapping[str, Configuration], curves: Sequence[Curve]
) -> list[ComparisonRow]:
    """Every configuration's row: LLM-only first, then the mixes, then SLM-only."""
    return [comparison_row(c, configs, curves) for c in report_order(configs.values())]
