"""Calibrated logistic regression (CLR) for P(asleep), in numpy.

scikit-learn has no musl wheels, so HA OS cannot install it; this module reimplements the parts
RoomDB needs and the tests hold it against scikit-learn:

- `Scaler`: `StandardScaler` (population std; constant features get scale 1), optionally clipping
  the standardised values at +-`clip`: a feature that is almost always zero in training (a
  bathroom light left on all evening, once in six weeks) has a tiny spread, so a rare value sits
  hundreds of spreads out and a linear model extrapolates it to a logit of +-50 or more. Clipped,
  such a window weighs like a strong but ordinary observation. Without the clip, those few
  out-of-fold windows dominate the Platt fit's log loss and flatten the calibrator's slope
  (underconfident probabilities everywhere else).
- `fit_logistic`: the minimiser of `LogisticRegression(C=C)` with the default l2 penalty and
  `fit_intercept=True`: C * sum(weight * log-loss) + ||w||^2 / 2, intercept not penalised (the
  weights are scikit-learn's `sample_weight`). Solved by Newton's method with a backtracking
  (Armijo) line search; the problem is small (tens of features), so the exact Hessian is cheap
  and converges in a handful of steps.
- `fit_platt`: scikit-learn's `_sigmoid_calibration`: Platt scaling with Platt's smoothed targets,
  p = 1 / (1 + exp(a * f + b)), solved exactly by Newton, rows weighted like the classifier's.
- `fit_calibrated_logistic`: `CalibratedClassifierCV(Pipeline(scaler, lr), method="sigmoid",
  ensemble=False, cv=folds)` fitted with `sample_weight`: the calibrator is fitted on out-of-fold
  decision values and the classifier is then refitted on all rows. `ensemble=False` keeps a
  single coefficient vector, so inference stays one dot product; `ensemble=True` would average
  one model per fold.
- `fit_naive_bayes`: `BernoulliNB(alpha=1)` on binarised features, the model HA's `bayesian`
  sensor is (each observation either true or false, with P(obs | asleep) and P(obs | awake)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
import json
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from . import metrics
from .pairing import Fold, PairedDataset, interleaved_group_folds, last_nights_split

ARTIFACT_VERSION: Final = 2
"""2: standardised values are clipped at `z_clip` (version 1 artifacts have no clip)."""

Z_CLIP: Final = 5.0
"""Standardised features are clipped at +-Z_CLIP spreads (see the module docstring)."""

type FloatArray = npt.NDArray[np.float64]

_EPS: Final = float(np.finfo(np.float64).eps)
_PRECISION_FLOOR: Final = 1e3 * _EPS
"""A Newton decrement below this share of the objective is beyond what rounding lets it show."""


def _expit(z: FloatArray) -> FloatArray:
    """Logistic sigmoid without overflow."""
    e = np.exp(-np.abs(z))
    out: FloatArray = np.where(z >= 0, 1.0, e) / (1.0 + e)
    return out


def _softplus(z: FloatArray) -> FloatArray:
    """log(1 + exp(z)) without overflow (cheaper than np.logaddexp)."""
    out: FloatArray = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
    return out


# --- standardisation -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scaler:
    """Column means and scales, as scikit-learn's StandardScaler computes them."""

    mean: FloatArray
    scale: FloatArray
    clip: float | None = None

    @classmethod
    def fit(cls, x: FloatArray, clip: float | None = None) -> Scaler:
        """Fit to the columns of `x` (population variance); `clip` bounds standardised values."""
        n = x.shape[0]
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        # StandardScaler treats a column as constant when its variance is within rounding error.
        constant = var <= n * _EPS * var + (n * mean * _EPS) ** 2
        scale = np.where(constant, 1.0, np.sqrt(var))
        return cls(mean=mean, scale=scale, clip=clip)

    def transform(self, x: FloatArray) -> FloatArray:
        """Standardise `x` (clipped at +-clip when set)."""
        z: FloatArray = (x - self.mean) / self.scale
        return z if self.clip is None else np.clip(z, -self.clip, self.clip)


# --- logistic regression -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogisticFit:
    """Coefficients of an l2-regularised logistic regression and how the solver ended."""

    coef: FloatArray
    intercept: float
    n_iter: int
    converged: bool


