"""Problems: where they come from and which ones a run sees.

The shipped test sets (``svamp``, ``gsm8k``, ``gsm-hard``, ``math500``, the offline ``mini``;
``shipped.py``), GSM8K from the hub (``hub.py``), a stratified mixture of the four (``mixed``;
``mixed.py``) and your own JSONL file (``jsonl``; ``custom.py``), each registered by its
``dataset.loader`` name. A problem keeps its line index in its source file as its id, and the
sample is a pure function of (dataset, split, samples, seed), so every strategy, model and prompt
sees the same problems.
"""

from delegate.data import code, custom, mixed, shipped
from delegate.data.loaders import DATASETS, Problem, load_problems
from delegate.data.sampling import Mixture, draw_sample
from delegate.data.shipped import SOURCES

__all__ = [
    "DATASETS",
    "SOURCES",
    "Mixture",
    "Problem",
    "code",
    "custom",
    "draw_sample",
    "load_problems",
    "mixed",
    "shipped",
]
