"""CLR held against scikit-learn, artifact round trip, training gates, household results."""

from __future__ import annotations

from datetime import date, timedelta
import json

import numpy as np
import pytest

from custom_components.roomdb.ml import metrics
from custom_components.roomdb.ml.clr import (
    ClrArtifact,
    ClrConfig,
    NotReady,
    Scaler,
    apply_platt,
    check_training_gates,
    decision_function,
    fit_calibrated_logistic,
    fit_logistic,
    fit_naive_bayes,
    fit_platt,
    predict_proba,
    train_clr,
)
from custom_components.roomdb.ml.features import HOME_ROOM_ID
from custom_components.roomdb.ml.pairing import PairedDataset, interleaved_group_folds, pair_windows

from .household import household, household_features

sklearn = pytest.importorskip("sklearn")
from sklearn.calibration import CalibratedClassifierCV, _sigmoid_calibration  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.naive_bayes import BernoulliNB  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

ROOMS = (HOME_ROOM_ID, "bedroom", "living_room")


def synthetic(n: int = 3000, d: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * rng.uniform(0.2, 5.0, d) + rng.normal(0, 3, d)
    x[:, 0] = np.round(x[:, 0])  # a count-like column with ties
    w = rng.normal(size=d)
    logits = ((x - x.mean(0)) / x.std(0)) @ w - 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logits))).astype(np.int64)
    return x, y


def sk_lr(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, tol=1e-12, max_iter=10_000)


def test_scaler_matches_standard_scaler() -> None:
    x, _ = synthetic()
    x[:, 3] = 7.25  # constant column: scale 1 like scikit-learn
    ours = Scaler.fit(x)
    ref = StandardScaler().fit(x)
    np.testing.assert_allclose(ours.mean, ref.mean_, rtol=1e-13)
    np.testing.assert_allclose(ours.scale, ref.scale_, rtol=1e-13)
    assert ours.scale[3] == 1.0
    np.testing.assert_allclose(ours.transform(x), ref.transform(x), atol=1e-12)


@pytest.mark.parametrize("c", [0.01, 1.0, 100.0])
def test_logistic_matches_sklearn(c: float) -> None:
    x, y = synthetic()
    xs = StandardScaler().fit_transform(x)
    ours = fit_logistic(xs, y, c)
    ref = sk_lr(c).fit(xs, y)
    assert ours.converged
    np.testing.assert_allclose(ours.coef, ref.coef_[0], rtol=1e-5)
    assert ours.intercept == pytest.approx(ref.intercept_[0], rel=1e-5, abs=1e-8)
    p_ours = 1 / (1 + np.exp(-(xs @ ours.coef + ours.intercept)))
    np.testing.assert_allclose(p_ours, ref.predict_proba(xs)[:, 1], atol=1e-7)


def test_logistic_on_separable_data_stays_finite_and_matches() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] + 0.3 * x[:, 1] > 0).astype(np.int64)
    ours = fit_logistic(x, y, 10.0)
    ref = sk_lr(10.0).fit(x, y)
    assert np.all(np.isfinite(ours.coef))
    np.testing.assert_allclose(ours.coef, ref.coef_[0], rtol=1e-5)


def test_intercept_is_not_penalised() -> None:
    # With no informative features the intercept is the base-rate log-odds for any C.
    y = np.array([1] * 30 + [0] * 70)
    x = np.zeros((100, 2))
    fit = fit_logistic(x, y, 1e-4)
    assert fit.intercept == pytest.approx(np.log(0.3 / 0.7), abs=1e-9)
    with pytest.raises(ValueError):
        fit_logistic(x, y, 0.0)


def test_platt_matches_sklearn() -> None:
    rng = np.random.default_rng(2)
    f = rng.normal(size=2000) * 3
    y = (rng.random(2000) < 1 / (1 + np.exp(-0.7 * f + 0.4))).astype(np.int64)
    a, b = fit_platt(f, y)
    ref_a, ref_b = _sigmoid_calibration(f, y)
    assert a == pytest.approx(ref_a, rel=1e-4)
    assert b == pytest.approx(ref_b, abs=1e-4)
    np.testing.assert_allclose(apply_platt(f, a, b), 1 / (1 + np.exp(ref_a * f + ref_b)), atol=1e-6)


def test_weighted_logistic_matches_sklearn_sample_weight() -> None:
    x, y = synthetic()
    xs = StandardScaler().fit_transform(x)
    weight = np.random.default_rng(5).uniform(0.05, 2.0, y.size)
    ours = fit_logistic(xs, y, 0.3, sample_weight=weight)
    ref = sk_lr(0.3).fit(xs, y, sample_weight=weight)
    assert ours.converged
    np.testing.assert_allclose(ours.coef, ref.coef_[0], rtol=1e-5)
    assert ours.intercept == pytest.approx(ref.intercept_[0], rel=1e-5, abs=1e-8)
    # Unit weights are no weights.
    same = fit_logistic(xs, y, 0.3, sample_weight=np.ones(y.size))
    np.testing.assert_allclose(same.coef, fit_logistic(xs, y, 0.3).coef, rtol=1e-12)


