"""Changepoint scores for tests and benchmarks: TCPDBench F1 and covering.

They follow van den Burg & Williams, "An Evaluation of Change Point Detection Algorithms"
(TCPDBench, analysis/scripts/metrics.py): changepoints are indices where a new segment starts;
index 0 is added to every annotation set and to the predictions; a prediction matches an
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

DEFAULT_MARGIN: Final = 5


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
