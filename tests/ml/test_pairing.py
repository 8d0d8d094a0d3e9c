"""Pairing windows with labels without leakage, conflicts, and night-keeping splits."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings, strategies as st
import numpy as np
import pytest

from custom_components.roomdb.ml.features import HOME_ROOM_ID, FeatureRow
from custom_components.roomdb.ml.labels import SleepLabel
from custom_components.roomdb.ml.pairing import (
    LabelConflictError,
    blocked_group_folds,
    build_design,
    design_columns,
    expanding_window_folds,
    find_label_conflicts,
    last_nights_split,
    pair_windows,
    screen_labels,
)

from .household import household, household_features, utc

W = 900.0
DAY0 = utc("2026-01-05T12:00:00")


def rows_between(
    start: float, end: float, rooms: tuple[str, ...] = (HOME_ROOM_ID,)
) -> list[FeatureRow]:
    out = []
    t = start
    while t + W <= end:
        for i, room in enumerate(rooms):
            out.append(FeatureRow(room, t, t + W, (float(i), t, 0.0, 0.0, 0.5, 0.5)))
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


def test_leakage_rules_and_labels() -> None:
    # Night 0: asleep 22:10 -> 06:20 next day (both mid-window).
    rows = rows_between(DAY0, DAY0 + 2 * 86400)
    lab = night(0, 10 + 1 / 6, 18 + 1 / 3)
    data = pair_windows(rows, [lab])
    starts = data.window_start
    ends = starts + W
    assert np.all(ends <= lab.end_utc)  # nothing after the night's end
    assert starts.min() == lab.end_utc - 12 * 3600 + 10 * 60  # first aligned window in context
    assert ends.max() == DAY0 + 18 * 3600 + 900  # 06:00-06:15 is in; 06:15-06:30 straddles end
    inside = (starts >= lab.start_utc) & (ends <= lab.end_utc)
    assert np.array_equal(data.y, inside.astype(int))
    assert data.y.sum() == 32  # 22:15 .. 06:15
    assert data.n_rows == 48 - 1  # 12 h of windows, minus the one straddling the end
    assert data.night_dates == (lab.night_date,)
    assert data.feature_names == design_columns()
    # x holds the window start in the light column (fixture trick): rows match their windows.
    assert np.array_equal(data.x[:, 3], starts)


def test_context_span_is_clipped_at_the_previous_night() -> None:
    rows = rows_between(DAY0, DAY0 + 3 * 86400)
    labels = [night(0, 10, 18), night(1, 10, 18)]
    data = pair_windows(rows, labels, context_seconds=40 * 3600)
    second = data.window_start[data.groups == 1]
    assert second.min() == labels[0].end_utc
    assert len(set(data.window_start.tolist())) == data.n_rows  # no window paired twice
    # Every window of night 0's sleep is a positive of night 0 only.
    assert data.y[data.groups == 0].sum() == 32


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


def test_multi_room_design() -> None:
    rooms = (HOME_ROOM_ID, "bedroom")
    rows = rows_between(DAY0, DAY0 + 4 * W, rooms)
    rows.pop()  # the last window lacks its bedroom row
    starts, ends, x = build_design(rows, rooms)
    assert design_columns(rooms) == (
        "tod_sin",
        "tod_cos",
        "__home__.motion_count",
        "__home__.light_on_fraction",
        "__home__.media_active_fraction",
        "__home__.door_events",
        "bedroom.motion_count",
        "bedroom.light_on_fraction",
        "bedroom.media_active_fraction",
        "bedroom.door_events",
    )
    assert x.shape == (3, 10)
    assert np.array_equal(ends - starts, np.full(3, W))
    assert x[0].tolist() == [0.5, 0.5, 0.0, DAY0, 0.0, 0.0, 1.0, DAY0, 0.0, 0.0]
    # Rows of another feature set version are ignored.
    old = [FeatureRow(r.room_id, r.window_start, r.window_end, r.values, 0) for r in rows]
    assert build_design(old, rooms)[2].shape == (0, 10)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(19, 25), st.floats(4, 11)), min_size=1, max_size=5),
    st.floats(3600, 30 * 3600),
)
def test_no_leakage_property(nights: list[tuple[float, float]], context: float) -> None:
    labels = [
        SleepLabel(
            date(2026, 1, 5) + timedelta(days=i),
            "UTC",
            DAY0 + i * 86400 + (s - 12) * 3600,
            DAY0 + i * 86400 + (e + 12) * 3600,
        )
        for i, (s, e) in enumerate(nights)
    ]
    rows = rows_between(DAY0 - 86400, DAY0 + (len(nights) + 1) * 86400)
    data = pair_windows(rows, labels, context_seconds=context)
    assert len(set(data.window_start.tolist())) == data.n_rows
    for g, lab in enumerate(labels):
        mine = data.groups == g
        starts = data.window_start[mine]
        assert np.all(starts + W <= lab.end_utc)
        assert np.all(starts >= lab.end_utc - context)
        positive = (starts >= lab.start_utc) & (starts + W <= lab.end_utc)
        assert np.array_equal(data.y[mine], positive.astype(int))
    assert np.all(np.diff(data.groups) >= 0)


def test_household_pairs_every_labelled_night() -> None:
    home = household()
    labels = home.labels()
    data = pair_windows(household_features(), labels)
    assert data.n_nights == len(labels)
    assert 40 <= data.n_rows / data.n_nights <= 48  # 12 h of context minus the end window
    assert 0.4 < data.y.mean() < 0.8


GROUPS = np.repeat(np.arange(10), [3, 1, 4, 2, 2, 5, 1, 3, 2, 2]).astype(np.int64)


def test_last_nights_split() -> None:
    train, val = last_nights_split(GROUPS, 3)
    assert set(GROUPS[val]) == {7, 8, 9}
    assert set(GROUPS[train]) == set(range(7))
    assert train.size + val.size == GROUPS.size
    with pytest.raises(ValueError):
        last_nights_split(GROUPS, 10)


def test_blocked_folds_partition_rows_and_keep_nights_together() -> None:
    folds = blocked_group_folds(GROUPS, 4)
    tested = np.concatenate([test for _, test in folds])
    assert np.array_equal(np.sort(tested), np.arange(GROUPS.size))
    for train, test in folds:
        assert not set(GROUPS[train]) & set(GROUPS[test])
        nights = np.unique(GROUPS[test])
        assert np.array_equal(nights, np.arange(nights[0], nights[-1] + 1))  # contiguous
    with pytest.raises(ValueError):
        blocked_group_folds(GROUPS, 11)


def test_expanding_folds_never_train_on_the_future() -> None:
    folds = expanding_window_folds(GROUPS, 3)
    assert len(folds) == 3
    previous_train = 0
    for train, test in folds:
        assert GROUPS[train].max() < GROUPS[test].min()
        assert train.size > previous_train
        previous_train = train.size
    assert set(GROUPS[folds[-1][1]]) == {8, 9}
    with pytest.raises(ValueError):
        expanding_window_folds(GROUPS, 10)


def test_subset_renumbers_nights() -> None:
    data = pair_windows(household_features(), household().labels())
    _, val = last_nights_split(data.groups, 2)
    part = data.subset(val)
    assert part.night_dates == data.night_dates[-2:]
    assert set(part.groups.tolist()) == {0, 1}
    assert np.array_equal(part.x, data.x[val])
