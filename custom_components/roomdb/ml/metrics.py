"""Evaluation metrics: TCPDBench changepoint F1 and covering, ECE, AUC, log loss, Brier.

The changepoint metrics follow van den Burg & Williams, "An Evaluation of Change Point Detection
Algorithms" (TCPDBench, analysis/scripts/metrics.py): changepoints are indices where a new segment
starts; index 0 is added to every annotation set and to the predictions; a prediction matches an
annotation within `margin` points, each prediction at most once. Precision is computed against the
union of all annotators' points, recall is averaged over annotators, and
F = P R / (alpha R + (1 - alpha) P) (alpha = 0.5 gives F1). Covering is the length-weighted best
Jaccard overlap of each true segment with a predicted segment, averaged over annotators.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Final

import numpy as np
import numpy.typing as npt

DEFAULT_MARGIN: Final = 5

type ArrayLike = npt.ArrayLike


@dataclass(frozen=True, slots=True)
class ChangepointScore:
    """F-measure with its precision and recall."""

    f1: float
    precision: float
    recall: float


def _true_positives(truth: Iterable[int], predictions: Iterable[int], margin: int) -> set[int]:
    """Annotated points matched by a distinct prediction within `margin` (closest first)."""
    remaining = set(predictions)
    matched: set[int] = set()
    for tau in sorted(set(truth)):
        close = sorted((abs(tau - x), x) for x in remaining if abs(tau - x) <= margin)
        if close:
            matched.add(tau)
            remaining.remove(close[0][1])
    return matched


def f_measure(
    annotations: Mapping[str, Sequence[int]],
    predictions: Iterable[int],
    *,
    margin: int = DEFAULT_MARGIN,
    alpha: float = 0.5,
) -> ChangepointScore:
    """TCPDBench F-measure for one or more annotators (keys are annotator ids)."""
    if not annotations:
        raise ValueError("need at least one annotator")
    per_annotator = [{0, *map(int, points)} for points in annotations.values()]
    predicted = {0, *map(int, predictions)}
    union = set().union(*per_annotator)
    precision = len(_true_positives(union, predicted, margin)) / len(predicted)
    recall = sum(
        len(_true_positives(points, predicted, margin)) / len(points) for points in per_annotator
    ) / len(per_annotator)
    if precision == 0.0 and recall == 0.0:
        return ChangepointScore(0.0, 0.0, 0.0)
    f1 = precision * recall / (alpha * recall + (1 - alpha) * precision)
    return ChangepointScore(f1, precision, recall)


def changepoint_f1(
    truth: Iterable[int], predictions: Iterable[int], *, margin: int = DEFAULT_MARGIN
) -> ChangepointScore:
    """TCPDBench F1 against a single annotation."""
    return f_measure({"truth": list(truth)}, predictions, margin=margin)


def _segments(changepoints: Iterable[int], n_obs: int) -> list[tuple[int, int]]:
    """Half-open segments [a, b) cut at the changepoints inside (0, n_obs)."""
    cuts = sorted({int(c) for c in changepoints if 0 < int(c) < n_obs})
    bounds = [0, *cuts, n_obs]
    return list(pairwise(bounds))


def _cover_single(truth: list[tuple[int, int]], predicted: list[tuple[int, int]]) -> float:
    total = 0.0
    n_obs = truth[-1][1]
    for a, b in truth:
        best = 0.0
        for c, d in predicted:
            inter = min(b, d) - max(a, c)
            if inter > 0:
                best = max(best, inter / ((b - a) + (d - c) - inter))
        total += (b - a) * best
    return total / n_obs


def covering(
    annotations: Mapping[str, Sequence[int]], predictions: Iterable[int], n_obs: int
) -> float:
    """TCPDBench covering metric, averaged over annotators."""
    if not annotations:
        raise ValueError("need at least one annotator")
    if n_obs < 1:
        raise ValueError("n_obs must be positive")
    predicted = _segments(predictions, n_obs)
    scores = [_cover_single(_segments(points, n_obs), predicted) for points in annotations.values()]
    return sum(scores) / len(scores)


def changepoint_covering(truth: Iterable[int], predictions: Iterable[int], n_obs: int) -> float:
    """TCPDBench covering against a single annotation."""
    return covering({"truth": list(truth)}, predictions, n_obs)


def expected_calibration_error(y_true: ArrayLike, prob: ArrayLike, *, n_bins: int = 10) -> float:
    """ECE: sum over equal-width probability bins of (bin share) x |mean(y) - mean(p)|.

    Bins are [0, 0.1), [0.1, 0.2), ..., [0.9, 1.0]; empty bins contribute nothing.
    """
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(prob, dtype=np.float64)
    if y.shape != p.shape or y.size == 0:
        raise ValueError("y_true and prob must be non-empty and of equal shape")
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    gap = np.abs(
        np.bincount(bins, weights=y, minlength=n_bins) - np.bincount(bins, p, minlength=n_bins)
    )
    # |sum(y) - sum(p)| / n over a bin equals share x |mean(y) - mean(p)|.
    return float(gap[counts > 0].sum() / y.size)


def _average_ranks(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """1-based ranks with ties given their average rank."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], values.size]
    average = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def roc_auc(y_true: ArrayLike, score: ArrayLike) -> float:
    """Area under the ROC curve via the Mann-Whitney U statistic (ties count one half)."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(score, dtype=np.float64)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs both classes")
    ranks = _average_ranks(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def log_loss(y_true: ArrayLike, prob: ArrayLike, *, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood of binary labels (probabilities clipped to [eps, 1-eps])."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.clip(np.asarray(prob, dtype=np.float64), eps, 1.0 - eps)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


def brier_score(y_true: ArrayLike, prob: ArrayLike) -> float:
    """Mean squared error of the probabilities."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(prob, dtype=np.float64)
    return float(np.mean((p - y) ** 2))
