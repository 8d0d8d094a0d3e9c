"""BOCPD: vectorised (S, R) update vs a per-stream loop; accuracy on a piecewise-Gaussian series.

Speed is measured in the steady state (after R steps, when every run-length bin is live): one
`Bocpd` over S = 20 streams against 20 `ReferenceBocpd` instances updated one after another, same
observations, one BLAS/OpenMP thread. Accuracy uses TCPDBench's F1 (margin 5) and covering on a
seeded 10,000-point series; the baseline is TCPDBench's "zero" method (no changepoints).
"""

from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_limits

from bench.changepoint_metrics import changepoint_covering, changepoint_f1
from bench.reference_bocpd import ReferenceBocpd
from custom_components.roomdb.ml.bocpd import Bocpd, BocpdConfig
from tests.ml.household import piecewise_gaussian

STREAMS = 20
RUN_LENGTHS = 500
SERIES_SEED = 1


def _speed(steps: int) -> tuple[float, float]:
    config = BocpdConfig(max_run_length=RUN_LENGTHS)
    data = np.random.default_rng(0).normal(size=(RUN_LENGTHS + steps, STREAMS))
    warm, timed = data[:RUN_LENGTHS], data[RUN_LENGTHS:]

    vectorised = Bocpd(STREAMS, config)
    vectorised.run(warm)
    started = time.perf_counter()
    for row in timed:
        vectorised.update(row)
    vec_us = (time.perf_counter() - started) / (steps * STREAMS) * 1e6

    loop = [ReferenceBocpd(config) for _ in range(STREAMS)]
    for row in warm:
        for model, value in zip(loop, row.tolist(), strict=True):
            model.update(value)
    started = time.perf_counter()
    for row in timed:
        for model, value in zip(loop, row.tolist(), strict=True):
            model.update(value)
    loop_us = (time.perf_counter() - started) / (steps * STREAMS) * 1e6
    return vec_us, loop_us


def run(quick: bool) -> list[dict[str, object]]:
    steps = 150 if quick else 1500
    points = 2000 if quick else 10_000
    with threadpool_limits(1):
        vec_us, loop_us = _speed(steps)
        series, truth = piecewise_gaussian(points, SERIES_SEED)
        found = list(Bocpd(1).run(series[:, None]).changepoints[0])
    f1 = changepoint_f1(truth, found)
    cover = changepoint_covering(truth, found, points)
    zero_f1 = changepoint_f1(truth, []).f1
    zero_cover = changepoint_covering(truth, [], points)
    speed_ratio = loop_us / vec_us
    return [
        {
            "benchmark": "bocpd",
            "metric": f"µs/step/stream, S={STREAMS}, R={RUN_LENGTHS} (vs per-stream loop)",
            "roomdb": vec_us,
            "baseline": loop_us,
            "unit": "µs",
            "ratio": speed_ratio,
            "target": ">= 1.5x",
            "met": speed_ratio >= 1.5,
        },
        {
            "benchmark": "bocpd",
            "metric": (
                f"F1 margin 5, {points:,} pts, {len(truth)} cps "
                f"(P {f1.precision:.3f}, R {f1.recall:.3f}; vs zero)"
            ),
            "roomdb": f1.f1,
            "baseline": zero_f1,
            "unit": "",
            "ratio": f1.f1 / zero_f1,
            "target": ">= 0.9",
            "met": f1.f1 >= 0.9,
        },
        {
            "benchmark": "bocpd",
            "metric": f"covering, {points:,} pts (vs zero)",
            "roomdb": cover,
            "baseline": zero_cover,
            "unit": "",
            "ratio": cover / zero_cover,
            "target": ">= 0.9",
            "met": cover >= 0.9,
        },
    ]
