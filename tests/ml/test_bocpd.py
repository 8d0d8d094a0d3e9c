"""BOCPD: vectorised vs reference, changepoints found, state resume."""

from __future__ import annotations

from dataclasses import replace
import json
import math

import numpy as np
import pytest
from scipy import stats

from bench.changepoint_metrics import changepoint_covering, changepoint_f1
from bench.reference_bocpd import ReferenceBocpd
from custom_components.roomdb.ml.bocpd import (
    Bocpd,
    BocpdConfig,
    NormalGammaPrior,
)

from .household import piecewise_gaussian


def piecewise(n: int, seed: int, **kwargs: int) -> tuple[np.ndarray, list[int]]:
    return piecewise_gaussian(n, seed, **kwargs)


def test_vectorised_agrees_with_reference_including_truncation() -> None:
    config = BocpdConfig(hazard=1 / 40, max_run_length=30, short_run=4, confirm=2)
    priors = [
        NormalGammaPrior(),
        NormalGammaPrior(mu0=3.0, kappa0=0.5, alpha0=2.0, beta0=0.5),
        NormalGammaPrior(mu0=-1.0, kappa0=1.0, alpha0=0.6, beta0=4.0),
    ]
    series = np.column_stack(
        [piecewise(400, seed, min_len=15, max_len=80)[0] for seed in (1, 2, 3)]
    )
    model = Bocpd(3, config, priors)
    trace = model.run(series)
    for s, prior in enumerate(priors):
        ref = ReferenceBocpd(config, prior)
        probs, maps, cps = ref.run(series[:, s])
        np.testing.assert_allclose(trace.changepoint_probability[:, s], probs, atol=1e-10)
        assert np.array_equal(trace.map_run_length[:, s], maps)
        assert list(trace.changepoints[s]) == cps
        np.testing.assert_allclose(np.exp(model.log_r)[s], np.exp(ref.log_r), atol=1e-10)
    assert (trace.map_run_length == config.max_run_length - 1).any()  # absorbing bin was used


def test_first_step_evidence_is_the_student_t_prior_predictive() -> None:
    stats = pytest.importorskip("scipy.stats")
    prior = NormalGammaPrior(mu0=1.0, kappa0=0.5, alpha0=2.5, beta0=3.0)
    step = Bocpd(1, prior=prior).update([2.7])
    scale = math.sqrt(prior.beta0 * (prior.kappa0 + 1) / (prior.alpha0 * prior.kappa0))
    expected = stats.t.logpdf(2.7, df=2 * prior.alpha0, loc=prior.mu0, scale=scale)
    assert step.log_evidence[0] == pytest.approx(expected, rel=1e-12)


def test_posterior_is_normalised_and_p_r0_is_the_hazard() -> None:
    config = BocpdConfig(hazard=0.01)
    model = Bocpd(2, config)
    for value in np.random.default_rng(0).normal(size=(50, 2)):
        model.update(value)
        posterior = np.exp(model.log_r)
        np.testing.assert_allclose(posterior.sum(axis=1), 1.0, atol=1e-12)
        np.testing.assert_allclose(posterior[:, 0], 0.01, rtol=1e-9)


def test_finds_changepoints_in_piecewise_gaussian() -> None:
    x, truth = piecewise(3000, seed=11)
    trace = Bocpd(1).run(x[:, None])
    found = list(trace.changepoints[0])
    assert changepoint_f1(truth, found).f1 >= 0.9
    assert changepoint_covering(truth, found, x.size) >= 0.9
    # The short-run mass rises right after each true change.
    after = [trace.changepoint_probability[c + 2 : c + 8, 0].max() for c in truth]
    assert np.median(after) > 0.5


def test_long_stationary_run_past_truncation_raises_no_alarm() -> None:
    x = np.random.default_rng(5).normal(10.0, 2.0, 2500)
    trace = Bocpd(1, BocpdConfig(max_run_length=200), NormalGammaPrior(mu0=10, beta0=4)).run(
        x[:, None]
    )
    assert trace.changepoints == ((),)
    assert trace.map_run_length[-1, 0] == 199


def test_state_round_trip_resumes_identically() -> None:
    x = np.column_stack([piecewise(900, seed)[0] for seed in (3, 4, 5, 6)])
    config = BocpdConfig(max_run_length=120)
    uninterrupted = Bocpd(4, config)
    expected = uninterrupted.run(x)
    first = Bocpd(4, config)
    head = first.run(x[:500])
    text = json.dumps(first.to_dict(), allow_nan=False)
    resumed = Bocpd.from_dict(json.loads(text))
    assert resumed.t == 500
    tail = resumed.run(x[500:])
    assert np.array_equal(
        np.vstack([head.changepoint_probability, tail.changepoint_probability]),
        expected.changepoint_probability,
    )
    assert np.array_equal(
        np.vstack([head.map_run_length, tail.map_run_length]), expected.map_run_length
    )
    combined = tuple(h + t for h, t in zip(head.changepoints, tail.changepoints, strict=True))
    assert combined == expected.changepoints
    assert np.array_equal(resumed.log_r, uninterrupted.log_r)
    assert resumed.to_dict() == uninterrupted.to_dict()


