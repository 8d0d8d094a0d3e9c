"""What the routine detector reads of a day: which days count, and how far off a day is."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import numpy as np
import pytest

from custom_components.roomdb.ml.bocpd import FloatArray
from custom_components.roomdb.ml.changepoints import (
    CLIP,
    daily_profiles,
    day_end,
    dimension_names,
    standardise,
)
from custom_components.roomdb.ml.features import (
    FEATURE_NAMES,
    HOME_ROOM_ID,
    FeatureRow,
    Span,
    resolve_tz,
)

TZ = "Europe/London"
START = date(2026, 5, 4)  # a Monday, no DST switch within a fortnight
WINDOW = 900.0

# (local day, local clock hour) -> (away share, unobserved share) of that window
Plan = Callable[[date, float], tuple[float, float]]


def _rows(days: int, plan: Plan, events: float = 2.0) -> list[FeatureRow]:
    zone = resolve_tz(TZ)
    rows = []
    for i in range(days):
        day = START + timedelta(days=i)
        begin = datetime.combine(day, time(4), zone).timestamp()
        for k in range(int((day_end(day, zone) - begin) // WINDOW)):
            ws = begin + k * WINDOW
            local = datetime.fromtimestamp(ws, zone)
            clock = local.hour + local.minute / 60
            away, unobserved = plan(local.date(), clock)
            values = dict.fromkeys(FEATURE_NAMES, 0.0)
            values["activity_events"] = 0.0 if away else events
            values["away_fraction"] = away
            values["unavailable_fraction"] = unobserved
            rows.append(
                FeatureRow(HOME_ROOM_ID, ws, ws + WINDOW, tuple(values[n] for n in FEATURE_NAMES))
            )
    return rows


def _kept(days: int, plan: Plan, gaps: Sequence[Span] = ()) -> set[date]:
    rows = _rows(days, plan)
    return set(daily_profiles(rows, TZ, rows[-1].window_end, gaps=gaps).days)


def _at(day: date, hour: float) -> float:
    return datetime.combine(day, time(0), resolve_tz(TZ)).timestamp() + hour * 3600


def _home_all_day(day: date, clock: float) -> tuple[float, float]:
    return 0.0, 0.0


def test_every_day_at_home_is_read() -> None:
    assert _kept(5, _home_all_day) == {START + timedelta(days=i) for i in range(5)}


def test_an_early_commute_after_a_night_at_home_is_a_day_of_the_routine() -> None:
    # From Wednesday on, out at 05:30 (and the hour before unobserved after a restart): the early
    # morning is mostly away, yet the night before was spent at home.
    commute = START + timedelta(days=2)

    def plan(day: date, clock: float) -> tuple[float, float]:
        if day < commute:
            return 0.0, 0.0
        return float(5.5 <= clock < 14.0), float(day == commute and 4.0 <= clock < 5.0)

    assert commute in _kept(5, plan)


def test_the_days_a_trip_spans_are_left_out() -> None:
    # Out on Tuesday morning, back on Wednesday evening: Tuesday ends with a night away and
    # Wednesday begins after one; Thursday is a day at home again.
    leave = datetime.combine(START + timedelta(days=1), time(8))
    back = datetime.combine(START + timedelta(days=2), time(19))

    def plan(day: date, clock: float) -> tuple[float, float]:
        hour = int(clock)
        at = datetime.combine(day, time(hour, int((clock - hour) * 60)))
        return float(leave <= at < back), 0.0

    kept = _kept(5, plan)
    assert START + timedelta(days=1) not in kept
    assert START + timedelta(days=2) not in kept
    assert {START, START + timedelta(days=3)} <= kept


@pytest.mark.parametrize(
    ("leave", "back", "kept_days"),
    [
        # A night shift: home all afternoon, back before the late morning: no day is left out.
        (time(21), time(7, 15), {1, 2}),
        # Out from the morning, back the next evening: both days are part of the trip.
        (time(8), time(19), set[int]()),
        # Out from the morning, back at half past eight: the day back is spent at home.
        (time(8), time(8, 30), {2}),
        # Out after an afternoon at home, back the next evening: the day out was spent at home.
        (time(20, 30), time(19), {1}),
        # A late morning spent half out (back at 11:00) is not a morning at home.
        (time(21), time(11), {1}),
    ],
)
def test_a_night_away_leaves_out_the_days_it_was_not_home_around(
    leave: time, back: time, kept_days: set[int]
) -> None:
    # Out on Tuesday at `leave`, back on Wednesday at `back`. A day is left out for a night away
    # unless someone was home the afternoon before it (its own night) or the late morning after
    # it (the night before): a night shift is no trip.
    out = datetime.combine(START + timedelta(days=1), leave)
    home = datetime.combine(START + timedelta(days=2), back)

    def plan(day: date, clock: float) -> tuple[float, float]:
        hour = int(clock)
        return float(out <= datetime.combine(day, time(hour, int((clock - hour) * 60))) < home), 0.0

    kept = _kept(5, plan)
    assert {i for i in (1, 2) if START + timedelta(days=i) in kept} == kept_days
    assert {START, START + timedelta(days=3)} <= kept


@pytest.mark.parametrize(("recording", "read"), [(False, False), (True, True)])
def test_a_late_morning_unobserved_after_a_night_away_counts_as_away(
    recording: bool, read: bool
) -> None:
    # Back from a night shift at 07:15, with the sensors unavailable from 08:00 to 14:00. When
    # RoomDB was not recording, nothing says the morning was spent at home, so the night reads
    # as a trip. When only a binary sensor was down (a flat battery), presence still says it.
    out = datetime.combine(START + timedelta(days=1), time(21))
    home = datetime.combine(START + timedelta(days=2), time(7, 15))
    down = (_at(home.date(), 8.0), _at(home.date(), 14.0))

    def plan(day: date, clock: float) -> tuple[float, float]:
        hour = int(clock)
        away = float(out <= datetime.combine(day, time(hour, int((clock - hour) * 60))) < home)
        return away, float(day == home.date() and 8.0 <= clock < 14.0)

    kept = _kept(5, plan, gaps=() if recording else [down])
    assert START + timedelta(days=1) in kept
    assert (START + timedelta(days=2) in kept) is read


def test_a_flat_sensor_hides_the_activity_and_the_charger_not_the_lights_or_presence() -> None:
    # On the second day a binary sensor is unavailable from 08:00 to 23:00; RoomDB records
    # throughout but for a restart from 19:00 to 20:30. Lights are on from 19:00 and someone is
    # out from 10:00 to 13:00.
    day = START + timedelta(days=1)

    def plan(on: date, clock: float) -> tuple[float, float]:
        return float(on == day and 10.0 <= clock < 13.0), float(on == day and 8.0 <= clock < 23.0)

    rows = [
        replace(
            row,
            values=tuple(
                float(row.window_start >= _at(day, 19.0)) if name == "light_on_fraction" else value
                for name, value in zip(FEATURE_NAMES, row.values, strict=True)
            ),
        )
        for row in _rows(2, plan)
    ]
    profiles = daily_profiles(
        rows, TZ, rows[-1].window_end, gaps=[(_at(day, 19.0), _at(day, 20.5))]
    )
    values = dict(zip(dimension_names(), profiles.values[1], strict=True))
    assert values["away 10-13"] == 1.0
    assert values["light 19-22"] == 1.0  # half the bin recorded: enough to read it
    assert values["light 04-07"] == 0.0
    assert np.isnan([values[f"activity {b}"] for b in ("10-13", "13-16", "19-22")]).all()
    assert np.isnan(values["charging 13-16"])
    assert values["activity 04-07"] == pytest.approx(2 / 3)
    first = dict(zip(dimension_names(), profiles.values[0], strict=True))
    assert not np.isnan([v for n, v in first.items() if " " in n]).any()


def test_a_bin_mostly_not_recorded_is_missing_for_every_signal() -> None:
    day = START + timedelta(days=1)
    rows = _rows(2, _home_all_day)
    profiles = daily_profiles(
        rows, TZ, rows[-1].window_end, gaps=[(_at(day, 18.5), _at(day, 22.0))]
    )
    values = dict(zip(dimension_names(), profiles.values[1], strict=True))
    assert all(np.isnan(v) for n, v in values.items() if n.endswith(" 19-22"))
    assert values["light 16-19"] == 0.0


def test_night_shifts_are_read_with_their_nights_away() -> None:
    # Four shifts a week from Monday on (21:00 to 07:15): every day is read, and the nights
    # away show in the away share of the night's bins.
    def plan(day: date, clock: float) -> tuple[float, float]:
        works = day.weekday() < 4
        after_shift = (day - timedelta(days=1)).weekday() < 4 and day > START
        return float((works and clock >= 21.0) or (after_shift and clock < 7.25)), 0.0

    rows = _rows(7, plan)
    profiles = daily_profiles(rows, TZ, rows[-1].window_end)
    assert profiles.days == tuple(START + timedelta(days=i) for i in range(7))
    night = dimension_names().index("away 01-04")
    assert [float(v) for v in profiles.values[:, night]] == [1.0] * 4 + [0.0] * 3


@pytest.mark.parametrize("dropout", [22.0, 22.25, 23.5])
def test_without_the_night_before_the_early_morning_stands_for_it(dropout: float) -> None:
    # RoomDB is not recording from `dropout` on (Home Assistant stopped), so at most the night's
    # first hour and a half, spent at home, is known: too little of the night to decide it.
    # Wednesday's own early morning, away from 04:00 until noon, says it began after a night
    # away; read, the night was spent at home (an early start, not a trip).
    back_day = START + timedelta(days=2)

    def plan(day: date, clock: float) -> tuple[float, float]:
        return float(day == back_day and 4.0 <= clock < 12.0), 0.0

    down = (_at(back_day - timedelta(days=1), dropout), _at(back_day, 4.0))
    assert back_day not in _kept(5, plan, gaps=[down])
    assert back_day in _kept(5, plan)


@pytest.mark.parametrize(("events", "level"), [(1.0, 1 / 3), (2.0, 2 / 3), (3.0, 1.0), (9.0, 1.0)])
def test_a_windows_activity_counts_up_to_three_events(events: float, level: float) -> None:
    # A dog alone sets a sensor off now and then; a person at home moves through rooms. "Any
    # event" made the two alike; the level tells a single event from a busy window.
    rows = _rows(1, _home_all_day, events=events)
    profiles = daily_profiles(rows, TZ, rows[-1].window_end)
    activity = [i for i, n in enumerate(dimension_names()) if n.startswith("activity ")]
    assert profiles.values[0, activity] == pytest.approx(level)


def _charging_routine(off_nights: int) -> list[tuple[date, FloatArray]]:
    """Fourteen days from a Monday, alike but for the phone: off the charger on `off_nights` of
    the nights from Tuesday on (both Mondays charged)."""
    names = dimension_names()
    charging = names.index("charging 22-01")
    days = []
    for i in range(14):
        vector = np.full(len(names), 0.5)
        vector[charging] = 0.0 if 1 <= i <= off_nights else 1.0
        days.append((START + timedelta(days=i), vector))
    return days


@pytest.mark.parametrize(("off_nights", "spreads"), [(0, -CLIP), (3, -3.3)])
def test_a_night_off_the_charger_is_as_odd_as_the_routine_makes_it(
    off_nights: int, spreads: float
) -> None:
    # The robust spread of a signal that is on or off all night is zero whenever most days
    # agree, so one night off counted as the clip however often the phone had been off.
    names = dimension_names()
    vector = np.full(len(names), 0.5)
    vector[names.index("charging 22-01")] = 0.0
    day = START + timedelta(days=14)
    scores = standardise(vector, day, _charging_routine(off_nights))
    assert scores[names.index("charging 22-01")] == pytest.approx(spreads, abs=0.05)
    assert scores[names.index("light 22-01")] == 0.0
