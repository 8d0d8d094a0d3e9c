"""A change that moves only a few signals a little: found by its second day, no alarms without it.

The homes here are drawn window by window (15-minute home-wide feature values), not from event
fixtures: an office worker whose dog keeps the motion sensors busy while they are out, so
working from home raises the daytime activity only somewhat; the bedtime and wake time move an
hour later from the first night of the new routine. Ordinary days vary (outings, a phone left
off the charger, TV or not) and the home's clock switches to summer time in the middle.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
import pytest

from custom_components.roomdb.ml.bocpd import BocpdConfig
from custom_components.roomdb.ml.changepoints import advance, day_end
from custom_components.roomdb.ml.episodes import Episode
from custom_components.roomdb.ml.features import FEATURE_NAMES, HOME_ROOM_ID, resolve_tz
from custom_components.roomdb.ml.store import FeatureRecord

CONFIG = BocpdConfig(hazard=1 / 250, max_run_length=120)
TZ = "Europe/Berlin"
START = date(2026, 3, 2)  # a Monday; summer time starts on 2026-03-29
DAYS = 42
CHANGE = START + timedelta(days=28)  # the Monday a new routine begins
WINDOW = 900.0


def _home(
    seed: int, change: date | None, uncharged: frozenset[date] | None = None
) -> tuple[list[FeatureRecord], list[Episode]]:
    """Six weeks of windows and the nights' sleep (the new routine from `change` on).

    With `uncharged`, the phone is charged every night but those (otherwise it is left off the
    charger on a random fifth of nights).
    """
    rng = np.random.default_rng(seed)
    zone = resolve_tz(TZ)
    records: list[FeatureRecord] = []
    episodes: list[Episode] = []
    for i in range(DAYS):
        day = START + timedelta(days=i)
        new = change is not None and day >= change
        workday = day.weekday() < 5
        late = 1.0 if new else 0.0
        free_tomorrow = (day + timedelta(days=1)).weekday() >= 5
        bed = 22.75 + late + (1.0 if free_tomorrow else 0.0) + rng.normal(0, 0.3)
        wake = 6.5 + late + (1.5 if free_tomorrow else 0.0) + rng.normal(0, 0.2)
        bed_ts = datetime.combine(day, time(0), zone).timestamp() + bed * 3600
        wake_ts = datetime.combine(day + timedelta(days=1), time(0), zone).timestamp() + wake * 3600
        episodes.append(Episode(day, bed_ts, wake_ts))
        out = (8.0, 17.5 + rng.normal(0, 0.5)) if workday and not new else (0.0, 0.0)
        outing = rng.uniform(10, 16) if rng.random() < 0.5 else -10.0
        tv = rng.random() < 0.6
        charges = rng.random() < 0.8 if uncharged is None else day not in uncharged
        local = datetime.combine(day, time(0), zone)
        for k in range(96):
            ws = local.timestamp() + k * WINDOW
            hour = (
                datetime.fromtimestamp(ws, zone).hour + datetime.fromtimestamp(ws, zone).minute / 60
            )
            prev_wake = 6.5 + (1.0 if new and day > change else 0.0)
            asleep = hour < prev_wake or hour >= bed
            away = out[0] <= hour < out[1] or outing <= hour < outing + 2
            if asleep:
                p = 0.05  # the dog, now and then
            elif away:
                p = 0.4  # the dog alone
            else:
                p = 0.7
            dark = hour < 7.0 or hour >= (
                19.0 if ws >= datetime(2026, 3, 29, tzinfo=zone).timestamp() else 18.0
            )
            values = dict.fromkeys(FEATURE_NAMES, 0.0)
            values["activity_events"] = float(rng.random() < p) * float(rng.integers(1, 4))
            values["light_on_fraction"] = float(dark and not asleep and not away)
            values["media_active_fraction"] = float(tv and 19.5 <= hour < bed and not away)
            values["charging_fraction"] = float(charges and (hour >= bed or hour < prev_wake))
            records += [
                (HOME_ROOM_ID, ws, ws + WINDOW, name, value, 2) for name, value in values.items()
            ]
    return records, episodes


# Not met yet for every home: two days of such a change are often no odder than the ordinary
# odd days of a routine, and it is found with its third day (README, "How well it works").
SECOND_DAY_NOT_MET = pytest.mark.xfail(strict=True, reason="found with the third new day")
# Seed 3's phone stays off the charger two nights in a row a week before the change (it is off
# on a fifth of nights, at random, so most weekday pairs agree and the spread is the floor): a
# false alarm, and the routine relearned across the change. Its change was found before only
# because a false alarm about the reference days had restarted the detector just before it.
FALSE_ALARM_FIRST = pytest.mark.xfail(strict=True, reason="a false alarm a week before")


@pytest.mark.parametrize(
    "seed",
    [
        pytest.param(1, marks=SECOND_DAY_NOT_MET),
        pytest.param(2, marks=SECOND_DAY_NOT_MET),
        pytest.param(3, marks=FALSE_ALARM_FIRST),
    ],
)
def test_a_small_change_is_found_by_its_second_day(seed: int) -> None:
    records, episodes = _home(seed, CHANGE)
    end = day_end(START + timedelta(days=DAYS - 2), TZ)
    update = advance(None, records, episodes, tz=TZ, until=end, config=CONFIG)
    found = [a for a in update.new_changepoints if a.found >= CHANGE]
    assert found
    assert abs((found[0].night - CHANGE).days) <= 1
    assert found[0].found <= CHANGE + timedelta(days=1)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_same_home_without_a_change_raises_at_most_one_alarm(seed: int) -> None:
    records, episodes = _home(seed, None)
    end = day_end(START + timedelta(days=DAYS - 2), TZ)
    update = advance(None, records, episodes, tz=TZ, until=end, config=CONFIG)
    assert update.status == "ok"
    assert len(update.new_changepoints) <= 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_odd_days_among_the_reference_days_raise_no_alarm_when_watching_begins(seed: int) -> None:
    """A phone otherwise charged every night stays off the charger for four nights of the
    routine's second week, the last days the detector learns before it watches; every watched
    day is ordinary. Those days are the routine (the reference), not the start of a new one."""
    off_charger = frozenset(START + timedelta(days=k) for k in range(9, 13))
    records, episodes = _home(seed, None, off_charger)
    end = day_end(START + timedelta(days=DAYS - 2), TZ)
    update = advance(None, records, episodes, tz=TZ, until=end, config=CONFIG)
    assert update.state is not None
    assert update.state.days[0] == START + timedelta(days=14)  # watched from the third week
    assert update.new_changepoints == ()
