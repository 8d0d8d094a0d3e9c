"""Window features against hand-computed fixtures."""

from __future__ import annotations

from datetime import date, timedelta
import math
import random

import pytest

from custom_components.roomdb.ml.features import (
    ACTIVITY_FEATURES,
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    HOME_ROOM_ID,
    FeatureRow,
    RawEvent,
    align_window,
    compute_features,
    feature_rows_from_long,
    night_of,
    time_of_day_encoding,
)

from .household import household, household_features, utc

T0 = utc("2026-01-05T20:00:00")  # 21:00 in Berlin (UTC+1)
W = 900


def ev(
    entity_id: str,
    room: str | None,
    state: str,
    old: str | None,
    dt: float,
    device_class: str | None = None,
) -> RawEvent:
    domain = entity_id.split(".", maxsplit=1)[0]
    return RawEvent(entity_id, domain, device_class, room, state, old, T0 + dt)


EVENTS = [
    # Lights: living on since before the window, kitchen carried in via old_state.
    ev("light.living", "living_room", "on", "off", -3600),
    ev("light.living", "living_room", "off", "on", 300),
    ev("light.kitchen", "kitchen", "off", "on", 450),
    ev("light.bed", "bedroom", "on", "off", 600),
    ev("light.bed", "bedroom", "off", "on", 1200),
    # Motion: attribute-only "on" -> "on" is not a new trigger; None -> "on" is.
    ev("binary_sensor.living_motion", "living_room", "on", "off", 100, "motion"),
    ev("binary_sensor.living_motion", "living_room", "off", "on", 160, "motion"),
    ev("binary_sensor.living_motion", "living_room", "on", "off", 1000, "motion"),
    ev("binary_sensor.living_motion", "living_room", "on", "on", 1010, "motion"),
    ev("binary_sensor.bed_occupancy", "bedroom", "on", None, 700, "occupancy"),
    ev("binary_sensor.living_motion", "living_room", "on", "off", 1800, "motion"),  # after end
    # Doors: on/off changes count, changes via "unavailable" do not.
    ev("binary_sensor.front_door", "hallway", "on", "off", 200, "door"),
    ev("binary_sensor.front_door", "hallway", "off", "on", 230, "door"),
    ev("binary_sensor.front_door", "hallway", "unavailable", "off", 1100, "door"),
    ev("binary_sensor.front_door", "hallway", "on", "unavailable", 1150, "door"),
    # Media: playing from the window boundary, paused later.
    ev("media_player.tv", "living_room", "playing", "idle", 900),
    ev("media_player.tv", "living_room", "paused", "playing", 1350),
    # Appliances: a window sensor and a switch; an event without a room still counts home-wide.
    ev("binary_sensor.bath_window", "bathroom", "on", "off", 300, "window"),
    ev("switch.kettle", "kitchen", "on", "off", 400),
    ev("binary_sensor.garage", None, "on", "off", 1300, "garage_door"),
]

ROOMS = ["living_room", "bedroom", "kitchen", "hallway", "attic"]


def by_key(rows: list[FeatureRow]) -> dict[tuple[float, str], dict[str, float]]:
    return {(row.window_start, row.room_id): row.as_dict() for row in rows}


def test_names_and_version() -> None:
    assert FEATURE_NAMES == (
        "motion_count",
        "light_on_fraction",
        "media_active_fraction",
        "door_events",
        "appliance_on_fraction",
        "charging_fraction",
        "activity_events",
        "quiet_seconds",
        "away_fraction",
        "unavailable_fraction",
        "tod_sin",
        "tod_cos",
        "night_weekday",
    )
    assert FEATURE_SET_VERSION == 2


