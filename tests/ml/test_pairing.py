"""The design, the whole-day labelled windows, conflicts and night-keeping splits."""

from __future__ import annotations

from datetime import date, timedelta
import math

from hypothesis import given, settings, strategies as st
import numpy as np
import pytest

from bench.sleep_offline import figures
from custom_components.roomdb.ml.features import FEATURE_NAMES, HOME_ROOM_ID, FeatureRow
from custom_components.roomdb.ml.labels import SleepLabel
from custom_components.roomdb.ml.pairing import (
    CONTEXT_WINDOWS,
    DOOR_LAST_COLUMN,
    QUIET_CAP_SECONDS,
    UNOBSERVED_LOOKBACK,
    LabelConflictError,
    build_design,
    design_columns,
    find_label_conflicts,
    interleaved_group_folds,
    known_until,
    last_nights_split,
    pair_windows,
    rooms_of_columns,
    screen_labels,
)

from .household import household, household_features, utc

W = 900.0
DAY0 = utc("2026-01-05T12:00:00")
CONTEXT = (CONTEXT_WINDOWS + 1) * W


def row(room: str, start: float, **values: float) -> FeatureRow:
    """A feature row with these values (others zero; no activity means a quiet window)."""
    base = dict.fromkeys(FEATURE_NAMES, 0.0)
    base["quiet_seconds"] = W
    base.update(values)
    return FeatureRow(room, start, start + W, tuple(base[name] for name in FEATURE_NAMES))


def rows_between(
    start: float, end: float, rooms: tuple[str, ...] = (HOME_ROOM_ID,), **values: float
) -> list[FeatureRow]:
    out = []
    t = start
    while t + W <= end:
        out += [row(room, t, **values) for room in rooms]
        t += W
    return out


def night(day: int, start_h: float, end_h: float) -> SleepLabel:
    base = DAY0 + day * 86400
    return SleepLabel(
        night_date=date(2026, 1, 5) + timedelta(days=day),
        tz="UTC",
        start_utc=base + start_h * 3600,
        end_utc=base + end_h * 3600,
    )


def test_a_night_is_known_through_its_morning_and_asleep_by_majority() -> None:
    # Night 0: asleep 22:10 -> 06:20 next day (both mid-window); no label for night 1.
    rows = rows_between(DAY0 - CONTEXT, DAY0 + 2 * 86400)
    lab = night(0, 10 + 1 / 6, 18 + 1 / 3)
    data = pair_windows(rows, [lab])
    starts = data.window_start
    # Known from the first whole window after the start to noon after the night.
    assert starts.min() == DAY0 + 10.25 * 3600
    assert starts.max() + W == DAY0 + 86400
    assert data.n_rows == 55
    # Asleep where at least half the window was: 22:15 .. 06:15; 06:15-06:30 slept 5 minutes.
    assert data.y.sum() == 32
    assert np.array_equal(data.y, (starts < DAY0 + 18.25 * 3600).astype(int))
    assert data.night_dates == (lab.night_date,)
    assert data.feature_names == design_columns()


def test_the_next_labelled_night_ends_the_stretch_and_a_gap_ends_it_at_noon() -> None:
    rows = rows_between(DAY0 - CONTEXT, DAY0 + 5 * 86400)
    labels = [night(0, 10, 18), night(1, 11, 19), night(3, 9.5, 17.5)]
    data = pair_windows(rows, labels)
    assert len(set(data.window_start.tolist())) == data.n_rows  # no window paired twice
    first = data.window_start[data.groups == 0]
    assert first.min() == labels[0].start_utc
    assert first.max() + W == labels[1].start_utc  # awake all day until the next night starts
    second = data.window_start[data.groups == 1]
    assert second.max() + W == DAY0 + 2 * 86400  # night 2 is not labelled: noon after night 1
    assert [int(data.y[data.groups == g].sum()) for g in range(3)] == [32, 32, 32]


def test_a_day_sleepers_night_ends_when_they_wake() -> None:
    # After a night shift: asleep 08:00-15:00 the next day (still the evening's night).
    rows = rows_between(DAY0 - CONTEXT, DAY0 + 2 * 86400)
    data = pair_windows(rows, [night(0, 20, 27)])
    assert data.window_start.max() + W == DAY0 + 27 * 3600
    assert data.y.all()