def test_weighted_platt_matches_sklearn() -> None:
    rng = np.random.default_rng(6)
    f = rng.normal(size=1500) * 2
    y = (rng.random(1500) < 1 / (1 + np.exp(-1.1 * f))).astype(np.int64)
    weight = rng.uniform(0.1, 3.0, f.size)
    a, b = fit_platt(f, y, sample_weight=weight)
    ref_a, ref_b = _sigmoid_calibration(f, y, weight)
    assert a == pytest.approx(ref_a, rel=1e-4)
    assert b == pytest.approx(ref_b, abs=1e-4)


def test_night_weights_let_recent_nights_decide() -> None:
    # The same feature means asleep in the first 20 nights and awake in the last 6.
    rng = np.random.default_rng(8)
    nights = 26
    groups = np.repeat(np.arange(nights), 40).astype(np.int64)
    signal = rng.normal(size=groups.size)
    recent = groups >= 20
    y = ((signal > 0) ^ recent).astype(np.int64)
    x = np.column_stack([signal, rng.normal(size=groups.size)])
    data = PairedDataset(
        feature_names=("signal", "noise"),
        feature_set_version=2,
        x=x,
        y=y,
        groups=groups,
        window_start=np.arange(groups.size, dtype=np.float64),
        night_dates=tuple(date(2026, 1, 1) + timedelta(days=i) for i in range(nights)),
    )
    config = ClrConfig(min_nights=10, min_rows=100, validation_nights=3)
    weights = [0.05] * 20 + [1.0] * 6
    plain = train_clr(data, config)
    weighted = train_clr(data, config, weights)
    assert isinstance(plain, ClrArtifact)
    assert isinstance(weighted, ClrArtifact)
    assert plain.coef[0] > 0  # most nights say: signal means asleep
    assert weighted.coef[0] < 0  # the recent routine wins
    assert weighted.metrics["auc"] > 0.9  # held-out nights are recent ones


def test_calibrated_model_matches_calibrated_classifier_cv() -> None:
    x, y = synthetic(n=2400)
    groups = np.repeat(np.arange(24), 100).astype(np.int64)
    folds = interleaved_group_folds(groups, 5)
    ours = fit_calibrated_logistic(x, y, folds, 0.5)
    ref = CalibratedClassifierCV(
        make_pipeline(StandardScaler(), sk_lr(0.5)), method="sigmoid", ensemble=False, cv=folds
    ).fit(x, y)
    np.testing.assert_allclose(ours.predict_proba(x), ref.predict_proba(x)[:, 1], atol=1e-6)
    inner = ref.calibrated_classifiers_[0].estimator[-1]
    np.testing.assert_allclose(ours.fit.coef, inner.coef_[0], rtol=1e-5)


def test_naive_bayes_matches_bernoulli_nb() -> None:
    x, y = synthetic()
    ours = fit_naive_bayes(x, y)
    ref = BernoulliNB(alpha=1.0, binarize=0.0).fit(x, y)
    np.testing.assert_allclose(ours.predict_proba(x), ref.predict_proba(x)[:, 1], atol=1e-12)
    thresholds = np.linspace(-1, 1, x.shape[1])
    custom = fit_naive_bayes(x, y, thresholds=thresholds, alpha=0.5)
    ref = BernoulliNB(alpha=0.5, binarize=None).fit((x > thresholds).astype(float), y)
    np.testing.assert_allclose(
        custom.predict_proba(x), ref.predict_proba((x > thresholds).astype(float))[:, 1], atol=1e-12
    )


def household_dataset(seed: int = 7) -> PairedDataset:
    return pair_windows(household_features(seed), household(seed).labels(), rooms=ROOMS)


CONFIG = ClrConfig(min_nights=10, validation_nights=8)


def test_trained_artifact_round_trips_and_predicts_with_a_dot_product() -> None:
    data = household_dataset()
    artifact = train_clr(data, CONFIG)
    assert isinstance(artifact, ClrArtifact)
    assert artifact.feature_names == data.feature_names
    assert (artifact.n_rows, artifact.n_nights) == (data.n_rows, data.n_nights)
    text = artifact.to_json()
    json.loads(text)  # strict JSON
    again = ClrArtifact.from_json(text)
    assert again == artifact
    folds = interleaved_group_folds(data.groups, 5)
    model = fit_calibrated_logistic(data.x, data.y, folds, CONFIG.c, clip=CONFIG.z_clip)
    np.testing.assert_allclose(
        predict_proba(again, data.x), model.predict_proba(data.x), atol=1e-12
    )
    # By hand: standardise, clip, dot, Platt.
    row = data.x[100]
    z = (row - np.array(artifact.scaler_mean)) / np.array(artifact.scaler_scale)
    z = np.clip(z, -artifact.z_clip, artifact.z_clip)
    logit = z @ np.array(artifact.coef) + artifact.intercept
    by_hand = 1 / (1 + np.exp(artifact.calibration_a * logit + artifact.calibration_b))
    assert predict_proba(artifact, row)[0] == pytest.approx(by_hand, rel=1e-12)
    with pytest.raises(ValueError):
        predict_proba(artifact, row[:-1])
    with pytest.raises(ValueError):
        ClrArtifact.from_dict({**artifact.to_dict(), "artifact_version": 99})


