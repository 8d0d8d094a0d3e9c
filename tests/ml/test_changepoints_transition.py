"""A new routine whose first days move different signals: found with its second day.

The homes here are drawn window by window (15-minute home-wide feature values): an office worker
(out 08:00 to about 17:30 on weekdays, asleep from about 23:00, the phone charging overnight)
takes a night-shift job. Its first day is spent at home (daytime activity moved) before the
first shift; from the second day on the days are slept through (the charger, the sleep times
moved) and the daytime is quiet again, as it was while at the office. So the first two new days
share only the night (the shift begins at 21:30 each day: no charger, no late light), yet both
are far from the routine. Most homes here have no presence (away is never known), as with
time-only homes. With presence a shift is a night away, but one spent between an afternoon and a
late morning at home: no trip, so its days are read, and the nights away are themselves new.

Without presence, a weekend away is two odd days, and it raises an alarm of its own. The new
routine is then learned from the days after it; when the new job begins within those two weeks,
the routine before the weekend is still watched, and it finds the job.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
import json

import numpy as np
import pytest

from custom_components.roomdb.ml.bocpd import Bocpd, BocpdConfig, NormalGammaPrior
from custom_components.roomdb.ml.changepoints import (
    TrackerState,
    TrackerUpdate,
    advance,
    day_end,
)
from custom_components.roomdb.ml.episodes import Episode
from custom_components.roomdb.ml.features import FEATURE_NAMES, HOME_ROOM_ID, resolve_tz
from custom_components.roomdb.ml.store import FeatureRecord

CONFIG = BocpdConfig(hazard=1 / 250, max_run_length=120)
TZ = "America/New_York"
START = date(2026, 9, 7)  # a Monday, no DST switch within six weeks
DAYS = 42
CHANGE = START + timedelta(days=28)  # the Monday the new job begins
WINDOW = 900.0
NIGHTS_OFF = frozenset({4, 5})  # Friday and Saturday nights off the new job


def _shift_night(day: date, change: date | None, nights_off: frozenset[int] = NIGHTS_OFF) -> bool:
    return change is not None and day >= change and day.weekday() not in nights_off


def _home(
    seed: int,
    change: date | None,
    trip: frozenset[date] = frozenset(),
    *,
    presence: bool = False,
    flat: tuple[datetime, datetime] | None = None,
    nights_off: frozenset[int] = NIGHTS_OFF,
    at_home: frozenset[date] = frozenset(),
) -> tuple[list[FeatureRecord], list[Episode]]:
    """Six weeks of windows and the nights' sleep (night shifts from `change` on, days and
    nights away on the days of `trip`, weekdays at home on the days of `at_home`; with `presence`,
    away is known; `flat`: a span in which a motion sensor's battery is flat, unavailable and
    its motion lost)."""
    rng = np.random.default_rng(seed)
    zone = resolve_tz(TZ)
    records: list[FeatureRecord] = []
    episodes: list[Episode] = []
    midnight = {
        START + timedelta(days=i): datetime.combine(START + timedelta(days=i), time(0), zone)
        for i in range(DAYS + 1)
    }
    # Each night's sleep (hours after the night's midnight-before): a night shift is slept off
    # the next morning.
    sleep: dict[date, tuple[float, float]] = {}
    for i in range(DAYS):
        day = START + timedelta(days=i)
        free_tomorrow = (day + timedelta(days=1)).weekday() >= 5
        if _shift_night(day, change, nights_off):
            sleep[day] = (32.5 + rng.normal(0, 0.3), 39.5 + rng.normal(0, 0.4))
        else:
            late = 1.0 if free_tomorrow else 0.0
            sleep[day] = (23.0 + late + rng.normal(0, 0.3), 30.75 + late + rng.normal(0, 0.25))
        if day in trip:
            continue
        bed, wake = sleep[day]
        episodes.append(
            Episode(
                day, midnight[day].timestamp() + bed * 3600, midnight[day].timestamp() + wake * 3600
            )
        )
    for i in range(DAYS):
        day = START + timedelta(days=i)
        before = day - timedelta(days=1)
        new = change is not None and day >= change
        office = day.weekday() < 5 and not new and day not in at_home
        back = 17.5 + rng.normal(0, 0.4)
        free = day.weekday() >= 5 and not new
        outing = rng.uniform(10, 16) if free and rng.random() < 0.6 else -10.0
        tv = rng.random() < 0.6
        charges = rng.random() < 0.85
        for k in range(96):
            ws = midnight[day].timestamp() + k * WINDOW
            local = datetime.fromtimestamp(ws, zone)
            hour = local.hour + local.minute / 60
            # Asleep: the night before's sleep (its tail) or tonight's (its head).
            asleep = day not in trip and any(
                bed <= 24 * offset + hour < wake
                for offset, (bed, wake) in ((1, sleep.get(before, (99.0, 99.0))), (0, sleep[day]))
            )
            at_shift = (_shift_night(before, change, nights_off) and hour < 7.5) or (
                _shift_night(day, change, nights_off) and hour >= 21.5
            )
            away = (
                day in trip
                or at_shift
                or (office and 8.0 <= hour < back)
                or outing <= hour < outing + 2
            )
            p = 0.03 if asleep else (0.0 if away else 0.9)
            dark = hour < 7.0 or hour >= 19.0
            values = dict.fromkeys(FEATURE_NAMES, 0.0)
            values["activity_events"] = float(rng.random() < p) * float(rng.integers(1, 5))
            if flat is not None and flat[0].timestamp() <= ws < flat[1].timestamp():
                values["unavailable_fraction"] = 1.0
                values["activity_events"] = float(values["activity_events"] > 2)
            values["light_on_fraction"] = float(dark and not asleep and not away)
            values["media_active_fraction"] = float(tv and 19.5 <= hour < 23.0 and not away)
            values["charging_fraction"] = float(charges and asleep)
            values["away_fraction"] = float(presence and away)
            records += [
                (HOME_ROOM_ID, ws, ws + WINDOW, name, value, 2) for name, value in values.items()
            ]
    return records, episodes


def _run(
    seed: int,
    change: date | None,
    last_day: date,
    trip: frozenset[date] = frozenset(),
    *,
    presence: bool = False,
    flat: tuple[datetime, datetime] | None = None,
    nights_off: frozenset[int] = NIGHTS_OFF,
    at_home: frozenset[date] = frozenset(),
) -> TrackerUpdate:
    """The detector over the home's days up to `last_day`."""
    records, episodes = _home(
        seed,
        change,
        trip,
        presence=presence,
        flat=flat,
        nights_off=nights_off,
        at_home=at_home,
    )
    until = day_end(last_day, TZ)
    return advance(None, records, episodes, tz=TZ, until=until, config=CONFIG)


