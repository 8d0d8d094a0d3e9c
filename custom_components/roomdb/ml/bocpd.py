"""Bayesian online changepoint detection (Adams & MacKay 2007), vectorised over streams.

Model: each segment is Gaussian with unknown mean and variance under a Normal-Gamma prior
(mu0, kappa0, alpha0, beta0), so the predictive is Student-t with 2 alpha degrees of freedom, loc mu
and scale^2 = beta (kappa + 1) / (alpha kappa). The hazard is constant.

Conventions (those of the paper): after observing x_t, run length r means the current run holds the
last r observations; r = 0 means a new run starts with x_{t+1}. Under a constant hazard
P(r_t = 0) = H always, so the outputs are the practical signals instead:

- `changepoint_probability`: posterior mass of short runs, P(r_t < w) (`short_run`, default 5);
- `map_run_length`: argmax of the run-length posterior;
- a detector: the MAP run dates its segment start at index t - r + 1; when that start moves later
  than the last reported changepoint and stays put for `confirm` steps, the start is emitted as a
  changepoint (index of the first observation of the new segment, as TCPDBench counts them).

Truncation: run lengths are kept up to R - 1 (default R = 500), and the last bin absorbs the tail
("R - 1 or more") instead of dropping it; dropping would throw away the winning run whenever a
routine outlives R and fake a changepoint. The absorbing bin keeps the statistics of whichever of
its two inflows carries more mass. Everything is in log space and renormalised every step.

`Bocpd` updates S streams at once as (S, R) arrays; `bench/reference_bocpd.py` is the same model
written per stream in textbook form (growing arrays, counts, `math.lgamma`), used as the test
oracle and as the per-stream baseline in the benchmark.

Pooled (`BocpdConfig.pooled`): the S streams are the dimensions of one observation and share one
run-length posterior (shape (1, R)); a change is a change of the whole vector. The predictive is
the product of the dimensions' Student-t predictives (independent dimensions), so every
dimension's evidence adds up in one posterior instead of S posteriors being compared afterwards.
A missing dimension (NaN) adds no evidence and keeps its statistics for that step.

Sparse shifts (`BocpdConfig.shift_share` > 0, pooled only): a new routine usually moves a few
dimensions and leaves the rest as they were. Each dimension of each run is then a mixture of two
Normal-Gamma components: "same" (the prior as given: for a tight prior, the routine so far) and
"moved" (the same prior with `moved_kappa` pseudo-observations behind its mean, i.e. a mean
free to move; with `moved_alpha` its noise variance is held near the prior's instead of learned,
so it cannot win a dimension merely by finding it quieter than the prior says; `moved_scale`
widens that noise, for moved values that scatter more than the routine's), with prior
weights 1 - shift_share and shift_share (less `scattered_share`, below). The mixture is updated
exactly ("moved" conjugately, the weights by each component's predictive; "same" is the prior's
predictive and is not re-learned), so every run predicts the dimensions that did not change
alike, and a new run learns the moved ones from its first observation on.

Scattered dimensions (`BocpdConfig.scattered_share` > 0, with sparse shifts): a third component,
"scattered", is the prior's predictive widened `scattered_scale` times, with prior weight
`scattered_share` (taken from "same"); like "same" its statistics are not re-learned, but its
weight is, as the others' are. It is a dimension that a run leaves on the routine's mean but
makes irregular (a new routine may make a signal erratic without moving it). A long run of the
routine soon rules it out in every dimension; a young run must still allow for it, so a run
begun on days odd in a few dimensions needs more evidence than without it, while a run whose
dimensions turned erratic is found far sooner.

`Bocpd.to_dict()` / `Bocpd.from_dict()` store and resume the full state bit for bit, so a resumed
detector continues exactly as an uninterrupted one.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import asdict, dataclass
import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt

STATE_VERSION: Final = 1

type FloatArray = npt.NDArray[np.float64]
type IntArray = npt.NDArray[np.int64]

_LOG_2PI: Final = math.log(2.0 * math.pi)
_STATE_ARRAYS: Final = ("log_r", "mu", "kappa", "alpha", "beta", "lgc")
_MIXTURE_ARRAYS: Final = (
    "moved_mu",
    "moved_kappa",
    "moved_alpha",
    "moved_beta",
    "moved_lgc",
    "log_same",
    "log_moved",
)
_SCATTERED_ARRAYS: Final = ("log_scattered",)
_DETECTOR_ARRAYS: Final = ("candidate", "streak", "last_changepoint")
_PRIOR_FIELDS: Final = ("mu0", "kappa0", "alpha0", "beta0")


@dataclass(frozen=True, slots=True)
class BocpdConfig:
    """Hazard, truncation and detector settings shared by all streams."""

    hazard: float = 1.0 / 250.0
    max_run_length: int = 500
    short_run: int = 5
    confirm: int = 3
    pooled: bool = False
    shift_share: float = 0.0
    moved_kappa: float = 0.1
    moved_alpha: float = 0.0
    moved_scale: float = 1.0
    scattered_share: float = 0.0
    scattered_scale: float = 4.0

    def __post_init__(self) -> None:
        """Validate ranges."""
        if not 0.0 < self.hazard < 1.0:
            raise ValueError("hazard must be in (0, 1)")
        if self.max_run_length < 3:
            raise ValueError("max_run_length must be at least 3")
        if not 1 <= self.short_run <= self.max_run_length:
            raise ValueError("short_run must be in [1, max_run_length]")
        if self.confirm < 0:
            raise ValueError("confirm must be >= 0")
        if not 0.0 <= self.shift_share < 1.0 or (self.shift_share and not self.pooled):
            raise ValueError("shift_share must be in [0, 1) and needs pooled")
        if self.moved_kappa <= 0 or self.moved_alpha < 0 or self.moved_scale <= 0:
            raise ValueError(
                "moved_kappa and moved_scale must be positive and moved_alpha not negative"
            )
        if self.scattered_share and not (
            self.shift_share and 0.0 < self.shift_share + self.scattered_share < 1.0
        ):
            raise ValueError("scattered_share needs shift_share, and both together must be < 1")
        if not 0.0 <= self.scattered_share < 1.0 or not self.scattered_scale > 0:
            raise ValueError("scattered_share must be in [0, 1) and scattered_scale positive")


@dataclass(frozen=True, slots=True)
class NormalGammaPrior:
    """Normal-Gamma prior: mean mu0 seen kappa0 times, precision ~ Gamma(alpha0, rate beta0).

    beta0 / alpha0 is the prior guess of the noise variance; set it to the stream's scale.
    """

    mu0: float = 0.0
    kappa0: float = 0.01
    alpha0: float = 1.0
    beta0: float = 1.0

    def __post_init__(self) -> None:
        """Validate ranges."""
        if self.kappa0 <= 0 or self.alpha0 <= 0 or self.beta0 <= 0:
            raise ValueError("kappa0, alpha0 and beta0 must be positive")


def student_t_constant(alpha: float) -> float:
    """lgamma(alpha + 1/2) - lgamma(alpha): the alpha-dependent Student-t constant."""
    return math.lgamma(alpha + 0.5) - math.lgamma(alpha)


@dataclass(frozen=True, slots=True)
class BocpdStep:
    """Outputs of one update, one entry per stream."""

    t: int  # index of the observation just consumed (0-based since the state was created)
    changepoint_probability: FloatArray
    map_run_length: IntArray
    changepoint: npt.NDArray[np.bool_]
    changepoint_index: IntArray  # start of the new segment where `changepoint`, else -1
    log_evidence: FloatArray  # log p(x_t | x_1..t-1)


@dataclass(frozen=True, slots=True)
class BocpdTrace:
    """Outputs of a batch of updates: arrays of shape (T, S) and changepoints per stream."""

    changepoint_probability: FloatArray
    map_run_length: IntArray
    changepoints: tuple[tuple[int, ...], ...]


def _encode(array: npt.NDArray[Any]) -> dict[str, Any]:
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return {
        "dtype": little.dtype.str,
        "shape": list(little.shape),
        "data": base64.b64encode(np.ascontiguousarray(little).tobytes()).decode("ascii"),
    }


def _decode(blob: dict[str, Any]) -> npt.NDArray[Any]:
    raw = base64.b64decode(blob["data"])
    return np.frombuffer(raw, dtype=np.dtype(blob["dtype"])).reshape(blob["shape"]).copy()


class Bocpd:
    """BOCPD over S streams with a shared hazard and per-stream priors."""

    def __init__(
        self,
        n_streams: int,
        config: BocpdConfig | None = None,
        prior: NormalGammaPrior | Sequence[NormalGammaPrior] | None = None,
    ) -> None:
        """Start every stream with a single run of length 0 at its prior."""
        if n_streams < 1:
            raise ValueError("n_streams must be positive")
        self.config = config or BocpdConfig()
        priors = (
            [prior or NormalGammaPrior()] * n_streams
            if prior is None or isinstance(prior, NormalGammaPrior)
            else list(prior)
        )
        if len(priors) != n_streams:
            raise ValueError(f"{len(priors)} priors for {n_streams} streams")
        self.priors = tuple(priors)
        size = (n_streams, self.config.max_run_length)
        shared = (1 if self.config.pooled else n_streams, self.config.max_run_length)
        self._prior = {
            name: np.array([getattr(p, name) for p in priors], dtype=np.float64)
            for name in _PRIOR_FIELDS
        }
        self._prior["lgc0"] = np.array([student_t_constant(p.alpha0) for p in priors])
        self.log_r = np.full(shared, -np.inf)
        self.log_r[:, 0] = 0.0
        self.mu = np.repeat(self._prior["mu0"][:, None], size[1], axis=1)
        self.kappa = np.repeat(self._prior["kappa0"][:, None], size[1], axis=1)
        self.alpha = np.repeat(self._prior["alpha0"][:, None], size[1], axis=1)
        self.beta = np.repeat(self._prior["beta0"][:, None], size[1], axis=1)
        self.lgc = np.repeat(self._prior["lgc0"][:, None], size[1], axis=1)
        if self.config.shift_share:
            self._prior["moved_kappa0"] = np.full(n_streams, self.config.moved_kappa)
            shape = self.config.moved_alpha
            widen = self.config.moved_scale**2
            if shape:
                # The moved mean comes with the prior's noise variance (times moved_scale^2),
                # held (nearly) fixed.
                self._prior["moved_alpha0"] = np.full(n_streams, shape)
                self._prior["moved_beta0"] = (
                    shape * widen * self._prior["beta0"] / self._prior["alpha0"]
                )
            else:
                self._prior["moved_alpha0"] = self._prior["alpha0"]
                self._prior["moved_beta0"] = widen * self._prior["beta0"]
            self._prior["moved_lgc0"] = np.array(
                [student_t_constant(a) for a in self._prior["moved_alpha0"].tolist()]
            )
            self.moved_mu = self.mu.copy()
            self.moved_kappa = np.full(size, self.config.moved_kappa)
            self.moved_alpha = np.repeat(self._prior["moved_alpha0"][:, None], size[1], axis=1)
            self.moved_beta = np.repeat(self._prior["moved_beta0"][:, None], size[1], axis=1)
            self.moved_lgc = np.repeat(self._prior["moved_lgc0"][:, None], size[1], axis=1)
            self.log_same = np.full(size, self._fresh("log_same"))
            self.log_moved = np.full(size, self._fresh("log_moved"))
        if self.config.scattered_share:
            self.log_scattered = np.full(size, self._fresh("log_scattered"))
        self.t = 0
        self.candidate = np.zeros(shared[0], dtype=np.int64)
        self.streak = np.zeros(shared[0], dtype=np.int64)
        self.last_changepoint = np.zeros(shared[0], dtype=np.int64)

    @property
    def n_streams(self) -> int:
        """Number of streams (dimensions, when pooled)."""
        return int(self.mu.shape[0])

    def _component(
        self, xc: FloatArray, prefix: str, runs: slice = slice(None)
    ) -> tuple[FloatArray, dict[str, FloatArray]]:
        """One component's log predictive of `xc` per stream and run (of `runs`), updated stats."""
        kappa, alpha = (
            getattr(self, f"{prefix}kappa")[:, runs],
            getattr(self, f"{prefix}alpha")[:, runs],
        )
        beta, mu, lgc = (
            getattr(self, f"{prefix}beta")[:, runs],
            getattr(self, f"{prefix}mu")[:, runs],
            getattr(self, f"{prefix}lgc")[:, runs],
        )
        kappa1 = kappa + 1.0
        diff = xc - mu
        spread = beta * kappa1
        sq = kappa * diff * diff
        log_pred = (
            lgc
            - 0.5 * (_LOG_2PI + np.log(spread / kappa))
            - (alpha + 0.5) * np.log1p(sq / (2.0 * spread))
        )
        updated = {
            f"{prefix}mu": (kappa * mu + xc) / kappa1,
            f"{prefix}kappa": kappa1,
            f"{prefix}alpha": alpha + 0.5,
            f"{prefix}beta": beta + sq / (2.0 * kappa1),
            f"{prefix}lgc": np.log(alpha) - lgc,
        }
        return log_pred, updated

    def _fresh(self, name: str) -> FloatArray | float:
        """The value a state array takes for a run that starts now."""
        cfg = self.config
        if name == "log_same":
            return math.log1p(-cfg.shift_share - cfg.scattered_share)
        if name == "log_moved":
            return math.log(cfg.shift_share)
        if name == "log_scattered":
            return math.log(cfg.scattered_share)
        if name in ("moved_kappa", "moved_alpha", "moved_beta", "moved_lgc"):
            return self._prior[f"{name}0"]
        return self._prior[f"{name.removeprefix('moved_')}0"]

    def _scattered(self, xc: FloatArray) -> FloatArray:
        """Log predictive of "scattered": the prior's, `scattered_scale` times as wide."""
        scale = self.config.scattered_scale
        mu0 = self._prior["mu0"][:, None]
        narrowed = mu0 + (xc - mu0) / scale
        return self._component(narrowed, "", slice(0, 1))[0] - math.log(scale)

    def update(self, x: npt.ArrayLike) -> BocpdStep:
        """Consume one observation per stream (shape (S,)) and return the step's outputs.

        Pooled, a NaN marks a dimension not observed this step; unpooled, every value must be
        finite.
        """
        obs = np.asarray(x, dtype=np.float64).reshape(self.n_streams)
        cfg = self.config
        missing = np.isnan(obs)
        if np.isinf(obs).any() or (missing.any() and not cfg.pooled):
            raise ValueError("observations must be finite")
        last = cfg.max_run_length - 1
        xc = np.where(missing, 0.0, obs)[:, None]
        if cfg.shift_share:
            # "Same" is the routine the prior describes and stays as it is; only "moved" learns.
            # Its statistics are the prior's in every run, so its predictive is computed for one
            # run and broadcast: the same numbers for a fraction of the work.
            log_pred = self._component(xc, "", slice(0, 1))[0]
            moved_pred, updated = self._component(xc, "moved_")
            same_part = self.log_same + log_pred
            moved_part = self.log_moved + moved_pred
            log_pred = np.logaddexp(same_part, moved_part)
            if cfg.scattered_share:
                scattered_part = self.log_scattered + self._scattered(xc)
                log_pred = np.logaddexp(log_pred, scattered_part)
                updated["log_scattered"] = scattered_part - log_pred
            updated["log_same"] = same_part - log_pred
            updated["log_moved"] = moved_part - log_pred
        else:
            log_pred, updated = self._component(xc, "")
        if cfg.pooled:
            log_pred = np.where(missing[:, None], 0.0, log_pred).sum(axis=0, keepdims=True)
        joint = self.log_r + log_pred
        evidence: FloatArray = np.logaddexp.reduce(joint, axis=1)
        growth = joint + math.log1p(-cfg.hazard)

        new_log_r = np.empty_like(self.log_r)
        new_log_r[:, 0] = evidence + math.log(cfg.hazard)
        new_log_r[:, 1:last] = growth[:, : last - 1]
        new_log_r[:, last] = np.logaddexp(growth[:, last - 1], growth[:, last])
        new_log_r -= evidence[:, None]
        older_wins = np.broadcast_to(growth[:, last] > growth[:, last - 1], (self.n_streams,))

        for name, fresh in updated.items():
            target = getattr(self, name)
            if missing.any():
                fresh = np.where(missing[:, None], target, fresh)  # noqa: PLW2901 - unobserved
            target[:, 1:last] = fresh[:, : last - 1]
            target[:, last] = np.where(older_wins, fresh[:, last], fresh[:, last - 1])
            target[:, 0] = self._fresh(name)
        self.log_r = new_log_r

        index = self.t
        map_run = np.argmax(new_log_r, axis=1).astype(np.int64)
        short = np.exp(new_log_r[:, : cfg.short_run]).sum(axis=1)
        # The absorbing bin does not date its run, so it keeps the previous candidate.
        candidate = np.where(map_run >= last, self.candidate, index - map_run + 1)
        self.streak = np.where(candidate == self.candidate, self.streak + 1, 0)
        self.candidate = candidate
        emit = (self.streak >= cfg.confirm) & (candidate > self.last_changepoint)
        self.last_changepoint = np.where(emit, candidate, self.last_changepoint)
        self.t += 1
        return BocpdStep(
            t=index,
            changepoint_probability=short,
            map_run_length=map_run,
            changepoint=emit,
            changepoint_index=np.where(emit, candidate, -1),
            log_evidence=evidence,
        )

    def run(self, series: npt.ArrayLike) -> BocpdTrace:
        """Consume a (T, S) block of observations in order (outputs per stream; pooled: one)."""
        block = np.asarray(series, dtype=np.float64)
        if block.ndim != 2 or block.shape[1] != self.n_streams:
            raise ValueError(f"expected shape (T, {self.n_streams}), got {block.shape}")
        rows = (block.shape[0], self.log_r.shape[0])
        probs = np.empty(rows)
        maps = np.empty(rows, dtype=np.int64)
        found: list[list[int]] = [[] for _ in range(rows[1])]
        for i, row in enumerate(block):
            step = self.update(row)
            probs[i] = step.changepoint_probability
            maps[i] = step.map_run_length
            for s in np.flatnonzero(step.changepoint):
                found[s].append(int(step.changepoint_index[s]))
        return BocpdTrace(probs, maps, tuple(tuple(cps) for cps in found))

    def _state_arrays(self) -> tuple[str, ...]:
        return (
            _STATE_ARRAYS
            + (_MIXTURE_ARRAYS if self.config.shift_share else ())
            + (_SCATTERED_ARRAYS if self.config.scattered_share else ())
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state (arrays as base64 little-endian bytes, so -inf and bits survive)."""
        return {
            "version": STATE_VERSION,
            "config": asdict(self.config),
            "priors": [asdict(p) for p in self.priors],
            "t": self.t,
            "arrays": {name: _encode(getattr(self, name)) for name in self._state_arrays()},
            "detector": {name: _encode(getattr(self, name)) for name in _DETECTOR_ARRAYS},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Bocpd:
        """Resume from `to_dict()` output."""
        if int(data["version"]) != STATE_VERSION:
            raise ValueError(f"unsupported BOCPD state version {data['version']}")
        priors = [NormalGammaPrior(**p) for p in data["priors"]]
        model = cls(len(priors), BocpdConfig(**data["config"]), priors)
        model.t = int(data["t"])
        for group in ("arrays", "detector"):
            for name, blob in data[group].items():
                if name not in model._state_arrays() + _DETECTOR_ARRAYS:
                    raise ValueError(f"unknown state array {name!r}")
                array = _decode(blob)
                if array.shape != getattr(model, name).shape:
                    raise ValueError(f"state array {name!r} has shape {array.shape}")
                setattr(model, name, array.astype(getattr(model, name).dtype))
        return model
