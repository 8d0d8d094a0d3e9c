"""The sleep model's held-out metrics: ECE, AUC, log loss, Brier (pure numpy).

Training reports them with every run. The changepoint scores the tests and benchmarks use live in
``bench/changepoint_metrics.py``: nothing in Home Assistant needs them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

type ArrayLike = npt.ArrayLike


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