def test_state_validation() -> None:
    state = Bocpd(2).to_dict()
    with pytest.raises(ValueError):
        Bocpd.from_dict({**state, "version": 99})
    bad = json.loads(json.dumps(state))
    bad["arrays"]["mu"] = Bocpd(3).to_dict()["arrays"]["mu"]
    with pytest.raises(ValueError):
        Bocpd.from_dict(bad)
    model = Bocpd(2)
    with pytest.raises(ValueError):
        model.update([1.0, float("nan")])
    with pytest.raises(ValueError):
        model.run(np.zeros((3, 3)))
    with pytest.raises(ValueError):
        Bocpd(2, prior=[NormalGammaPrior()])
    for kwargs in (
        {"hazard": 0.0},
        {"max_run_length": 2},
        {"short_run": 0},
        {"confirm": -1},
        {"moved_scale": 0.0},
        {"scattered_share": 0.1},
        {"pooled": True, "shift_share": 0.5, "scattered_share": 0.5},
        {"pooled": True, "shift_share": 0.1, "scattered_share": 0.1, "scattered_scale": 0.0},
    ):
        with pytest.raises(ValueError):
            BocpdConfig(**kwargs)
    with pytest.raises(ValueError):
        NormalGammaPrior(beta0=0.0)


def _t_logpdf(x: float, mu: float, kappa: float, alpha: float, beta: float) -> float:
    """Normal-Gamma predictive: Student-t, 2 alpha dof, scale^2 = beta (kappa+1) / (alpha kappa)."""
    scale = math.sqrt(beta * (kappa + 1.0) / (alpha * kappa))
    return float(stats.t.logpdf(x, df=2.0 * alpha, loc=mu, scale=scale))


@pytest.mark.parametrize(
    ("moved_alpha", "moved_scale", "scattered_share"),
    [(0.0, 1.0, 0.0), (0.0, 2.0, 0.0), (50.0, 1.0, 0.0), (50.0, 2.0, 0.0), (50.0, 2.0, 0.15)],
)
def test_sparse_shift_mixture_agrees_with_textbook_runs(
    moved_alpha: float, moved_scale: float, scattered_share: float
) -> None:
    """Pooled with sparse shifts, every run predicts each dimension as the mixture of the fixed
    prior ("same"), a mean learned within the run ("moved": its noise learned from the prior's,
    or held near the prior's with `moved_alpha`, times `moved_scale` squared) and, with
    `scattered_share`, the fixed prior widened `scattered_scale` times ("scattered"), weighted by
    how well each did; checked run by run against scipy's Student-t (missing values add no
    evidence)."""
    share, kappa_moved, hazard, widen = 0.2, 0.5, 0.1, 3.0
    config = BocpdConfig(
        hazard=hazard,
        max_run_length=20,
        pooled=True,
        shift_share=share,
        moved_kappa=kappa_moved,
        moved_alpha=moved_alpha,
        moved_scale=moved_scale,
        scattered_share=scattered_share,
        scattered_scale=widen,
    )
    prior = NormalGammaPrior(mu0=0.5, kappa0=1e6, alpha0=2.5, beta0=4.0)
    # "Moved" keeps the prior's noise guess beta0 / alpha0 (times moved_scale squared): with its
    # own shape moved_alpha, or the prior's.
    shape = moved_alpha or prior.alpha0
    moved_prior = [0.5, kappa_moved, shape, shape * moved_scale**2 * prior.beta0 / prior.alpha0]
    weights = [1.0 - share - scattered_share, share, scattered_share]
    fresh_weights = [math.log(w) if w else -math.inf for w in weights]
    rng = np.random.default_rng(4)
    series = rng.normal(0.5, 1.0, size=(6, 3)) + np.array([0.0, 2.5, 0.0])
    series[2, 1] = np.nan
    series[3, 2] = 9.0  # one stray value
    model = Bocpd(3, config, prior)
    # Per run (a list, newest run first): log mass, and per dimension (moved stats, log weights
    # of same, moved and scattered).
    fresh = [(moved_prior, fresh_weights)] * 3
    runs: list[tuple[float, list[tuple[list[float], list[float]]]]] = [(0.0, fresh)]
    for x in series:
        step = model.update(x)
        grown = []
        for log_mass, dims in runs:
            log_pred = 0.0
            new_dims = []
            for value, (moved_stats, log_w) in zip(x, dims, strict=True):
                mu, kappa, alpha, beta = moved_stats
                if math.isnan(value):
                    new_dims.append((moved_stats, log_w))
                    continue
                parts = [
                    log_w[0] + _t_logpdf(value, 0.5, 1e6, prior.alpha0, prior.beta0),
                    log_w[1] + _t_logpdf(value, mu, kappa, alpha, beta),
                    log_w[2] + _t_logpdf(value, 0.5, 1e6, prior.alpha0, prior.beta0 * widen**2),
                ]
                every = float(np.logaddexp.reduce(parts))
                log_pred += every
                stats_after = [
                    (kappa * mu + value) / (kappa + 1.0),
                    kappa + 1.0,
                    alpha + 0.5,
                    beta + kappa * (value - mu) ** 2 / (2.0 * (kappa + 1.0)),
                ]
                new_dims.append((stats_after, [part - every for part in parts]))
            grown.append((log_mass + log_pred, new_dims))
        evidence = float(np.logaddexp.reduce([mass for mass, _ in grown]))
        assert step.log_evidence[0] == pytest.approx(evidence, rel=1e-9)
        runs = [
            (math.log(hazard), fresh),
            *((mass - evidence + math.log1p(-hazard), dims) for mass, dims in grown),
        ]
        expected = np.array([mass for mass, _ in runs])
        assert np.exp(model.log_r[0, : len(runs)]) == pytest.approx(np.exp(expected), abs=1e-12)