def test_hand_computed_windows() -> None:
    rows = compute_features(EVENTS, T0, T0 + 2 * W, tz="Europe/Berlin", rooms=ROOMS)
    assert [(r.window_start - T0, r.room_id) for r in rows[:6]] == [
        (0, HOME_ROOM_ID),
        (0, "attic"),
        (0, "bedroom"),
        (0, "hallway"),
        (0, "kitchen"),
        (0, "living_room"),
    ]
    assert len(rows) == 12
    assert all(r.window_end - r.window_start == W for r in rows)
    assert all(r.feature_set_version == FEATURE_SET_VERSION for r in rows)
    got = by_key(rows)
    w0, w1 = T0, T0 + W

    def check(window: float, room: str, **expected: float) -> None:
        values = got[window, room]
        for name, value in expected.items():
            assert values[name] == pytest.approx(value, abs=1e-12), (room, name)

    check(w0, "living_room", motion_count=1, light_on_fraction=1 / 3, media_active_fraction=0)
    check(w1, "living_room", motion_count=1, light_on_fraction=0, media_active_fraction=0.5)
    check(w0, "kitchen", light_on_fraction=0.5, motion_count=0)
    check(w0, "bedroom", motion_count=1, light_on_fraction=1 / 3)
    check(w1, "bedroom", motion_count=0, light_on_fraction=1 / 3)
    check(w0, "hallway", door_events=2)
    check(w1, "hallway", door_events=0)
    # Home-wide: union of lights [0, 450) + [600, 900) in w0; garage door counts without a room.
    check(w0, HOME_ROOM_ID, motion_count=2, light_on_fraction=750 / 900, door_events=2)
    check(w1, HOME_ROOM_ID, motion_count=1, light_on_fraction=1 / 3, door_events=1)
    check(w1, HOME_ROOM_ID, media_active_fraction=0.5)
    # Appliances: the kettle from 400 s, the bathroom window (no room here) from 300 s.
    check(w0, "kitchen", appliance_on_fraction=500 / 900)
    check(w0, HOME_ROOM_ID, appliance_on_fraction=600 / 900)
    check(w1, HOME_ROOM_ID, appliance_on_fraction=1.0)
    # Activity: motion 100 and 700 are not (700 comes from no state); the lights, doors, kettle,
    # window and TV are; the door going unavailable and back is not.
    check(w0, "living_room", activity_events=2, quiet_seconds=900 - 300)
    check(w0, "hallway", activity_events=2, quiet_seconds=900 - 230)
    check(w1, "hallway", activity_events=0, quiet_seconds=900, unavailable_fraction=50 / 900)
    for window in (w0, w1):
        assert got[window, "attic"] == {
            **dict.fromkeys(ACTIVITY_FEATURES, 0.0),
            "quiet_seconds": 900.0,
            "tod_sin": got[window, HOME_ROOM_ID]["tod_sin"],
            "tod_cos": got[window, HOME_ROOM_ID]["tod_cos"],
            "night_weekday": 0.0,  # Monday evening
        }
    # 21:00 and 21:15 local time.
    check(w0, HOME_ROOM_ID, tod_sin=-math.sqrt(0.5), tod_cos=math.sqrt(0.5))
    angle = 2 * math.pi * 21.25 / 24
    check(w1, "kitchen", tod_sin=math.sin(angle), tod_cos=math.cos(angle))


def test_rooms_default_to_those_seen() -> None:
    rows = compute_features(EVENTS, T0, T0 + W)
    assert sorted({r.room_id for r in rows}) == sorted(
        [HOME_ROOM_ID, "bathroom", "bedroom", "hallway", "kitchen", "living_room"]
    )


def test_deterministic_under_shuffle_duplicates_and_subranges() -> None:
    full = compute_features(EVENTS, T0, T0 + 2 * W, tz="Europe/Berlin", rooms=ROOMS)
    shuffled = EVENTS * 2
    random.Random(3).shuffle(shuffled)
    again = compute_features(shuffled, T0, T0 + 2 * W, tz="Europe/Berlin", rooms=ROOMS)
    assert again == full
    # Recomputing only the second window gives the same rows as in the full run.
    second = compute_features(EVENTS, T0 + W, T0 + 2 * W, tz="Europe/Berlin", rooms=ROOMS)
    assert second == [r for r in full if r.window_start == T0 + W]


def test_alignment_and_incomplete_windows() -> None:
    assert align_window(T0 + 899.9) == T0
    assert align_window(T0 + 900) == T0 + W
    rows = compute_features(EVENTS, T0 + 100, T0 + 2 * W - 1, rooms=["hallway"])
    assert {r.window_start for r in rows} == {T0}  # second window is not complete yet
    assert compute_features(EVENTS, T0, T0 + 10) == []
    with pytest.raises(ValueError):
        compute_features(EVENTS, T0, T0 + W, window_seconds=0)


def test_state_carried_from_long_before() -> None:
    events = [ev("light.hall", "hallway", "on", "off", -86400)]
    rows = compute_features(events, T0, T0 + W, rooms=["hallway"])
    assert by_key(rows)[T0, "hallway"]["light_on_fraction"] == 1.0
    # Without earlier events nor old_state, a light counts as off until it turns on.
    events = [ev("light.hall", "hallway", "on", None, 450)]
    assert by_key(compute_features(events, T0, T0 + W))[T0, "hallway"]["light_on_fraction"] == 0.5


def test_time_of_day_fixed_offset_and_dst() -> None:
    assert time_of_day_encoding(T0, timedelta(hours=-5)) == pytest.approx(
        (-math.sqrt(0.5), -math.sqrt(0.5))
    )
    # 2026-03-29 01:00Z is 03:00 CEST (after the jump), 2026-03-28 01:00Z is 02:00 CET.
    after = time_of_day_encoding(utc("2026-03-29T01:00:00"), "Europe/Berlin")
    before = time_of_day_encoding(utc("2026-03-28T01:00:00"), "Europe/Berlin")
    assert after == pytest.approx((math.sin(math.pi / 4), math.cos(math.pi / 4)))
    assert before == pytest.approx((math.sin(math.pi / 6), math.cos(math.pi / 6)))


