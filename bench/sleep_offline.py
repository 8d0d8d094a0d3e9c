"""The sleep model's side of the harness in seconds, without Home Assistant (a development aid).

The full harness (`bench_sleep.py`) replays each home through HA for about 18 minutes. To iterate on
training and calibration this computes each home's features straight from its state changes
(`bench_routine.records_of`, with the home's restarts as gaps), retrains at every 04:30 from the
labels entered by then (`training.train_from_records` with the pipeline's `clr_config`), scores the
following day's windows with the new model and reports accuracy and ECE over the harness's stable
period (`sleep_score`). It skips what only the replay has (the label helpers' timing, the 15-minute
refreshes, the detector's routine change), so the README's figures come from the full harness;
on seed 2026 it reproduced the harness's ECE to the third decimal.

    .venv/bin/python -m bench.sleep_offline late_sleeper new_shift_work [--seed 2026]
    .venv/bin/python -m bench.sleep_offline shift_worker --seed 101-110

Every home's line says which sleep goals it misses; the last line counts them. On held-out seeds
it is the quick outside check of the sleep model (README, "Held-out homes, sleep": all 86 homes
meet both goals; before the design's door column, five shift workers missed one, and before a room
with a flat sensor said nothing at inference, one late sleeper).
"""

from __future__ import annotations

import argparse
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from bench import sleep_score
from bench.bench_routine import records_of, seed_range
from bench.households import household
from custom_components.roomdb.ml.clr import ClrArtifact
from custom_components.roomdb.ml.labels import SleepLabel
from custom_components.roomdb.ml.training import (
    Inference,
    clr_config,
    infer_latest,
    train_from_records,
)

DAY = 86400.0
MIN_NIGHTS = 7
MIN_ROWS = 200


def figures(name: str, seed: int) -> dict[str, float]:
    """Accuracy and ECE over the stable period of one home, retrained nightly."""
    home = household(name, seed)
    records = records_of(home, rooms_too=True)
    starts = sleep_score.window_starts(home)
    asleep = sleep_score.truth(home, starts)
    (lo, hi), _ = sleep_score.periods(home)
    zone = ZoneInfo(home.tz)
    prob = np.full(starts.size, np.nan)
    day = datetime.fromtimestamp(lo, zone).date() - timedelta(days=1)
    while day <= datetime.fromtimestamp(hi, zone).date():
        retrain = datetime.combine(day, time(4, 30), zone).timestamp()
        day += timedelta(days=1)
        entered = sleep_score.latest_labels(home.entries, retrain)
        labels = [SleepLabel(d, home.tz, a, b) for d, (a, b) in sorted(entered.items())]
        config = clr_config(MIN_NIGHTS, MIN_ROWS, len(labels))
        outcome = train_from_records([r for r in records if r[2] <= retrain], labels, config)
        if not isinstance(outcome.result, ClrArtifact):
            continue
        # A day of windows before the first scored one gives the design's lagged features.
        recent = [r for r in records if retrain - DAY <= r[1] < retrain + DAY]
        inference = infer_latest(outcome.result, recent)
        if not isinstance(inference, Inference):
            continue
        published = dict(
            zip(inference.starts.tolist(), inference.probabilities.tolist(), strict=True)
        )
        upcoming = np.flatnonzero((starts >= retrain) & (starts < retrain + DAY))
        prob[upcoming] = [published.get(float(starts[i]), np.nan) for i in upcoming]
    stable = (starts >= lo) & (starts < hi)
    return {
        "accuracy": sleep_score.accuracy(prob, asleep, stable),
        "ece": sleep_score.ece(prob, asleep, stable),
    }


def missed(result: dict[str, float]) -> list[str]:
    """The sleep goals (`sleep_score.GOALS`) these figures miss."""
    out: list[str] = []
    for name, value in result.items():
        if not sleep_score.meets(name, value):
            sense, goal = sleep_score.GOALS[name]
            out.append(f"{name} {value:.4f} (goal {sense} {goal})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("homes", nargs="+")
    parser.add_argument(
        "--seed", type=seed_range, default=[2026], help="a seed or a range such as 101-110"
    )
    args = parser.parse_args()
    missing = 0
    for name in args.homes:
        for seed in args.seed:
            result = figures(name, seed)
            line = f"{name} (seed {seed}): " + ", ".join(f"{k} {v:.4f}" for k, v in result.items())
            goals = missed(result)
            missing += bool(goals)
            print(line + (f"  MISSED: {'; '.join(goals)}" if goals else ""), flush=True)
    print(f"{missing} of {len(args.homes) * len(args.seed)} homes miss a sleep goal")


if __name__ == "__main__":
    main()
