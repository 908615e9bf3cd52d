"""Every MLflow tag name the project writes or searches on, in one place.

Runs are found again by these (resume by ``config_id`` and ``seed``, the report by ``sweep``), so
a name changed here changes what old runs can be matched with: treat them as published.
"""

CONFIG_ID_TAG = "config_id"  # 12 hex characters of the configuration identity's digest
SEED_TAG = "seed"
STRATEGY_TAG = "strategy"
PROMPT_TAG = "prompt"
LLM_TAG = "llm"  # the large model's name ("none" when the strategy uses none)
SLM_TAG = "slm"  # the small model's name ("none" when the strategy uses none)
DATASET_TAG = "dataset"  # <dataset.name>:<dataset.split>
SAMPLE_TAG = "sample_sha256"  # digest of the sampled problems
GIT_TAG = "git_commit"
RECORDS_TAG = "delegate.records"  # the path of the run's per_sample.jsonl, for resume
OWNER_TAG = "delegate.owner"  # host:pid of the process running it
SWEEP_TAG = "sweep"  # every run of one multirun carries the same value
ROLE_TAG = "delegate.role"  # "sweep" on the parent run that groups a multirun's runs
JOB_TAG = "sweep_job"  # a sweep's job number (Hydra's job.num), on every run of a multirun
OVERRIDES_TAG = "overrides"  # a job's command-line overrides
RETRY_OF_TAG = "retry_of"  # on a retry_errors run: the finished run whose errors it solves again
STOPPED_TAG = "stopped"  # "budget" on a run its budget stopped; removed when it continues
ERROR_TAG = "error"
BATCH_IDS_TAG = "batch_ids"  # the provider batches a run submitted (llm.batch=true), a,b,...
PARENT_TAG = "mlflow.parentRunId"

MAX_TAG_CHARS = 5000  # what the project keeps of a long tag value (an error, the overrides)
