"""Learned pre-generation routers: a cheap classifier that reads a problem's text, before any
model is called, and scores how much sending it to the strong model is worth.

The label a router learns is "only the strong model gets this right" (strong right, weak wrong):
the problems worth paying for. The classifier is logistic regression (scikit-learn) on TF-IDF
word and character n-grams of the question plus a few cheap features (its length, how many
numbers it holds, how many digits the largest has); nothing is downloaded. ``fit_router`` trains
on labelled problems and returns a ``LearnedRouter`` that scores new ones (the live
``strategy=learned_router`` uses it); ``learned_router_scores`` cross-fits: each problem is scored
by a router trained on the other folds only, so no score has seen its own label, and the scores
feed ``routing_curve`` and its APGR, CPT and AIQ like any router's.

Embeddings from a local model plug in as ``embed``: any function from a list of questions to a
``(n, d)`` float array (a sentence-transformers model's ``encode``, say). Its columns are used
beside the TF-IDF ones. Pure functions on arrays and strings: no store, no files, no model calls;
scikit-learn is imported on first use.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Unpack

import numpy as np
from numpy.typing import ArrayLike

from delegate.compare.analysis.arrays import outcomes, values
from delegate.compare.analysis.baselines import Bootstrap, paired_percentile_bootstrap
from delegate.errors import DelegateError

Embed = Callable[[Sequence[str]], ArrayLike]

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Logistic regression's inverse regularisation: mild, since a fold may hold few problems.
_C = 1.0


def cheap_features(questions: Sequence[str]) -> np.ndarray:
    """Per question: log length in characters and words, how many numbers it holds, and the
    digits of its longest number (hard problems tend to be longer and carry more numbers)."""
    rows = []
    for q in questions:
        numbers = _NUMBER.findall(q)
        longest = max((len(re.sub(r"\D", "", n)) for n in numbers), default=0)
        rows.append((np.log1p(len(q)), np.log1p(len(q.split())), len(numbers), longest))
    return np.asarray(rows, dtype=float).reshape(len(questions), 4)


@dataclass(frozen=True)
class LearnedRouter:
    """A fitted router: ``scores(questions)`` gives each question's probability that only the
    strong model answers it right. ``constant`` is set when the training labels were all one
    class (the share of positives is then every problem's score)."""

    model: Any  # a fitted scikit-learn Pipeline, or None with ``constant``
    embed: Embed | None = None
    constant: float | None = None

    def scores(self, questions: Sequence[str]) -> np.ndarray:
        """One score per question, in [0, 1]; higher: send to the strong model."""
        if self.constant is not None:
            return np.full(len(questions), self.constant)
        features = _table(questions, self.embed)
        return np.asarray(self.model.predict_proba(features)[:, 1], dtype=float)


def _table(questions: Sequence[str], embed: Embed | None) -> Any:
    """The raw inputs the pipeline's column transformer splits: the text, cheap features and
    (when given) embeddings, as one object array per row."""
    import pandas as pd

    frame = pd.DataFrame({"question": list(questions)})
    cheap = cheap_features(questions)
    for j in range(cheap.shape[1]):
        frame[f"cheap_{j}"] = cheap[:, j]
    if embed is not None:
        vectors = np.asarray(embed(list(questions)), dtype=float)
        if vectors.ndim != 2 or len(vectors) != len(questions):
            raise DelegateError(
                f"embed must return one row per question, got shape {vectors.shape} for "
                f"{len(questions)} questions"
            )
        for j in range(vectors.shape[1]):
            frame[f"embed_{j}"] = vectors[:, j]
    return frame


def _pipeline(columns: Sequence[str], seed: int) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.preprocessing import StandardScaler

    text = FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)),
        ]
    )
    numeric = [c for c in columns if c != "question"]
    features = ColumnTransformer([("text", text, "question"), ("num", StandardScaler(), numeric)])
    classifier = LogisticRegression(C=_C, max_iter=2000, random_state=seed)
    return Pipeline([("features", features), ("classifier", classifier)])


def labels(strong_correct: ArrayLike, weak_correct: ArrayLike) -> np.ndarray:
    """The label a router learns: 1 where the strong model is right and the weak one wrong
    (fractional outcomes, averaged over seeds, count where the strong one is ahead)."""
    strong = np.asarray(strong_correct, dtype=float)
    weak = np.asarray(weak_correct, dtype=float)
    return (strong > weak).astype(int)


def fit_router(
    questions: Sequence[str],
    strong_correct: ArrayLike,
    weak_correct: ArrayLike,
    *,
    seed: int = 0,
    embed: Embed | None = None,
) -> LearnedRouter:
    """A router trained on every given problem (see the module's docstring).

    Raises:
        DelegateError: No problems, or outcome arrays that do not match the questions.
    """
    n = len(questions)
    if n == 0:
        raise DelegateError("a learned router needs at least one training problem")
    y = labels(
        outcomes("strong_correct", strong_correct, n), outcomes("weak_correct", weak_correct, n)
    )
    if y.min() == y.max():  # one class: nothing to separate
        return LearnedRouter(None, embed, constant=float(y[0]))
    table = _table(questions, embed)
    model = _pipeline(list(table.columns), seed).fit(table, y)
    return LearnedRouter(model, embed)