def test_rows_round_trip_through_long_table() -> None:
    rows = compute_features(EVENTS, T0, T0 + 2 * W, rooms=ROOMS)
    records = [
        (r.room_id, r.window_start, r.window_end, name, value, r.feature_set_version)
        for r in rows
        for name, value in r.as_dict().items()
    ]
    records.append(("kitchen", T0 + 5 * W, T0 + 6 * W, "motion_count", 1.0, 2))  # incomplete
    records.append(("kitchen", T0, T0 + W, "legacy_feature", 9.0, 2))  # unknown name
    random.Random(1).shuffle(records)
    assert feature_rows_from_long(records) == rows
    assert rows[0].value("tod_cos") == rows[0].values[11]


def test_night_of() -> None:
    assert night_of(utc("2026-01-05T22:30:00"), "Europe/Berlin") == date(2026, 1, 5)
    assert night_of(utc("2026-01-06T05:00:00"), "Europe/Berlin") == date(2026, 1, 5)
    assert night_of(utc("2026-01-06T11:30:00"), "Europe/Berlin") == date(2026, 1, 6)


def test_household_features_are_complete_and_in_range() -> None:
    home = household()
    rows = household_features()
    n_windows = (home.end_utc - home.start_utc) / W
    assert len(rows) == n_windows * (len(home.rooms) + 1)
    for row in rows:
        values = row.as_dict()
        assert 0.0 <= values["light_on_fraction"] <= 1.0
        assert 0.0 <= values["media_active_fraction"] <= 1.0
        assert values["motion_count"] >= 0
    assert all(row.value("unavailable_fraction") == 0.0 for row in rows)
    # The home-wide motion count is the sum over rooms (every motion sensor has a room).
    totals: dict[float, float] = {}
    for row in rows:
        if row.room_id != HOME_ROOM_ID:
            totals[row.window_start] = totals.get(row.window_start, 0.0) + row.values[0]
    assert all(r.values[0] == totals[r.window_start] for r in rows if r.room_id == HOME_ROOM_ID)


def test_chargers_presence_and_observed_time() -> None:
    phone = "binary_sensor.phone_charging"
    tablet = "binary_sensor.tablet_charging"
    events = [
        ev(phone, "bedroom", "on", "off", -600, "battery_charging"),
        ev(tablet, "bedroom", "off", "on", -600, "battery_charging"),
        ev(tablet, "bedroom", "on", "off", 450, "battery_charging"),
        ev("person.sam", None, "not_home", "home", 300),
        ev("person.sam", None, "home", "not_home", 600),
        ev("device_tracker.kim", None, "work", "home", 450),
        ev("device_tracker.kim", None, "unavailable", "work", 750),
        ev("binary_sensor.bed_motion", "bedroom", "unavailable", "off", 800, "motion"),
    ]
    rows = compute_features(events, T0, T0 + 2 * W, rooms=["bedroom"], gaps=[(T0 + W, T0 + W + 90)])
    got = by_key(rows)
    # Two chargers, one all window, one from 450 s: their mean share.
    assert got[T0, "bedroom"]["charging_fraction"] == pytest.approx((1 + 0.5) / 2)
    assert got[T0, HOME_ROOM_ID]["charging_fraction"] == pytest.approx(0.75)
    # Someone away: Sam 300-600, Kim 450-750 ("unavailable" is not away): 300-750 of 900.
    assert got[T0, HOME_ROOM_ID]["away_fraction"] == pytest.approx(450 / 900)
    assert got[T0, "bedroom"]["away_fraction"] == 0.0
    # Arrivals and departures are activity; the tracker going unavailable is not.
    assert got[T0, HOME_ROOM_ID]["activity_events"] == 4  # Sam twice, Kim, the tablet
    # The bedroom's motion sensor is gone from 800 s on; the gap covers the next window's start.
    assert got[T0, "bedroom"]["unavailable_fraction"] == pytest.approx(100 / 900)
    assert got[T0 + W, "bedroom"]["unavailable_fraction"] == 1.0
    assert got[T0 + W, HOME_ROOM_ID]["unavailable_fraction"] == 1.0


def test_night_weekday_follows_the_night() -> None:
    # Friday 2026-01-09 23:00 Berlin and Saturday 03:00 are both Friday's night; Saturday 13:00
    # is Saturday's.
    for when, weekday in (
        ("2026-01-09T22:00:00", 4),
        ("2026-01-10T02:00:00", 4),
        ("2026-01-10T12:00:00", 5),
    ):
        start = utc(when)
        (row,) = compute_features([], start, start + W, tz="Europe/Berlin")
        assert row.value("night_weekday") == weekday
