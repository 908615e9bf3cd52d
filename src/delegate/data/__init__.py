"""Problems: where they come from (GSM8K, the packaged ``mini`` set) and which ones a run sees.

A problem keeps its line index in the source split as its id, and the sample is a pure function of
(dataset, split, samples, seed), so every strategy, model and prompt sees the same problems.
"""

from delegate.data.loaders import DATASETS, Problem, load_problems
from delegate.data.sampling import draw_sample

__all__ = ["DATASETS", "Problem", "draw_sample", "load_problems"]