def learned_router_scores(
    questions: Sequence[str],
    strong_correct: ArrayLike,
    weak_correct: ArrayLike,
    *,
    folds: int = 5,
    seed: int = 0,
    embed: Embed | None = None,
) -> np.ndarray:
    """Cross-fitted learned-router scores: one per problem, each from a router trained only on
    the other folds, so no problem is scored by a router that saw its label.

    Args:
        questions: The problems' texts.
        strong_correct: The strong model's correctness per problem (bool or a value in [0, 1]).
        weak_correct: The weak model's, aligned.
        folds: How many folds (at least 2; fewer when there are fewer distinct questions).
        seed: Seeds the fold split and the classifier.
        embed: Optional embeddings from a local model (see the module's docstring).

    Returns:
        Scores in [0, 1], aligned with ``questions``; higher: send to the strong model. Feed
        them to ``routing_curve`` with the two models' outcomes and costs.
    """
    n = len(questions)
    strong = outcomes("strong_correct", strong_correct, n)
    weak = outcomes("weak_correct", weak_correct, n)
    if folds < 2:
        raise DelegateError(f"folds must be at least 2, got {folds}")
    fold = fold_of(questions, folds, seed)
    if len(set(fold.tolist())) < 2:
        raise DelegateError(f"cross-fitting needs at least 2 distinct problems, got {n}")
    scores = np.zeros(n)
    for k in np.unique(fold):
        train, held_out = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        router = fit_router(
            [questions[int(i)] for i in train], strong[train], weak[train], seed=seed, embed=embed
        )
        scores[held_out] = router.scores([questions[int(i)] for i in held_out])
    return scores


def fold_of(questions: Sequence[str], folds: int, seed: int) -> np.ndarray:
    """Each problem's fold: distinct questions dealt at random (seeded) into ``folds`` folds
    (fewer when there are fewer questions), the same question (another seed's copy) always in
    the same fold, so no copy of a problem trains the router that scores it."""
    distinct = list(dict.fromkeys(questions))
    order = np.random.default_rng(seed).permutation(len(distinct))
    fold = {distinct[j]: rank % folds for rank, j in enumerate(order)}
    return np.array([fold[q] for q in questions], dtype=int)


def apgr_of(scores: np.ndarray, strong: np.ndarray, weak: np.ndarray) -> float:
    """``summaries.apgr`` of ``routing_curve(scores, strong, weak, ...)``, in numpy alone (the
    bootstrap computes it thousands of times): the trapezoid area under accuracy against the
    strong share, through one point per distinct score, less the weak accuracy, over the gap."""
    n = len(scores)
    gap = strong.mean() - weak.mean()
    if gap == 0:
        return math.nan
    order = np.argsort(-scores, kind="stable")
    gain = np.concatenate(([0.0], np.cumsum((strong - weak)[order])))
    _, counts = np.unique(scores, return_counts=True)
    moved = np.concatenate(([0], np.cumsum(counts[::-1])))
    share, accuracy = moved / n, (weak.sum() + gain[moved]) / n
    area = float(np.sum(np.diff(share) * (accuracy[1:] + accuracy[:-1]) / 2.0))
    return (area - weak.mean()) / gap


def apgr_against_random(
    scores: ArrayLike,
    strong_correct: ArrayLike,
    weak_correct: ArrayLike,
    **bootstrap: Unpack[Bootstrap],
) -> tuple[float, float, float]:
    """APGR minus the random mix's (0.5 on every sample of problems), with a paired bootstrap
    percentile interval (``baselines.paired_percentile_bootstrap``, from scipy): each resample
    draws problems with replacement, keeping each one's score and both outcomes together.
    Resamples without a gap between the models are skipped. ``bootstrap``: ``confidence``,
    ``resamples``, ``seed`` (see ``baselines.Bootstrap``). Returns (difference, low, high);
    low and high are NaN when no resample has a gap."""
    score = values("scores", scores)
    n = len(score)
    strong = outcomes("strong_correct", strong_correct, n)
    weak = outcomes("weak_correct", weak_correct, n)
    difference = float(apgr_of(score, strong, weak) - 0.5)
    low, high = paired_percentile_bootstrap(
        (score, strong, weak),
        _apgr_minus_half,
        vectorized=False,  # one curve per resample: apgr_of sorts each
        skip_nan=True,
        **bootstrap,
    )
    return difference, low, high


def _apgr_minus_half(scores: np.ndarray, strong: np.ndarray, weak: np.ndarray) -> float:
    return apgr_of(scores, strong, weak) - 0.5


def threshold_for_share(scores: ArrayLike, share: float) -> float:
    """The threshold at which ``score >= threshold`` sends (as near as ties allow, never more
    than) ``share`` of the problems to the strong model: the k-th highest score, k =
    floor(share * n); +inf when k is 0."""
    array = np.sort(np.asarray(scores, dtype=float))[::-1]
    if not 0.0 <= share <= 1.0:
        raise DelegateError(f"a share of strong-model calls must be in [0, 1], got {share}")
    k = int(np.floor(share * len(array) + 1e-9))
    if k == 0 or len(array) == 0:
        return float("inf")
    threshold = float(array[k - 1])
    if k < len(array) and array[k] == threshold:  # a tie straddles k: send fewer, not more
        above = array[array > threshold]
        return float(above[-1]) if len(above) else float("inf")
    return threshold
