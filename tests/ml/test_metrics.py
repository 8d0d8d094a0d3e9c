"""Metrics against TCPDBench's published examples, hand computations and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from bench.changepoint_metrics import changepoint_covering, changepoint_f1, covering, f_measure
from custom_components.roomdb.ml.metrics import (
    brier_score,
    expected_calibration_error,
    log_loss,
    roc_auc,
)

ANNOTATIONS = {"1": [10, 20], "2": [11, 20], "3": [10], "4": [0, 5]}


def test_f_measure_tcpdbench_examples() -> None:
    assert f_measure(ANNOTATIONS, [10, 20]).f1 == pytest.approx(1.0)
    assert f_measure(ANNOTATIONS, [10]).f1 == pytest.approx(0.9090909090909091)
    # Only the start point: P = 1, R = mean(1/3, 1/3, 1/2, 1/2) = 5/12.
    only_start = f_measure(ANNOTATIONS, [0])
    assert (only_start.precision, only_start.recall) == pytest.approx((1.0, 5 / 12))
    assert only_start.f1 == pytest.approx(2 * (5 / 12) / (1 + 5 / 12))


def test_covering_tcpdbench_examples() -> None:
    assert covering({"1": [10, 20], "2": [10], "3": [0, 5]}, [10, 20], 45) == pytest.approx(
        0.7962962962962963
    )
    assert covering({"1": [], "2": [10], "3": [40]}, [10], 45) == pytest.approx(0.7954144620811286)
    assert covering({"1": [], "2": [10], "3": [40]}, [], 45) == pytest.approx(0.8189300411522634)


def test_f1_margin_and_single_use_of_predictions() -> None:
    assert changepoint_f1([50], [55]).f1 == 1.0  # within the margin of 5
    late = changepoint_f1([50], [56])  # 6 away: only the start point matches
    assert (late.precision, late.recall, late.f1) == (0.5, 0.5, 0.5)
    # One prediction cannot match two annotations: R = 2/3 (0 and 10), P = 1.
    shared = changepoint_f1([10, 12], [11])
    assert (shared.precision, shared.recall) == pytest.approx((1.0, 2 / 3))
    assert shared.f1 == pytest.approx(0.8)
    # Extra predictions cost precision.
    noisy = changepoint_f1([100], [100, 300, 500])
    assert (noisy.precision, noisy.recall) == (0.5, 1.0)
    assert changepoint_f1([], []).f1 == 1.0
    with pytest.raises(ValueError):
        f_measure({}, [1])


def test_covering_by_hand() -> None:
    assert changepoint_covering([50], [50], 100) == 1.0
    # Truth [0,50) [50,100) against one segment: Jaccard 1/2 each.
    assert changepoint_covering([50], [], 100) == 0.5
    # Truth [0,100) against [0,40) [40,100): best overlap 0.6 for all 100 points.
    assert changepoint_covering([], [40], 100) == pytest.approx(0.6)
    # Out-of-range and duplicate predictions are ignored.
    assert changepoint_covering([50], [0, 50, 50, 100, 150], 100) == 1.0
    with pytest.raises(ValueError):
        covering({"a": [1]}, [1], 0)


def test_ece_by_hand() -> None:
    y = [0, 1, 0, 1]
    p = [0.05, 0.15, 0.15, 0.95]
    # Bins: 0 -> |0 - .05| x 1/4, 1 -> |.5 - .15| x 2/4, 9 -> |1 - .95| x 1/4.
    assert expected_calibration_error(y, p) == pytest.approx(0.0125 + 0.175 + 0.0125)
    assert expected_calibration_error([1, 1], [1.0, 1.0]) == 0.0  # p = 1 lands in the last bin
    assert expected_calibration_error([0, 1], [0.5, 0.5]) == 0.0
    assert expected_calibration_error([0, 1], [0.5, 0.5], n_bins=1) == 0.0
    with pytest.raises(ValueError):
        expected_calibration_error([0, 1], [0.5])


def test_auc_with_ties_matches_sklearn() -> None:
    sk_metrics = pytest.importorskip("sklearn.metrics")
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = rng.integers(0, 7, 500).astype(float) + y * 0.8  # many ties
    assert roc_auc(y, s) == pytest.approx(sk_metrics.roc_auc_score(y, s), abs=1e-12)
    with pytest.raises(ValueError):
        roc_auc([1, 1], [0.2, 0.3])


def test_log_loss_and_brier_match_sklearn() -> None:
    sk_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    p = rng.uniform(0.01, 0.99, 300)
    assert log_loss(y, p) == pytest.approx(sk_metrics.log_loss(y, p), rel=1e-12)
    assert brier_score(y, p) == pytest.approx(sk_metrics.brier_score_loss(y, p), rel=1e-12)