LAST_DAY = START + timedelta(days=DAYS - 2)
# Not met yet for every home: here the second new day raises the odds of a run begun on the
# first to 0.2-0.5 against a threshold of 2.2, and the change is found with its third day (README,
# "How well it works").
SECOND_DAY_NOT_MET = pytest.mark.xfail(strict=True, reason="found with the third new day")


@pytest.mark.parametrize(
    "seed",
    [
        pytest.param(1, marks=SECOND_DAY_NOT_MET),
        2,
        pytest.param(3, marks=SECOND_DAY_NOT_MET),
        4,
    ],
)
def test_a_new_job_that_begins_with_a_day_at_home_is_found_with_its_second_day(seed: int) -> None:
    found = [a for a in _run(seed, CHANGE, LAST_DAY).new_changepoints if a.found >= CHANGE]
    assert found
    assert found[0].night == CHANGE
    assert found[0].found == CHANGE + timedelta(days=1)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_new_job_is_found_by_its_third_day_and_nothing_before_it(seed: int) -> None:
    alarms = _run(seed, CHANGE, LAST_DAY).new_changepoints
    assert alarms
    assert CHANGE <= alarms[0].night <= CHANGE + timedelta(days=1)
    assert alarms[0].found <= CHANGE + timedelta(days=2)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_office_routine_alone_raises_at_most_one_alarm(seed: int) -> None:
    update = _run(seed, None, LAST_DAY)
    assert update.status == "ok"
    assert len(update.new_changepoints) <= 1


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_office_routines_threshold_is_calibrated_below_its_cap(seed: int) -> None:
    """The routine's own days, replayed shuffled, set the alarm threshold; with a moved signal's
    days held to the routine's spread, two of these homes put it at its cap (odds of 250, where
    two clearly new days reached 127) instead of near the model's floor (2.2)."""
    state = _run(seed, None, CHANGE - timedelta(days=1)).state
    assert state is not None
    assert state.threshold < 1 / CONFIG.hazard / 10