def fit_logistic(
    x: FloatArray,
    y: npt.ArrayLike,
    c: float = 1.0,
    *,
    sample_weight: npt.ArrayLike | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> LogisticFit:
    """Minimise C * sum(weight * logloss) + ||w||^2 / 2 over (w, b) by damped Newton steps.

    Stops when the largest gradient entry of the per-row objective (the sum divided by C n) is
    below `tol`, or at the optimum to machine precision: when the Newton step promises less
    than rounding can show in the objective (weighted rows put the gradient's rounding floor
    above a small `tol`), or the line search cannot decrease it any more. The intercept starts
    at the log-odds of the (weighted) base rate.
    """
    if c <= 0:
        raise ValueError("C must be positive")
    target = np.asarray(y, dtype=np.float64)
    n, d = int(x.shape[0]), int(x.shape[1])
    weight = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    # Work with objective / (C n) so that the tolerance does not depend on n or C.
    reg = 1.0 / (c * n)
    mean = float(weight @ target / weight.sum()) if n else 0.5
    rate = float(np.clip(mean, 1e-6, 1.0 - 1e-6))
    coef = np.zeros(d)
    intercept = float(np.log(rate / (1.0 - rate)))
    z = np.full(n, intercept)

    def objective(z_: FloatArray, coef_: FloatArray) -> float:
        data = float(weight @ _softplus(z_) - float((weight * target) @ z_)) / n
        return data + 0.5 * reg * float(coef_ @ coef_)

    value = objective(z, coef)
    hessian = np.empty((d + 1, d + 1))
    grad = np.empty(d + 1)
    root = np.empty_like(x, dtype=np.float64)  # rows scaled by sqrt(weight), reused
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is reported
        p = _expit(z)
        residual = weight * (p - target)
        grad[:d] = x.T @ residual / n + reg * coef
        grad[d] = residual.sum() / n
        if np.max(np.abs(grad)) <= tol:
            converged = True
            break
        weights = weight * p * (1.0 - p) / n
        np.multiply(x, np.sqrt(weights)[:, None], out=root)
        hessian[:d, :d] = root.T @ root
        hessian[:d, :d][np.diag_indices(d)] += reg
        hessian[:d, d] = hessian[d, :d] = x.T @ weights
        hessian[d, d] = weights.sum()
        try:
            step = np.linalg.solve(hessian, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hessian, grad, rcond=None)[0]
        slope = float(grad @ step)
        if slope <= _PRECISION_FLOOR * abs(value):
            converged = True
            break
        z_step = x @ step[:d] + step[d]
        t = 1.0
        while t > 1e-12:
            z_new = z - t * z_step
            coef_new = coef - t * step[:d]
            value_new = objective(z_new, coef_new)
            if value_new <= value - 1e-4 * t * slope:
                break
            t *= 0.5
        else:
            converged = True  # no descent left within floating point precision
            break
        coef, intercept, z, value = coef_new, intercept - t * float(step[d]), z_new, value_new
    return LogisticFit(coef=coef, intercept=intercept, n_iter=n_iter, converged=converged)


# --- Platt scaling -------------------------------------------------------------------------------


def fit_platt(
    scores: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    sample_weight: npt.ArrayLike | None = None,
    max_iter: int = 100,
) -> tuple[float, float]:
    """Fit (a, b) of p = 1 / (1 + exp(a f + b)) with Platt's smoothed targets (as scikit-learn)."""
    f = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(y)
    weight = np.ones(f.size) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    positive = labels > 0
    # Platt's prior counts, weighted as scikit-learn weighs them.
    prior1 = float(weight[positive].sum())
    prior0 = float(weight[~positive].sum())
    target = np.where(positive, (prior1 + 1.0) / (prior1 + 2.0), 1.0 / (prior0 + 2.0))
    design = np.column_stack([-f, -np.ones_like(f)])  # raw logit r = -(a f + b) = design @ ab

    def objective(r: FloatArray) -> float:
        return float(weight @ _softplus(r) - (weight * target) @ r)

    ab = np.array([0.0, np.log((prior0 + 1.0) / (prior1 + 1.0))])
    r = design @ ab
    value = objective(r)
    for _ in range(max_iter):
        p = _expit(r)
        grad = design.T @ (weight * (p - target))
        if np.max(np.abs(grad)) <= 1e-12 * max(1.0, f.size):
            break
        hessian = design.T @ (design * (weight * p * (1.0 - p))[:, None])
        try:
            step = np.linalg.solve(hessian, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hessian, grad, rcond=None)[0]
        r_step = design @ step
        slope = float(grad @ step)
        t = 1.0
        while t > 1e-12:
            value_new = objective(r - t * r_step)
            if value_new <= value - 1e-4 * t * slope:
                break
            t *= 0.5
        else:
            break
        ab, r, value = ab - t * step, r - t * r_step, value_new
    return float(ab[0]), float(ab[1])


def apply_platt(scores: npt.ArrayLike, a: float, b: float) -> FloatArray:
    """Calibrated probability of the positive class."""
    return _expit(-(a * np.asarray(scores, dtype=np.float64) + b))


# --- calibrated model ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CalibratedLogistic:
    """Scaler + logistic regression + Platt calibrator."""

    scaler: Scaler
    fit: LogisticFit
    calibration_a: float
    calibration_b: float

    def decision_function(self, x: FloatArray) -> FloatArray:
        """Uncalibrated logit."""
        return self.scaler.transform(x) @ self.fit.coef + self.fit.intercept

    def predict_proba(self, x: FloatArray) -> FloatArray:
        """Calibrated P(y = 1)."""
        return apply_platt(self.decision_function(x), self.calibration_a, self.calibration_b)


def _fit_scaled(
    x: FloatArray,
    y: npt.NDArray[Any],
    c: float,
    tol: float,
    weight: FloatArray,
    *,
    clip: float | None,
) -> tuple[Scaler, LogisticFit]:
    scaler = Scaler.fit(x, clip)
    return scaler, fit_logistic(scaler.transform(x), y, c, sample_weight=weight, tol=tol)


def out_of_fold_decision(
    x: FloatArray,
    y: npt.NDArray[Any],
    folds: Sequence[Fold],
    c: float,
    *,
    sample_weight: FloatArray | None = None,
    tol: float = 1e-10,
    clip: float | None = None,
) -> FloatArray:
    """Decision values for every row from a model (scaler + LR) fitted without the row's fold."""
    weight = np.ones(x.shape[0]) if sample_weight is None else sample_weight
    scores = np.full(x.shape[0], np.nan)
    for train, test in folds:
        scaler, fit = _fit_scaled(x[train], y[train], c, tol, weight[train], clip=clip)
        scores[test] = scaler.transform(x[test]) @ fit.coef + fit.intercept
    if np.isnan(scores).any():
        raise ValueError("folds must cover every row")
    return scores


def fit_calibrated_logistic(
    x: FloatArray,
    y: npt.ArrayLike,
    folds: Sequence[Fold],
    c: float = 1.0,
    *,
    sample_weight: npt.ArrayLike | None = None,
    tol: float = 1e-10,
    clip: float | None = None,
) -> CalibratedLogistic:
    """Platt calibrator on out-of-fold scores, classifier refitted on all rows (ensemble=False)."""
    labels = np.asarray(y)
    weight = (
        np.ones(x.shape[0])
        if sample_weight is None
        else np.asarray(sample_weight, dtype=np.float64)
    )
    scores = out_of_fold_decision(x, labels, folds, c, sample_weight=weight, tol=tol, clip=clip)
    a, b = fit_platt(scores, labels, sample_weight=weight)
    scaler, fit = _fit_scaled(x, labels, c, tol, weight, clip=clip)
    return CalibratedLogistic(scaler=scaler, fit=fit, calibration_a=a, calibration_b=b)


# --- naive Bayes baseline ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NaiveBayes:
    """Bernoulli naive Bayes over `x > thresholds` (P(obs | class) with Laplace smoothing)."""

    thresholds: FloatArray
    log_prob: FloatArray  # (2, n_features): log P(obs true | class)
    log_prob_false: FloatArray  # (2, n_features): log P(obs false | class)
    class_log_prior: FloatArray  # (2,)

    def predict_proba(self, x: FloatArray) -> FloatArray:
        """P(y = 1) for each row."""
        observed = (x > self.thresholds).astype(np.float64)
        joint = (
            observed @ (self.log_prob - self.log_prob_false).T
            + self.log_prob_false.sum(axis=1)
            + self.class_log_prior
        )
        return _expit(joint[:, 1] - joint[:, 0])


def fit_naive_bayes(
    x: FloatArray,
    y: npt.ArrayLike,
    *,
    thresholds: FloatArray | float = 0.0,
    alpha: float = 1.0,
) -> NaiveBayes:
    """Fit like scikit-learn's `BernoulliNB(alpha=alpha, binarize=threshold)`."""
    labels = np.asarray(y).astype(bool)
    limits = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (x.shape[1],)).copy()
    observed = (x > limits).astype(np.float64)
    counts = np.array([(~labels).sum(), labels.sum()], dtype=np.float64)
    feature_counts = np.vstack([observed[~labels].sum(axis=0), observed[labels].sum(axis=0)])
    prob = (feature_counts + alpha) / (counts[:, None] + 2.0 * alpha)
    with np.errstate(divide="ignore"):
        prior = np.log(counts / counts.sum())
    return NaiveBayes(
        thresholds=limits,
        log_prob=np.log(prob),
        log_prob_false=np.log1p(-prob),
        class_log_prior=prior,
    )


