"""GSM8K from the Hugging Face hub (``dataset=gsm8k dataset.hub=true``), for users who prefer it
to the packaged copy; nothing else reaches the network for data."""

from __future__ import annotations

import json

from delegate.errors import ConfigError


def load_gsm8k_from_hub(split: str, revision: str) -> tuple[str, str]:
    """The ``main`` config's ``split`` of ``openai/gsm8k`` at ``revision``, as GSM8K-format JSONL
    text, and its name for messages."""
    try:
        import pyarrow.parquet as pq
        from huggingface_hub import hf_hub_download

        file = hf_hub_download(
            "openai/gsm8k",
            f"main/{split}-00000-of-00001.parquet",
            repo_type="dataset",
            revision=revision,
        )
        rows = pq.read_table(file).to_pylist()
    except ImportError as e:
        raise ConfigError(
            f"loading GSM8K from the hub needs {e.name}; or set dataset.hub=false to use the "
            "packaged test split, or dataset.path to a local JSONL file"
        ) from None
    except Exception as e:  # any hub or network failure: the fix is the same for the user
        raise ConfigError(
            f"could not download openai/gsm8k ({type(e).__name__}); set dataset.hub=false to use "
            "the packaged test split, or dataset.path to a local GSM8K JSONL file"
        ) from None
    return "\n".join(json.dumps(r) for r in rows), f"openai/gsm8k@{revision}:{split}"