def test_unobserved_and_away_windows_are_left_out() -> None:
    rows = rows_between(DAY0 - CONTEXT, DAY0 + 2 * 86400)
    gone = DAY0 + 14 * 3600  # the motion sensors were unavailable 02:00-02:15
    away = DAY0 + 20 * 3600  # someone was away 08:00-08:15
    rows = [
        row(r.room_id, r.window_start, unavailable_fraction=1.0)
        if r.window_start == gone
        else row(r.room_id, r.window_start, away_fraction=0.8)
        if r.window_start == away
        else r
        for r in rows
    ]
    data = pair_windows(rows, [night(0, 10, 18)])
    left_out = set(np.arange(DAY0 + 10 * 3600, DAY0 + 24 * 3600, W)) - set(data.window_start)
    # The unavailable window and the hour after it (its look-back), and the away window.
    assert left_out == {gone + k * W for k in range(UNOBSERVED_LOOKBACK + 1)} | {away}


def test_conflicting_labels_are_refused() -> None:
    duplicate = [night(0, 10, 18), SleepLabel(date(2026, 1, 5), "UTC", DAY0 + 1e4, DAY0 + 2e4)]
    overlap = [night(0, 10, 18), night(1, -7, 16)]  # second starts before the first ends
    for labels in (duplicate, overlap):
        with pytest.raises(LabelConflictError) as err:
            pair_windows(rows_between(DAY0, DAY0 + 86400), labels)
        assert err.value.conflicts
    assert [c.reason for c in find_label_conflicts(duplicate)] == ["duplicate_night"]
    assert [c.reason for c in find_label_conflicts(overlap)] == ["overlap"]
    kept, conflicts = screen_labels([*overlap, night(3, 10, 18)])
    assert kept == [night(3, 10, 18)]
    assert len(conflicts) == 1
    assert find_label_conflicts([night(0, 10, 18), night(1, 10, 18)]) == []


def test_design_columns_and_look_backs() -> None:
    rooms = (HOME_ROOM_ID, "bedroom")
    assert design_columns(rooms)[:5] == ("tod_sin", "tod_cos", "tod_sin2", "tod_cos2", "night_0")
    assert rooms_of_columns(design_columns(rooms)) == rooms
    assert rooms_of_columns(("a", "b")) is None
    rows = rows_between(DAY0, DAY0 + 24 * W, rooms, tod_cos=1.0, night_weekday=2.0)
    # Bedroom activity in window 3, 20 s before its end; the light stays on from window 3 on.
    rows = [
        row(
            r.room_id,
            r.window_start,
            tod_cos=1.0,
            night_weekday=2.0,
            activity_events=2.0 if r.window_start == DAY0 + 3 * W else 0.0,
            quiet_seconds=20.0 if r.window_start == DAY0 + 3 * W else W,
            light_on_fraction=1.0 if r.window_start >= DAY0 + 3 * W else 0.0,
        )
        for r in rows
    ]
    rows.pop()  # the last window lacks its home row
    design = build_design(rows, rooms)
    names = design.feature_names
    assert design.n_rows == 23

    def value(window: int, name: str) -> float:
        return float(design.x[window, names.index(name)])

    assert value(0, "night_2") == 1.0
    assert value(0, "night_2_cos") == 1.0
    assert value(0, "night_3") == 0.0
    # Seconds since the last activity: 20 s at window 3's end, then a window more each window.
    since = [value(k, "bedroom.quiet") for k in (3, 4, 7)]
    expected = [math.log1p(s / 60) / math.log1p(QUIET_CAP_SECONDS / 60) for s in (20, 920, 3620)]
    assert since == pytest.approx(expected)
    assert value(3, "bedroom.active_1h") == pytest.approx(math.log1p(2))
    assert value(7, "bedroom.active_1h") == 0.0  # more than an hour ago
    assert value(7, "bedroom.active_4h") == pytest.approx(math.log1p(2))
    assert value(4, "bedroom.light_1h") == 0.5
    # A light on in a room without movement for an hour was left on.
    assert value(3, "bedroom.light_idle") == pytest.approx(20 / 3600)
    assert value(8, "bedroom.light_idle") == 1.0
    assert value(3, "bedroom.share_2h") == 1.0  # all of the home's activity was in the bedroom
    assert value(12, "bedroom.share_2h") == 0.0  # none in the last two hours
    # Four hours of look-back are needed before a window counts as observed.
    assert not design.observed[:CONTEXT_WINDOWS].any()
    assert design.observed[CONTEXT_WINDOWS:].all()
    # Rows of another feature set version are ignored.
    old = [FeatureRow(r.room_id, r.window_start, r.window_end, r.values, 1) for r in rows]
    assert build_design(old, rooms).n_rows == 0