# --- artifact, gates and training ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClrArtifact:
    """Everything inference needs, JSON-serialisable; probabilities via `predict_proba`."""

    feature_names: tuple[str, ...]
    feature_set_version: int
    coef: tuple[float, ...]
    intercept: float
    scaler_mean: tuple[float, ...]
    scaler_scale: tuple[float, ...]
    calibration_a: float
    calibration_b: float
    c: float
    n_rows: int
    n_nights: int
    metrics: dict[str, float] = field(default_factory=dict)
    z_clip: float | None = None
    artifact_version: int = ARTIFACT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict."""
        data = asdict(self)
        for key in ("feature_names", "coef", "scaler_mean", "scaler_scale"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClrArtifact:
        """Inverse of `to_dict`; refuses artifacts from a newer format."""
        version = int(data.get("artifact_version", ARTIFACT_VERSION))
        if version > ARTIFACT_VERSION:
            raise ValueError(f"artifact version {version} is newer than {ARTIFACT_VERSION}")
        return cls(
            feature_names=tuple(str(n) for n in data["feature_names"]),
            feature_set_version=int(data["feature_set_version"]),
            coef=tuple(float(v) for v in data["coef"]),
            intercept=float(data["intercept"]),
            scaler_mean=tuple(float(v) for v in data["scaler_mean"]),
            scaler_scale=tuple(float(v) for v in data["scaler_scale"]),
            calibration_a=float(data["calibration_a"]),
            calibration_b=float(data["calibration_b"]),
            c=float(data["c"]),
            n_rows=int(data["n_rows"]),
            n_nights=int(data["n_nights"]),
            metrics={str(k): float(v) for k, v in data.get("metrics", {}).items()},
            z_clip=None if data.get("z_clip") is None else float(data["z_clip"]),
            artifact_version=version,
        )

    def to_json(self) -> str:
        """Serialise (strict JSON: no NaN)."""
        return json.dumps(self.to_dict(), allow_nan=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ClrArtifact:
        """Inverse of `to_json`."""
        return cls.from_dict(json.loads(text))


def decision_function(artifact: ClrArtifact, x: npt.ArrayLike) -> FloatArray:
    """Uncalibrated logit for each row of `x` (a single row may be 1-D)."""
    rows: FloatArray = np.atleast_2d(np.asarray(x, dtype=np.float64))
    if rows.shape[1] != len(artifact.coef):
        raise ValueError(f"expected {len(artifact.coef)} features, got {rows.shape[1]}")
    standardised = (rows - np.asarray(artifact.scaler_mean)) / np.asarray(artifact.scaler_scale)
    if artifact.z_clip is not None:
        standardised = np.clip(standardised, -artifact.z_clip, artifact.z_clip)
    logit: FloatArray = standardised @ np.asarray(artifact.coef) + artifact.intercept
    return logit


def predict_proba(artifact: ClrArtifact, x: npt.ArrayLike) -> FloatArray:
    """Calibrated P(asleep) for each row of `x`: one dot product and a sigmoid."""
    return apply_platt(
        decision_function(artifact, x), artifact.calibration_a, artifact.calibration_b
    )


@dataclass(frozen=True, slots=True)
class ClrConfig:
    """Training settings and gates."""

    c: float = 1.0
    min_nights: int = 7
    min_rows: int = 200
    min_class_rows: int = 20
    calibration_folds: int = 5
    validation_nights: int = 2
    tol: float = 1e-10
    z_clip: float | None = Z_CLIP

    def __post_init__(self) -> None:
        """Reject settings that cannot give both a validation split and two calibration folds."""
        if self.min_nights < self.validation_nights + 2 or self.validation_nights < 1:
            raise ValueError("min_nights must leave at least 2 training nights after validation")
        if self.calibration_folds < 2:
            raise ValueError("calibration_folds must be at least 2")


@dataclass(frozen=True, slots=True)
class NotReady:
    """Training did not run: a stable `code` and a readable `reason`."""

    code: str
    reason: str


def _has_both_classes(y: npt.NDArray[Any]) -> bool:
    return bool(y.any() and not y.all())


def check_training_gates(dataset: PairedDataset, config: ClrConfig) -> NotReady | None:
    """Return why training cannot run yet, or None when it can."""
    if dataset.n_nights < config.min_nights:
        return NotReady(
            "not_enough_nights",
            f"{dataset.n_nights} labelled nights, need {config.min_nights}",
        )
    if dataset.n_rows < config.min_rows:
        return NotReady(
            "not_enough_rows", f"{dataset.n_rows} paired windows, need {config.min_rows}"
        )
    positives = int(dataset.y.sum())
    fewest = min(positives, dataset.n_rows - positives)
    if fewest < config.min_class_rows:
        return NotReady(
            "not_enough_class_rows",
            f"{positives} asleep and {dataset.n_rows - positives} awake windows, "
            f"need {config.min_class_rows} of each",
        )
    train, validation = last_nights_split(dataset.groups, config.validation_nights)
    if not _has_both_classes(dataset.y[validation]):
        return NotReady("single_class_split", "validation nights hold only one class")
    for rows in (train, np.arange(dataset.n_rows)):
        groups = dataset.groups[rows]
        n_folds = min(config.calibration_folds, np.unique(groups).size)
        for fold_train, _ in interleaved_group_folds(groups, n_folds):
            if not _has_both_classes(dataset.y[rows][fold_train]):
                return NotReady("single_class_split", "a calibration fold holds only one class")
    return None


def _fit_on(dataset: PairedDataset, config: ClrConfig, weight: FloatArray) -> CalibratedLogistic:
    n_folds = min(config.calibration_folds, dataset.n_nights)
    folds = interleaved_group_folds(dataset.groups, n_folds)
    return fit_calibrated_logistic(
        dataset.x,
        dataset.y,
        folds,
        config.c,
        sample_weight=weight,
        tol=config.tol,
        clip=config.z_clip,
    )


def evaluate(y: npt.ArrayLike, prob: npt.ArrayLike, prefix: str = "") -> dict[str, float]:
    """AUC, ECE (10 bins), log loss and Brier score, keys prefixed."""
    return {
        f"{prefix}auc": metrics.roc_auc(y, prob),
        f"{prefix}ece": metrics.expected_calibration_error(y, prob),
        f"{prefix}log_loss": metrics.log_loss(y, prob),
        f"{prefix}brier": metrics.brier_score(y, prob),
    }


def train_clr(
    dataset: PairedDataset,
    config: ClrConfig | None = None,
    night_weights: Sequence[float] | None = None,
) -> ClrArtifact | NotReady:
    """Train the CLR if the gates allow; metrics come from the last nights held out.

    `night_weights` (one per night of the dataset) weight every row of a night in the fits. The
    held-out metrics (CLR and the naive-Bayes baseline on the same windows, unweighted) come
    from models fitted on the earlier nights only; the returned artifact is then refitted on
    every night.
    """
    config = config or ClrConfig()
    blocked = check_training_gates(dataset, config)
    if blocked is not None:
        return blocked
    per_night = np.ones(dataset.n_nights) if night_weights is None else np.asarray(night_weights)
    weight: FloatArray = per_night[dataset.groups].astype(np.float64)
    train, validation = last_nights_split(dataset.groups, config.validation_nights)
    train_set = dataset.subset(train)
    held_out = _fit_on(train_set, config, weight[train])
    y_val = dataset.y[validation]
    x_val = dataset.x[validation]
    baseline = fit_naive_bayes(train_set.x, train_set.y)
    scores = {
        **evaluate(y_val, held_out.predict_proba(x_val)),
        **evaluate(y_val, baseline.predict_proba(x_val), prefix="nb_"),
        "n_train_rows": float(train.size),
        "n_validation_rows": float(validation.size),
        "n_validation_nights": float(config.validation_nights),
    }
    model = _fit_on(dataset, config, weight)
    return ClrArtifact(
        feature_names=dataset.feature_names,
        feature_set_version=dataset.feature_set_version,
        coef=tuple(float(v) for v in model.fit.coef),
        intercept=model.fit.intercept,
        scaler_mean=tuple(float(v) for v in model.scaler.mean),
        scaler_scale=tuple(float(v) for v in model.scaler.scale),
        calibration_a=model.calibration_a,
        calibration_b=model.calibration_b,
        c=config.c,
        n_rows=dataset.n_rows,
        n_nights=dataset.n_nights,
        metrics=scores,
        z_clip=config.z_clip,
    )