def test_clr_beats_naive_bayes_on_held_out_nights() -> None:
    artifact = train_clr(household_dataset(), CONFIG)
    assert isinstance(artifact, ClrArtifact)
    m = artifact.metrics
    assert m["n_validation_nights"] == 8
    assert m["auc"] > m["nb_auc"]
    assert m["log_loss"] < m["nb_log_loss"]
    assert m["brier"] < m["nb_brier"]
    assert m["ece"] < m["nb_ece"]
    assert m["auc"] > 0.99
    assert m["ece"] < 0.05


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_clr_log_loss_beats_naive_bayes_across_households(seed: int) -> None:
    artifact = train_clr(household_dataset(seed), CONFIG)
    assert isinstance(artifact, ClrArtifact)
    assert artifact.metrics["log_loss"] < artifact.metrics["nb_log_loss"]
    assert artifact.metrics["ece"] < 0.05


def test_training_gate_holds_until_enough_nights() -> None:
    data = household_dataset()
    config = ClrConfig(min_nights=14, min_rows=300, validation_nights=3)
    progress = []
    for n in (2, 5, 13, 14):
        part = data.subset(np.flatnonzero(data.groups < n).astype(np.int64))
        result = train_clr(part, config)
        progress.append(result.code if isinstance(result, NotReady) else "trained")
    assert progress == ["not_enough_nights"] * 3 + ["trained"]
    blocked = check_training_gates(data.subset(np.flatnonzero(data.groups < 3)), config)
    assert blocked is not None
    assert "3 labelled nights, need 14" in blocked.reason


def test_row_and_class_gates() -> None:
    data = household_dataset()
    rows_gate = check_training_gates(data, ClrConfig(min_rows=10**6))
    assert rows_gate is not None
    assert rows_gate.code == "not_enough_rows"
    awake_only = data.subset(np.flatnonzero(data.y == 0).astype(np.int64))
    class_gate = check_training_gates(awake_only, ClrConfig(min_rows=10))
    assert class_gate is not None
    assert class_gate.code == "not_enough_class_rows"
    assert check_training_gates(data, ClrConfig()) is None


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        ClrConfig(min_nights=3, validation_nights=2)
    with pytest.raises(ValueError):
        ClrConfig(calibration_folds=1)


def test_a_rare_feature_does_not_flatten_the_calibration() -> None:
    # A feature that is on in one night only (a light left on all evening) has a tiny spread:
    # standardised it is hundreds of spreads out. Unclipped, the out-of-fold logits of that
    # night reach tens and, wrong, dominate the Platt fit: the slope shrinks and every other
    # probability is pulled towards 0.5 (underconfident). Clipped, the calibrator stays close
    # to the identity and the probabilities stay calibrated on ordinary windows.
    rng = np.random.default_rng(3)
    nights = 30
    per_night = 96
    groups = np.repeat(np.arange(nights), per_night)
    y = np.tile((np.arange(per_night) < 32).astype(np.int64), nights)
    signal = y * 2.0 - 1.0 + rng.normal(0, 0.7, y.size)
    rare = np.zeros(y.size)
    odd = (groups == 11) & (y == 0)
    rare[np.flatnonzero(odd)[:16]] = 1.0  # awake, but the rare feature looks like sleep
    night_light = (y == 1) & (rng.random(y.size) < 0.02)
    rare[night_light] = 1.0
    x = np.column_stack([signal, rare])
    weights = 0.5 ** ((nights - 1 - groups) / 10.0)  # recency-weighted like training
    folds = interleaved_group_folds(groups, 5)
    clipped = fit_calibrated_logistic(x, y, folds, sample_weight=weights, clip=5.0)
    unclipped = fit_calibrated_logistic(x, y, folds, sample_weight=weights)
    assert abs(clipped.calibration_a) > abs(unclipped.calibration_a)
    ordinary = rare == 0
    prob = clipped.predict_proba(x[ordinary])
    truth = y[ordinary]
    assert metrics.expected_calibration_error(truth, prob) < 0.02
    assert metrics.expected_calibration_error(
        truth, unclipped.predict_proba(x[ordinary])
    ) > metrics.expected_calibration_error(truth, prob)


def test_a_version_1_artifact_predicts_without_a_clip() -> None:
    artifact = train_clr(household_dataset(), CONFIG)
    assert isinstance(artifact, ClrArtifact)
    old = {**artifact.to_dict(), "artifact_version": 1}
    del old["z_clip"]
    again = ClrArtifact.from_dict(old)
    assert again.z_clip is None
    far = np.array(artifact.scaler_mean) + 50 * np.array(artifact.scaler_scale)
    z = (far - np.array(artifact.scaler_mean)) / np.array(artifact.scaler_scale)
    logit = z @ np.array(artifact.coef) + artifact.intercept
    assert float(decision_function(again, far)[0]) == pytest.approx(logit, rel=1e-9)
    assert float(decision_function(artifact, far)[0]) != pytest.approx(logit, rel=1e-3)