def test_a_door_and_then_no_movement_inside_is_someone_who_left() -> None:
    # 64 windows of the home: each entry is (window, motion, doors, other activity).
    events = {
        2: (1.0, 0.0, 1.0),  # bedtime: movement, no door
        10: (1.0, 2.0, 2.0),  # the hallway and the front door in one window: someone left
        12: (0.0, 0.0, 1.0),  # a light switched off by its timer: no one moved
        20: (0.0, 2.0, 2.0),  # the door again...
        21: (1.0, 0.0, 1.0),  # ...and movement inside after it: someone came home
        30: (1.0, 2.0, 2.0),  # left again, and nothing for more than twelve hours
    }
    rows = [
        row(
            HOME_ROOM_ID,
            DAY0 + k * W,
            motion_count=events.get(k, (0.0, 0.0, 0.0))[0],
            door_events=events.get(k, (0.0, 0.0, 0.0))[1],
            activity_events=events.get(k, (0.0, 0.0, 0.0))[2],
        )
        for k in range(30 + int(QUIET_CAP_SECONDS / W) + 2)
    ]
    design = build_design(rows)
    left = design.x[:, design.feature_names.index(DOOR_LAST_COLUMN)]
    assert left[:2].tolist() == [0.0, 0.0]  # nothing moved yet
    assert left[2:10].tolist() == [0.0] * 8
    assert left[10:20].tolist() == [1.0] * 10  # the light's timer at 12 brings no one back
    assert left[20] == 1.0
    assert left[21:30].tolist() == [0.0] * 9
    cap = 30 + int(QUIET_CAP_SECONDS / W)
    assert left[30 : cap + 1].tolist() == [1.0] * (cap + 1 - 30)
    assert left[cap + 1] == 0.0  # twelve hours on, the door is no longer the latest news


def test_a_room_not_observed_in_its_look_back_is_blind() -> None:
    rooms = (HOME_ROOM_ID, "bedroom", "office")
    flat = 30  # the office's motion sensor was unavailable for this one window
    rows = [
        row(r.room_id, r.window_start, unavailable_fraction=1.0)
        if r.room_id in {"office", HOME_ROOM_ID} and r.window_start == DAY0 + flat * W
        else r
        for r in rows_between(DAY0, DAY0 + 64 * W, rooms)
    ]
    design = build_design(rows, rooms)
    names = design.feature_names
    office = [k for k, name in enumerate(names) if name.startswith("office.")]
    assert len(office) == 12  # the room's columns and its share of the home's activity
    blind_windows = np.flatnonzero(design.blind.any(axis=1))
    # Four hours of look-back after the outage (the room's longest), then it is seen again.
    assert blind_windows.tolist() == list(range(flat, flat + CONTEXT_WINDOWS + 1))
    assert design.blind[flat][office].all()
    assert np.flatnonzero(design.blind[flat]).tolist() == office
    # The home and the bedroom, still reporting, keep their values.
    assert not np.delete(design.blind, office, axis=1).any()
    # A window without the bedroom's row is left out, and the bedroom alone is blind after it.
    gone = 5
    design = build_design(
        [r for r in rows if (r.room_id, r.window_start) != ("bedroom", DAY0 + gone * W)], rooms
    )
    bedroom = [k for k, name in enumerate(names) if name.startswith("bedroom.")]
    assert DAY0 + gone * W not in design.window_start
    after = np.flatnonzero(design.window_start > DAY0 + gone * W)[:CONTEXT_WINDOWS]
    assert np.flatnonzero(design.blind[after[0]]).tolist() == bedroom
    assert design.blind[after][:, bedroom].all()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(19, 25), st.floats(4, 11), st.booleans()), min_size=1, max_size=5)
)
def test_no_window_pairs_twice_or_outside_its_stretch(
    nights: list[tuple[float, float, bool]],
) -> None:
    labels = [
        SleepLabel(
            date(2026, 1, 5) + timedelta(days=i),
            "UTC",
            DAY0 + i * 86400 + (s - 12) * 3600,
            DAY0 + i * 86400 + (e + 12) * 3600,
        )
        for i, (s, e, kept) in enumerate(nights)
        if kept or i == 0
    ]
    rows = rows_between(DAY0 - 86400, DAY0 + (len(nights) + 1) * 86400)
    data = pair_windows(rows, labels)
    assert len(set(data.window_start.tolist())) == data.n_rows
    for g, lab in enumerate(labels):
        mine = data.groups == g
        starts = data.window_start[mine]
        following = labels[g + 1] if g + 1 < len(labels) else None
        assert np.all(starts >= lab.start_utc)
        assert np.all(starts + W <= known_until(lab, following))
        slept = np.clip(
            np.minimum(starts + W, lab.end_utc) - np.maximum(starts, lab.start_utc), 0, W
        )
        assert np.array_equal(data.y[mine], (slept >= W / 2).astype(int))
    assert np.all(np.diff(data.groups) >= 0)


