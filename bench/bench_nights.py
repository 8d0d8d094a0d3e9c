"""Suggested nights: the detector's bedtime and wake-time errors on ten days of each simulated home.

Every home of `bench/households.py` (seed `SEED`, which the detector was not tuned on) gives ten
days and the morning after; `ml.nights.suggest_nights` proposes each night, and its median and
90th-percentile errors against the simulator's truth are printed beside a plain baseline on the
same events: each night's longest stretch without any activity event (every motion, light, door,
media or appliance change counts, presence ignored), as a quiet-period detector without RoomDB's
rules would find it. Pure Python, about ten seconds; `--quick` runs two homes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from itertools import pairwise
import statistics
from typing import Final

import numpy as np

from bench.households import ARCHETYPES, Household, household
from custom_components.roomdb.ml.features import RawEvent, event_kind, is_activity, night_of
from custom_components.roomdb.ml.nights import suggest_nights

SEED: Final = 2026
DAYS: Final = 10
SIM_DAYS: Final = 24
QUICK_HOMES: Final = ("pet_owner", "couple")
GOAL_MIN: Final = 20.0
MIN_NIGHT: Final = 3 * 3600.0


def raw_events(home: Household, end: float) -> list[RawEvent]:
    """The home's changes before `end` as raw events (old state from the change before)."""
    classes = {d.entity_id: d.device_class for d in home.devices}
    last: dict[str, str] = {}
    events = []
    for change in home.changes:
        if change.ts >= end:
            break
        events.append(
            RawEvent(
                change.entity_id,
                change.entity_id.split(".")[0],
                classes.get(change.entity_id),
                None,
                change.state,
                last.get(change.entity_id),
                change.ts,
            )
        )
        last[change.entity_id] = change.state
    return events


def longest_quiet(events: Sequence[RawEvent], tz: str) -> dict[date, tuple[float, float]]:
    """The baseline: each night's longest gap between two activity events (at least 3 h)."""
    times = sorted(
        e.ts
        for e in events
        if (kind := event_kind(e)) is not None and kind != "presence" and is_activity(kind, e)
    )
    best: dict[date, tuple[float, float]] = {}
    for start, end in pairwise(times):
        if end - start < MIN_NIGHT:
            continue
        night = night_of(start, tz)
        current = best.get(night)
        if current is None or end - start > current[1] - current[0]:
            best[night] = (start, end)
    return best


def _errors(
    found: dict[date, tuple[float, float]], home: Household, end: float
) -> tuple[list[float], list[float]]:
    bed, wake = [], []
    for night in home.nights:
        if night.wake > end:
            continue
        guess = found.get(night.night_date)
        # A night the detector missed counts as 12 hours off (it is not hidden from the median).
        bed.append(abs(guess[0] - night.bedtime) / 60 if guess else 720.0)
        wake.append(abs(guess[1] - night.wake) / 60 if guess else 720.0)
    return bed, wake


def run(quick: bool) -> list[dict[str, object]]:
    names = QUICK_HOMES if quick else tuple(ARCHETYPES)
    rows: list[dict[str, object]] = []
    for name in names:
        home = household(name, SEED, days=SIM_DAYS)
        end = home.start_ts + DAYS * 86400.0 + 12 * 3600.0
        events = raw_events(home, end)
        suggested = {
            s.night_date: (s.bedtime, s.wake)
            for s in suggest_nights(events, home.start_ts, end, home.tz)
        }
        mine = _errors(suggested, home, end)
        theirs = _errors(longest_quiet(events, home.tz), home, end)
        for metric, index in (("bedtime", 0), ("wake time", 1)):
            for label, pick in (
                ("median", statistics.median),
                ("p90", lambda v: float(np.percentile(v, 90))),
            ):
                value, baseline = float(pick(mine[index])), float(pick(theirs[index]))
                rows.append(
                    {
                        "benchmark": f"suggested nights, {name} ({len(mine[index])} nights)",
                        "metric": f"{metric} error, {label}",
                        "roomdb": round(value, 1),
                        "baseline": round(baseline, 1),
                        "unit": "min",
                        "ratio": round(baseline / value, 2) if value else "",
                        "target": f"<= {GOAL_MIN:g}" if label == "median" else "",
                        "met": value <= GOAL_MIN if label == "median" else "",
                    }
                )
    return rows
