"""A run's session in the store: its identity and tags, the run it continues, its budget, and the
files that say what ran, opened once the models are prepared.

Its params are the settings its strategy reads (``run_params``), not the whole config, so a run
shows only what could have changed its result; its name keeps the seed in view.

The configuration identity is computed after ``prepare()`` (backends resolve their devices and
files then). If an unfinished run of the same configuration and seed exists, it is reopened and
its finished records are kept (``delegate.resume``); its budget counts what it billed before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from delegate import identity, resume, tracking
from delegate.build import Models, run_identity
from delegate.config import ROLES
from delegate.outputs import BUDGET_FILE, RECORDS_FILE, write_config, write_identity, write_samples
from delegate.params import flatten, git_commit, redact
from delegate.plan import Plan
from delegate.resume import Previous
from delegate.secrets import scrub, scrub_config
from delegate.tags import (
    BATCH_IDS_TAG,
    CONFIG_ID_TAG,
    DATASET_TAG,
    ERROR_TAG,
    GIT_TAG,
    JOB_TAG,
    MAX_TAG_CHARS,
    OVERRIDES_TAG,
    OWNER_TAG,
    PARENT_TAG,
    PROMPT_TAG,
    RECORDS_TAG,
    RETRY_OF_TAG,
    SAMPLE_TAG,
    SEED_TAG,
    STOPPED_TAG,
    STRATEGY_TAG,
    SWEEP_TAG,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Session:
    """An open MLflow run (``run_id``) and what was prepared for it."""

    opening: Opening
    run_id: str

    @property
    def store(self) -> tracking.Store:
        return self.opening.store

    @property
    def config_id(self) -> str:
        return self.opening.config_id

    @property
    def tags(self) -> dict[str, str]:
        return self.opening.tags

    @property
    def previous(self) -> Previous | None:
        return self.opening.previous

    @property
    def run_dir(self) -> Path:
        return self.opening.run_dir

    def record_batches(self, batch_ids: str) -> None:
        """Keep the provider batches this run submitted on it, the moment one is created, so
        that the same command run again collects them instead of paying twice."""
        self.store.set_tags({BATCH_IDS_TAG: batch_ids})


def run_tags(plan: Plan, models: Models, config_id: str, run_dir: Path) -> dict[str, str]:
    config, used = plan.config, models.built()
    return {
        STRATEGY_TAG: config.strategy,
        "llm": used["llm"].name if "llm" in used else "none",
        "slm": used["slm"].name if "slm" in used else "none",
        PROMPT_TAG: config.prompts.name,
        DATASET_TAG: config.dataset.tag,
        SEED_TAG: str(config.seed),
        GIT_TAG: git_commit(),
        CONFIG_ID_TAG: config_id,
        SAMPLE_TAG: identity.problems_digest(plan.problems),
        RECORDS_TAG: str(run_dir / RECORDS_FILE),
        OWNER_TAG: resume.owner(),
    }


def _sweep_tags(store: tracking.Store, sweep: str | None, job: tuple[str, str] | None) -> dict:
    tags: dict[str, str] = {}
    if job is not None:
        tags[JOB_TAG], tags[OVERRIDES_TAG] = job[0], scrub(job[1])[:MAX_TAG_CHARS]
    if sweep is not None:
        tags[SWEEP_TAG] = sweep
        if parent := store.find_sweep_run(sweep):
            tags[PARENT_TAG] = parent
    return tags


def run_params(plain: Mapping[str, Any], strategy: str, roles: set[str]) -> dict[str, str]:
    """The params worth comparing runs by: the keys this strategy reads. Another strategy's
    section (``router.*`` on an slm run) and an unused model role's (``llm.*`` there) are left
    out, and of the prompt set only its name: the texts are in ``identity.json`` and the whole
    resolved config is the ``config.yaml`` artifact."""
    from delegate.strategies import STRATEGIES

    def read(key: str) -> bool:
        top = key.split(".", 1)[0]
        if top in ROLES:
            return top in roles
        if top in STRATEGIES:
            return top == strategy
        return top != "prompt" or key == "prompt.name"

    return {k: v for k, v in flatten(plain).items() if read(k)}


@dataclass(frozen=True)
class Opening:
    """What a session will open: the store, the identity, the tags, and the run it continues."""

    store: tracking.Store
    ident: dict
    config_id: str
    tags: dict[str, str]
    previous: Previous | None
    run_dir: Path

    @property
    def nothing_to_retry(self) -> bool:
        """``retry_errors`` on a finished run without errors: there is nothing to solve."""
        previous = self.previous
        return previous is not None and previous.finished and not previous.errored


def prepare_session(
    plan: Plan,
    models: Models,
    run_dir: Path,
    sweep: str | None = None,
    job: tuple[str, str] | None = None,
) -> Opening:
    """The identity (models prepared), the store and the run this one continues, if any."""
    config = plan.config
    ident = run_identity(config, models, plan.dataset)
    cid = identity.config_id(ident)
    store = tracking.open_store(config.tracking.uri, config.tracking.experiment)
    tags = run_tags(plan, models, cid, run_dir) | _sweep_tags(store, sweep, job)
    previous = None
    if config.resume:
        previous = resume.find_resumable(
            store, cid, config.seed, plan.problems, config.retry_errors
        )
    if previous is not None and previous.finished:
        tags[RETRY_OF_TAG] = previous.run_id
    return Opening(store, ident, cid, tags, previous, run_dir)


@contextmanager
def open_session(plan: Plan, models: Models, opening: Opening) -> Iterator[Session]:
    """Open the run (a new one, or the unfinished one it continues); it ends FINISHED when the
    body returns, FAILED (or KILLED, for an exception that says so) when it raises. A retry of a
    finished run (``retry_errors``) is a new run: the finished one is never changed."""
    config, previous, run_dir = plan.config, opening.previous, opening.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    models.budget.start(previous.spent_usd if previous else 0.0, run_dir / BUDGET_FILE)
    # The seed before the hash: sibling runs differ only in it, and the UI cuts long names short.
    name = f"{config.strategy}-{config.prompts.name}-seed{config.seed}-{opening.config_id[:6]}"
    reopened = previous.run_id if previous is not None and not previous.finished else None
    store = opening.store
    with store.run(name, opening.tags, run_id=reopened) as active:
        log.info(
            "MLflow run %s in experiment %r at %s",
            active,
            config.tracking.experiment,
            config.tracking.uri,
        )
        if reopened:  # it holds its params already (they cannot change); its stop is over
            store.delete_tags(active, STOPPED_TAG, ERROR_TAG)
        else:
            store.log_params(run_params(config.plain, config.strategy, set(models.built())))
        write_config(run_dir, redact(config.plain))
        document = identity.identity_document(opening.ident, asdict(config.prompts))
        write_identity(run_dir, scrub_config(document))
        write_samples(run_dir, plan.problems)
        yield Session(opening, active)
