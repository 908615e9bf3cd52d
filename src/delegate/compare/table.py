"""Per-configuration numbers: the report's runs grouped by configuration, once, and each
configuration's pooled figures and labels.

A configuration (``config_id``) pools every seed's records; its ``Summary`` comes from
``metrics.aggregate`` on the pooled records, so it means what a run's metrics mean. Its label
names its strategy, models and prompt set, plus every setting whose value differs between the
compared configurations (``router.max_tool_calls=1``); configurations whose labels coincide (they
differ in prompt texts, say) get their id. Problems pair across configurations only when their
seed, id and text are the same (``Key``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from delegate.compare.analysis.intervals import proportion_interval
from delegate.identity import alone_identity, config_id, flatten, varying_settings
from delegate.metrics import aggregate, failed
from delegate.records import ProblemRecord
from delegate.tags import LLM_TAG, PROMPT_TAG, SLM_TAG, STRATEGY_TAG

if TYPE_CHECKING:  # the table works on what ``runs`` loaded, without the store
    from delegate.compare.runs import Loaded, RunResult

Key = tuple[str, int, str]  # (seed, problem_id, question)

# The reference study's unit of cost (its results table priced 150 problems).
PROBLEMS_PER_BATCH = 150
_STRATEGY_ORDER = {"llm": 0, "router": 1, "cascade": 2, "learned_router": 3, "slm": 4}


@dataclass(frozen=True)
class Summary:
    """A configuration's numbers over all its runs' problems, pooled (every seed counts)."""

    seeds: str
    runs: int
    problems: int
    accuracy: float
    accuracy_ci_low: float
    accuracy_ci_high: float
    accuracy_strict: float
    cost_per_problem_usd: float
    cost_per_150_usd: float
    llm_input_tokens_per_problem: float
    llm_output_tokens_per_problem: float
    slm_input_tokens_per_problem: float
    slm_output_tokens_per_problem: float
    latency_p50_s: float
    latency_p95_s: float
    tool_calls_per_problem: float
    delegation_rate: float
    errors: int
    tool_errors: int
    tool_error_rate: float
    truncated: int
    # the share of answers each extraction rule read (``records.extracted_by``; ``unrecorded``
    # for rows without it), rules that read none left out: a result resting on fallbacks shows
    extracted_by: dict[str, float]


def seed_order(seed: str) -> tuple[int, str]:
    """Seeds in numeric order, where they are numbers."""
    return (int(seed), "") if seed.lstrip("-").isdigit() else (0, seed)


def summarize(runs: Sequence[RunResult]) -> Summary:
    """The pooled numbers of one configuration's runs."""
    records = [p for r in runs for p in r.records]
    n = len(records)
    m = aggregate(records)
    low, high = proportion_interval(sum(p.correct for p in records), n)
    cost = m["cost_usd"] / n
    return Summary(
        seeds=" ".join(sorted({r.seed for r in runs}, key=seed_order)),
        runs=len(runs),
        problems=n,
        accuracy=m["accuracy"],
        accuracy_ci_low=low,
        accuracy_ci_high=high,
        accuracy_strict=m["accuracy_strict"],
        cost_per_problem_usd=cost,
        cost_per_150_usd=cost * PROBLEMS_PER_BATCH,
        llm_input_tokens_per_problem=m["llm_input_tokens"] / n,
        llm_output_tokens_per_problem=m["llm_output_tokens"] / n,
        slm_input_tokens_per_problem=m["slm_input_tokens"] / n,
        slm_output_tokens_per_problem=m["slm_output_tokens"] / n,
        latency_p50_s=m["latency_p50_s"],
        latency_p95_s=m["latency_p95_s"],
        tool_calls_per_problem=m["tool_calls_per_problem"],
        delegation_rate=m["delegation_rate"],
        errors=sum(failed(p) for p in records),
        tool_errors=int(m["tool_errors"]),
        tool_error_rate=m["tool_error_rate"],
        truncated=int(m["n_truncated"]),
        extracted_by={
            name.partition("/")[2]: share
            for name, share in m.items()
            if name.startswith("extracted_by/") and share > 0
        },
    )