def test_household_pairs_every_labelled_night() -> None:
    home = household()
    labels = home.labels()
    data = pair_windows(household_features(), labels)
    assert data.n_nights == len(labels)
    assert 40 <= data.n_rows / data.n_nights <= 96  # the night and the day after it
    assert 0.2 < data.y.mean() < 0.6


GROUPS = np.repeat(np.arange(10), [3, 1, 4, 2, 2, 5, 1, 3, 2, 2]).astype(np.int64)


def test_last_nights_split() -> None:
    train, val = last_nights_split(GROUPS, 3)
    assert set(GROUPS[val]) == {7, 8, 9}
    assert set(GROUPS[train]) == set(range(7))
    assert train.size + val.size == GROUPS.size
    with pytest.raises(ValueError):
        last_nights_split(GROUPS, 10)


def test_interleaved_folds_partition_rows_and_keep_nights_together() -> None:
    folds = interleaved_group_folds(GROUPS, 4)
    tested = np.concatenate([test for _, test in folds])
    assert np.array_equal(np.sort(tested), np.arange(GROUPS.size))
    for k, (train, test) in enumerate(folds):
        assert not set(GROUPS[train]) & set(GROUPS[test])
        assert set(GROUPS[test]) == set(range(k, 10, 4))  # every fourth night
        assert GROUPS[train].max() >= 8  # every fold trains on recent nights too
    with pytest.raises(ValueError):
        interleaved_group_folds(GROUPS, 11)


def test_subset_renumbers_nights() -> None:
    data = pair_windows(household_features(), household().labels())
    _, val = last_nights_split(data.groups, 2)
    part = data.subset(val)
    assert part.night_dates == data.night_dates[-2:]
    assert set(part.groups.tolist()) == {0, 1}
    assert np.array_equal(part.x, data.x[val])


def test_a_shift_workers_home_left_for_the_night_is_awake_not_asleep() -> None:
    # A held-out night-shift home without presence (bench/households.py, seed 108): before the
    # door column, the empty home after the occupant left at nine read as maybe asleep until the
    # morning (accuracy 0.952, ECE 0.039). Retrained nightly and scored on every window.
    result = figures("shift_worker", 108)
    assert result["accuracy"] >= 0.97
    assert result["ece"] <= 0.025


def test_a_late_sleeper_with_a_flat_office_sensor_meets_the_sleep_goals() -> None:
    # A held-out late sleeper who works from home (bench/households.py, seed 110): while the
    # office's motion sensor was flat, the quiet office read as a nap through the afternoon
    # (ECE 0.027). Retrained nightly and scored on every window.
    result = figures("late_sleeper", 110)
    assert result["accuracy"] >= 0.97
    assert result["ece"] <= 0.025