WEEKEND_AWAY = frozenset({CHANGE - timedelta(days=9), CHANGE - timedelta(days=8)})
"""The Saturday and Sunday nine days before the new job (no presence: nobody knows it is a trip)."""


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_new_job_a_week_after_a_weekend_away_is_found_by_its_third_day(seed: int) -> None:
    """The weekend raises an alarm and the routine is learned again from it; learned from days
    that include the job's first week, the job was never found."""
    weekend, job = _run(seed, CHANGE, LAST_DAY, WEEKEND_AWAY).new_changepoints
    assert weekend.night in WEEKEND_AWAY
    assert CHANGE <= job.night <= CHANGE + timedelta(days=1)
    assert job.found <= CHANGE + timedelta(days=2)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_after_a_weekend_away_the_routine_it_returns_to_raises_no_alarm(seed: int) -> None:
    (weekend,) = _run(seed, None, LAST_DAY, WEEKEND_AWAY).new_changepoints
    assert weekend.night in WEEKEND_AWAY


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_with_presence_night_shifts_are_found_with_their_second_day(seed: int) -> None:
    """Each shift is a night away; read as trips, the new job's days were left out but for the
    nights off, and it was found a week or more late."""
    alarms = _run(seed, CHANGE, LAST_DAY, presence=True).new_changepoints
    assert [(a.night, a.found) for a in alarms] == [(CHANGE, CHANGE + timedelta(days=1))]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_with_presence_night_shifts_are_found_through_a_flat_battery(seed: int) -> None:
    """A motion sensor's battery is flat from 08:00 on the day after the first shift to 06:00
    the next day. Its activity is unknown, but presence still says the occupant came home after
    the shift; with presence left out too, the morning read as a night away not come back
    from, the day as a trip, and the job was found a day late."""
    zone = resolve_tz(TZ)
    second = CHANGE + timedelta(days=1)
    flat = (
        datetime.combine(second, time(8), zone),
        datetime.combine(second + timedelta(days=1), time(6), zone),
    )
    alarms = _run(seed, CHANGE, LAST_DAY, presence=True, flat=flat).new_changepoints
    assert [(a.night, a.found) for a in alarms] == [(CHANGE, second)]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_night_shifts_back_after_three_nights_off_are_the_same_change(seed: int) -> None:
    """Two shifts, then Wednesday to Friday nights off, then shifts again from Saturday. On the
    nights off the night-time signals the alarm named are the old routine's, so the old
    routine's watch took the shifts' return for a change of its own: a second alarm."""
    alarms = _run(
        seed, CHANGE, LAST_DAY, presence=True, nights_off=frozenset({2, 3, 4})
    ).new_changepoints
    assert [(a.night, a.found) for a in alarms] == [(CHANGE, CHANGE + timedelta(days=1))]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_working_from_home_ten_days_after_sick_days_at_home_is_a_change_of_its_own(
    seed: int,
) -> None:
    """Wednesday to Friday at home sick, then from the Monday ten days later every weekday at
    home: the change moves the daytime activity the way the sick days did, yet it is no return
    from days off (the old routine's watch takes a run for the alarmed one back only within a
    week of the alarm's night)."""
    sick = {CHANGE - timedelta(days=d) for d in (12, 11, 10)}
    at_home = frozenset(sick | {START + timedelta(days=i) for i in range(28, DAYS)})
    alarms = _run(seed, None, LAST_DAY, at_home=at_home).new_changepoints
    assert [a.night in sick for a in alarms] == [True, False]
    assert CHANGE <= alarms[1].night <= CHANGE + timedelta(days=1)
    assert alarms[1].found <= CHANGE + timedelta(days=2)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_with_presence_a_weekend_away_is_a_trip_and_raises_no_alarm(seed: int) -> None:
    assert _run(seed, None, LAST_DAY, WEEKEND_AWAY, presence=True).new_changepoints == ()


def test_resuming_day_by_day_after_an_alarm_equals_one_run() -> None:
    """The routine before an alarm, watched while the new one is learned, survives a restart."""
    records, episodes = _home(1, CHANGE, WEEKEND_AWAY)
    until = day_end(min(WEEKEND_AWAY) + timedelta(days=2), TZ)
    first = advance(None, records, episodes, tz=TZ, until=until, config=CONFIG)
    assert first.state is not None
    assert first.state.previous is not None
    found = list(first.new_changepoints)
    state = first.state
    while until < day_end(LAST_DAY, TZ):
        until += 86400.0
        state = TrackerState.from_json(state.to_json())
        update = advance(state, records, episodes, tz=TZ, until=until, config=CONFIG)
        found += update.new_changepoints
    whole = _run(1, CHANGE, LAST_DAY, WEEKEND_AWAY).new_changepoints
    assert [a.as_dict() for a in found] == [a.as_dict() for a in whole]
    assert len(found) == 2


def test_a_stored_previous_routine_over_other_dimensions_is_refused() -> None:
    state = _run(1, CHANGE, min(WEEKEND_AWAY) + timedelta(days=2), WEEKEND_AWAY).state
    assert state is not None
    assert state.previous is not None
    restored = TrackerState.from_json(state.to_json()).previous
    assert restored is not None
    assert restored.to_dict() == state.previous.to_dict()
    data = json.loads(state.to_json())
    prior = NormalGammaPrior(mu0=0.0, kappa0=1.0, alpha0=1.0, beta0=1.0)
    data["previous"]["model"] = Bocpd(3, replace(CONFIG, pooled=True), prior).to_dict()
    with pytest.raises(ValueError, match="does not match"):
        TrackerState.from_json(json.dumps(data))
    data = json.loads(state.to_json())
    data["previous"]["alarm"]["signals"] = ["a signal of an older profile"]
    with pytest.raises(ValueError, match="does not match"):
        TrackerState.from_json(json.dumps(data))
    data = json.loads(state.to_json())
    data["previous"]["moved"] = [["a signal of an older profile", 6.0]]
    with pytest.raises(ValueError, match="does not match"):
        TrackerState.from_json(json.dumps(data))
