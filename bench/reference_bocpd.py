"""BOCPD written plainly, one stream at a time: the tests' oracle, the benchmark's baseline.

It lives outside the integration because nothing in Home Assistant runs it.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from custom_components.roomdb.ml.bocpd import (
    BocpdConfig,
    FloatArray,
    IntArray,
    NormalGammaPrior,
    student_t_constant,
)


class ReferenceBocpd:
    """One stream, written plainly: growing run-length arrays, run counts, `math.lgamma`.

    Same model, truncation and detector as `Bocpd`; the tests use it as an oracle and the
    benchmark loops it over streams as the baseline.
    """

    def __init__(
        self, config: BocpdConfig | None = None, prior: NormalGammaPrior | None = None
    ) -> None:
        """Start with a single run of length 0."""
        self.config = config or BocpdConfig()
        self.prior = prior or NormalGammaPrior()
        p = self.prior
        limit = self.config.max_run_length + 1
        self._c_table = np.array([student_t_constant(p.alpha0 + n / 2.0) for n in range(limit)])
        self.log_r = np.array([0.0])
        self.count = np.array([0], dtype=np.int64)  # observations in each run
        self.mu = np.array([p.mu0])
        self.beta = np.array([p.beta0])
        self.t = 0
        self.candidate = 0
        self.streak = 0
        self.last_changepoint = 0

    def _log_predictive(self, x: float) -> FloatArray:
        p = self.prior
        kappa = p.kappa0 + self.count
        alpha = p.alpha0 + self.count / 2.0
        c = self._c_table[np.minimum(self.count, self._c_table.size - 1)]
        if self.count[-1] >= self._c_table.size:
            c[-1] = student_t_constant(alpha[-1])
        var = self.beta * (kappa + 1.0) / (alpha * kappa)  # Student-t scale^2
        nu = 2.0 * alpha
        out: FloatArray = (
            c
            - 0.5 * np.log(nu * math.pi * var)
            - (nu + 1.0) / 2.0 * np.log1p((x - self.mu) ** 2 / (nu * var))
        )
        return out

    def update(self, x: float) -> tuple[float, int, int | None]:
        """Consume one observation; return (P(r < w), MAP run length, emitted changepoint)."""
        cfg, p = self.config, self.prior
        size = cfg.max_run_length
        joint = self.log_r + self._log_predictive(x)
        top = float(joint.max())
        evidence = top + math.log(float(np.exp(joint - top).sum()))
        growth = joint + math.log(1.0 - cfg.hazard)

        kappa = p.kappa0 + self.count
        mu_new = (kappa * self.mu + x) / (kappa + 1.0)
        beta_new = self.beta + kappa * (x - self.mu) ** 2 / (2.0 * (kappa + 1.0))
        count_new = self.count + 1
        if growth.size == size:  # full: fold the oldest two runs into the absorbing bin
            keep = -1 if growth[-1] > growth[-2] else -2
            merged = float(np.logaddexp(growth[-2], growth[-1]))
            growth = np.append(growth[:-2], merged)
            mu_new = np.append(mu_new[:-2], mu_new[keep])
            beta_new = np.append(beta_new[:-2], beta_new[keep])
            count_new = np.append(count_new[:-2], count_new[keep])
        self.log_r = np.concatenate([[evidence + math.log(cfg.hazard)], growth]) - evidence
        self.mu = np.concatenate([[p.mu0], mu_new])
        self.beta = np.concatenate([[p.beta0], beta_new])
        self.count = np.concatenate([[0], count_new])

        index = self.t
        self.t += 1
        map_run = int(np.argmax(self.log_r))
        short = float(np.exp(self.log_r[: cfg.short_run]).sum())
        candidate = self.candidate if map_run >= size - 1 else index - map_run + 1
        self.streak = self.streak + 1 if candidate == self.candidate else 0
        self.candidate = candidate
        if self.streak >= cfg.confirm and candidate > self.last_changepoint:
            self.last_changepoint = candidate
            return short, map_run, candidate
        return short, map_run, None

    def run(self, series: npt.ArrayLike) -> tuple[FloatArray, IntArray, list[int]]:
        """Consume a 1-D series; return (P(r < w), MAP run lengths, changepoints)."""
        values = np.asarray(series, dtype=np.float64).ravel()
        probs = np.empty(values.size)
        maps = np.empty(values.size, dtype=np.int64)
        found: list[int] = []
        for i, value in enumerate(values.tolist()):
            probs[i], maps[i], cp = self.update(value)
            if cp is not None:
                found.append(cp)
        return probs, maps, found