@dataclass(frozen=True)
class Configuration:
    """One configuration of the report: its runs (oldest first), identity document, pooled
    records by ``Key``, numbers, labels and the values of the settings that vary."""

    config_id: str
    runs: tuple[RunResult, ...]
    document: Mapping[str, Any]
    by_key: Mapping[Key, ProblemRecord]
    summary: Summary
    label: str  # the full label: strategy, models, prompt set, varying settings
    short_label: str  # strategy and varying settings only, for the pictures
    settings: Mapping[str, Any]  # each varying setting's value here (None: it has none)

    @property
    def tags(self) -> dict[str, str]:
        """The newest run's label tags (``runs.LABEL_TAGS``)."""
        return self.runs[-1].tags

    @property
    def strategy(self) -> str:
        return self.tags[STRATEGY_TAG]

    @property
    def records(self) -> list[ProblemRecord]:
        """Every seed's records, pooled."""
        return [p for r in self.runs for p in r.records]

    def alone_id(self, role: str) -> str | None:
        """The ``config_id`` of the run where ``role``'s model answers alone under this
        configuration's settings; None when it does not use that model."""
        wanted = alone_identity(self.document, role)
        return None if wanted is None else config_id(wanted)

    @property
    def pair(self) -> str:
        """The (large, small) model pair, as the curves name it."""
        return f"{self.tags[LLM_TAG]} + {self.tags[SLM_TAG]}"


def by_key(runs: Iterable[RunResult]) -> dict[Key, ProblemRecord]:
    """Records by (seed, problem_id, question)."""
    return {(r.seed, p.problem_id, p.question): p for r in runs for p in r.records}


def _labels(tags: Mapping[str, str], settings: Mapping[str, Any]) -> tuple[str, str]:
    """The full label and a short one (strategy and settings only, for the picture)."""
    strategy, llm, slm = tags[STRATEGY_TAG], tags[LLM_TAG], tags[SLM_TAG]
    models = {"llm": llm, "slm": slm}.get(strategy, f"{llm} + {slm}")
    extra = ", ".join(f"{k}={v}" for k, v in settings.items())
    label = f"{strategy} ({models}, {tags[PROMPT_TAG]}" + (f"; {extra})" if extra else ")")
    return label, " | ".join([strategy, *(f"{k}={v}" for k, v in settings.items())])


def configurations(loaded: Loaded) -> tuple[dict[str, Configuration], list[str]]:
    """The loaded runs grouped by configuration (the one grouping; in order of first run), and
    the settings that vary between the configurations (one column each in the report)."""
    groups: dict[str, list[RunResult]] = {}
    for r in loaded.runs:
        groups.setdefault(r.config_id, []).append(r)
    settings = varying_settings(loaded.documents[cid]["identity"] for cid in groups)
    labels: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for cid, runs in groups.items():
        flat = flatten(loaded.documents[cid]["identity"])
        own = {k: flat[k] for k in settings if k in flat}
        labels[cid] = (*_labels(runs[-1].tags, own), {k: own.get(k) for k in settings})
    seen: dict[str, int] = {}
    for label, _, _ in labels.values():
        seen[label] = seen.get(label, 0) + 1
    configs = {}
    for cid, runs in groups.items():
        label, short, values = labels[cid]
        if seen[label] > 1:
            label, short = f"{label} [{cid[:6]}]", f"{short} [{cid[:6]}]"
        configs[cid] = Configuration(
            config_id=cid,
            runs=tuple(runs),
            document=loaded.documents[cid],
            by_key=by_key(runs),
            summary=summarize(runs),
            label=label,
            short_label=short,
            settings=values,
        )
    return configs, settings


def report_order(configs: Iterable[Configuration]) -> list[Configuration]:
    """LLM-only first, then the mixes (router, cascade, learned router), then SLM-only; by
    label within."""
    return sorted(configs, key=lambda c: (_STRATEGY_ORDER.get(c.strategy, 9), c.label))