def _odds_of_a_new_run(
    config: BocpdConfig, seed: int, *, dimensions: int, spread: float, shift: float
) -> float:
    """Thirty routine days, then three on which `dimensions` of 42 are drawn around `shift` with
    `spread`: the odds that the current run began on the first of those three."""
    rng = np.random.default_rng(seed)
    days = rng.standard_t(5, size=(33, 42))
    days[30:, :dimensions] = shift + spread * rng.standard_normal((3, dimensions))
    model = Bocpd(42, config, NormalGammaPrior(mu0=0.0, kappa0=1e6, alpha0=2.5, beta0=2.5))
    model.run(np.clip(days, -6.0, 6.0))
    posterior = np.exp(model.log_r[0])
    return float(posterior[1:4].sum() / posterior[4:].sum())


@pytest.mark.parametrize(
    ("dimensions", "spread", "shift", "low", "high"),
    [
        (6, 4.0, 0.0, 3.0, math.inf),  # six signals turn erratic: far clearer with "scattered"
        (0, 1.0, 0.0, 0.0, 0.7),  # routine days only: a young run must allow for it, and pays
        (8, 1.0, 3.0, 0.5, 2.0),  # eight signals move: as clear either way
    ],
)
def test_a_scattered_component_finds_signals_turned_erratic(
    dimensions: int, spread: float, shift: float, low: float, high: float
) -> None:
    """A "scattered" signal is one whose days, in a run, spread four times as wide around the same
    mean: a new routine may make a signal irregular without moving it. Long runs of the routine
    rule it out; a young run must still allow for it, so it costs ordinary days' runs odds
    while a move of several signals is found as before (median odds ratio over 20 homes, with
    the component against without)."""
    plain = BocpdConfig(
        hazard=1 / 250,
        max_run_length=60,
        pooled=True,
        shift_share=0.1,
        moved_kappa=0.1,
        moved_alpha=1e6,
        moved_scale=2.0,
    )
    scattered = replace(plain, scattered_share=0.05)
    ratios = [
        _odds_of_a_new_run(scattered, seed, dimensions=dimensions, spread=spread, shift=shift)
        / _odds_of_a_new_run(plain, seed, dimensions=dimensions, spread=spread, shift=shift)
        for seed in range(20)
    ]
    assert low < float(np.median(ratios)) < high


def test_a_state_with_a_scattered_component_round_trips_through_truncation() -> None:
    config = BocpdConfig(
        max_run_length=8, pooled=True, shift_share=0.1, scattered_share=0.05, scattered_scale=3.0
    )
    prior = NormalGammaPrior(mu0=0.0, kappa0=1e6, alpha0=2.5, beta0=2.5)
    days = np.random.default_rng(9).standard_t(5, size=(20, 4))
    uninterrupted = Bocpd(4, config, prior)
    uninterrupted.run(days)
    resumed = Bocpd(4, config, prior)
    resumed.run(days[:12])
    resumed = Bocpd.from_dict(json.loads(json.dumps(resumed.to_dict())))
    resumed.run(days[12:])
    assert resumed.to_dict() == uninterrupted.to_dict()
    assert "log_scattered" in uninterrupted.to_dict()["arrays"]
    weights = np.logaddexp.reduce(
        [uninterrupted.log_same, uninterrupted.log_moved, uninterrupted.log_scattered]
    )
    assert np.allclose(weights, 0.0)


def test_a_stored_state_without_moved_scale_resumes_unchanged() -> None:
    """States stored before `moved_scale` and "scattered" existed resume as they were."""
    config = BocpdConfig(max_run_length=20, pooled=True, shift_share=0.1, moved_alpha=50.0)
    model = Bocpd(3, config, NormalGammaPrior(mu0=0.0, kappa0=1e6, alpha0=2.5, beta0=4.0))
    model.run(np.random.default_rng(2).normal(size=(5, 3)))
    stored = json.loads(json.dumps(model.to_dict()))
    for added in ("moved_scale", "scattered_share", "scattered_scale"):
        del stored["config"][added]
    resumed = Bocpd.from_dict(stored)
    assert resumed.config.moved_scale == 1.0
    assert resumed.config.scattered_share == 0.0
    assert resumed.to_dict() == model.to_dict()
    widened = Bocpd(3, replace(config, moved_scale=2.0), model.priors)
    assert widened.moved_beta == pytest.approx(4 * Bocpd(3, config, model.priors).moved_beta)
