"""The pure sensor rules: readings, defaults by device class, arming checks, reactions."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.roomdb.alarm.machine import ARMED_STATES, AlarmState, InvalidSnapshotError
from custom_components.roomdb.alarm.sensor_rules import (
    AWAY_MODES,
    Reaction,
    Reading,
    SensorConfig,
    arming_check,
    default_sensor,
    reaction,
    reading_of,
)

S = AlarmState
R = Reading
DOOR = "binary_sensor.front_door"
WINDOW = "binary_sensor.kitchen_window"
SMOKE = "binary_sensor.smoke"


def door(**settings: Any) -> SensorConfig:
    return SensorConfig(entity_id=DOOR, **settings)


def test_readings_of_binary_sensor_states() -> None:
    assert reading_of("on") is R.OPEN
    assert reading_of("off") is R.CLOSED
    for lost in ("unavailable", "unknown", "", None, "open"):
        assert reading_of(lost) is R.UNAVAILABLE


@pytest.mark.parametrize(
    ("device_class", "expected"),
    [
        (
            "smoke",
            SensorConfig(entity_id=DOOR, modes=frozenset(), always_on=True, entry_delay=False),
        ),
        (
            "tamper",
            SensorConfig(entity_id=DOOR, modes=frozenset(), always_on=True, entry_delay=False),
        ),
        ("door", SensorConfig(entity_id=DOOR)),
        ("garage_door", SensorConfig(entity_id=DOOR)),
        ("motion", SensorConfig(entity_id=DOOR, modes=AWAY_MODES)),
        ("window", SensorConfig(entity_id=DOOR, entry_delay=False, exit_delay=False)),
        (None, SensorConfig(entity_id=DOOR, entry_delay=False, exit_delay=False)),
    ],
)
def test_defaults_by_device_class(device_class: str | None, expected: SensorConfig) -> None:
    assert default_sensor(DOOR, device_class) == expected


def test_config_round_trip_and_validation() -> None:
    sensor = door(modes=frozenset({S.ARMED_NIGHT}), arm_on_close=True, trigger_unavailable=True)
    assert SensorConfig.from_dict(DOOR, sensor.to_dict()) == sensor
    assert SensorConfig.from_dict(DOOR, {}) == door()
    for bad in ({"modes": "armed_away"}, {"modes": ["disarmed"]}, {"modes": ["bogus"]}):
        with pytest.raises(InvalidSnapshotError):
            SensorConfig.from_dict(DOOR, bad)


def test_a_lost_sensor_violates_only_when_it_triggers_unavailable() -> None:
    assert door().violated_by(R.OPEN)
    assert not door().violated_by(R.UNAVAILABLE)
    assert door(trigger_unavailable=True).violated_by(R.UNAVAILABLE)
    assert not door(trigger_unavailable=True).violated_by(R.CLOSED)


def check(
    sensors: list[SensorConfig],
    readings: dict[str, Reading],
    mode: AlarmState = S.ARMED_AWAY,
    **kwargs: Any,
) -> tuple[dict[str, Reading], frozenset[str]]:
    kwargs = {"exit_delay_running": False, "force": False} | kwargs
    result = arming_check(sensors, readings, mode, **kwargs)
    return dict(result.open), result.bypass


def test_arming_check_names_open_sensors_of_the_mode() -> None:
    sensors = [door(), SensorConfig(entity_id=WINDOW, modes=frozenset({S.ARMED_AWAY}))]
    readings = {DOOR: R.OPEN, WINDOW: R.OPEN}
    assert check(sensors, readings) == ({DOOR: R.OPEN, WINDOW: R.OPEN}, frozenset())
    assert check(sensors, readings, S.ARMED_NIGHT) == ({DOOR: R.OPEN}, frozenset())
    assert check(sensors, {DOOR: R.CLOSED, WINDOW: R.CLOSED}) == ({}, frozenset())


def test_force_bypasses_instead_of_refusing() -> None:
    assert check([door()], {DOOR: R.OPEN}, force=True) == ({}, frozenset({DOOR}))
    assert check([door()], {DOOR: R.OPEN}, bypassed=frozenset({DOOR})) == ({}, frozenset())


def test_exit_delay_sensors_may_be_open_while_it_runs_others_not() -> None:
    sensors = [door(), SensorConfig(entity_id=WINDOW, exit_delay=False)]
    readings = {DOOR: R.OPEN, WINDOW: R.OPEN}
    assert check(sensors, readings, exit_delay_running=True) == ({WINDOW: R.OPEN}, frozenset())


def test_allow_open_and_lost_sensors() -> None:
    assert check([door(allow_open=True)], {DOOR: R.OPEN}) == ({}, frozenset())
    assert check([door()], {DOOR: R.UNAVAILABLE}) == ({}, frozenset())
    assert check([door()], {}) == ({}, frozenset())  # never read: no reading, like unavailable
    lost = door(trigger_unavailable=True, allow_open=True)
    assert check([lost], {}) == ({DOOR: R.UNAVAILABLE}, frozenset())


def test_always_on_sensors_get_no_exit_delay_pass() -> None:
    smoke = SensorConfig(entity_id=SMOKE, modes=frozenset(), always_on=True)
    assert check([smoke], {SMOKE: R.OPEN}, S.ARMED_HOME, exit_delay_running=True) == (
        {SMOKE: R.OPEN},
        frozenset(),
    )


def react(
    sensor: SensorConfig,
    before: Reading,
    after: Reading,
    state: AlarmState,
    mode: AlarmState | None = None,
    *,
    bypassed: bool = False,
) -> Reaction:
    mode = mode if mode is not None else state
    return reaction(sensor, before, after, state=state, mode=mode, bypassed=bypassed)


@pytest.mark.parametrize("armed", sorted(ARMED_STATES))
def test_opening_while_armed_trips_with_or_without_entry_delay(armed: AlarmState) -> None:
    every_mode = door(modes=ARMED_STATES)
    assert react(every_mode, R.CLOSED, R.OPEN, armed) is Reaction.TRIGGER
    assert react(door(modes=ARMED_STATES, entry_delay=False), R.CLOSED, R.OPEN, armed) is (
        Reaction.TRIGGER_NOW
    )
    assert react(every_mode, R.OPEN, R.CLOSED, armed) is Reaction.NONE
    assert react(every_mode, R.OPEN, R.OPEN, armed) is Reaction.NONE


def test_sensors_of_other_modes_and_disarmed_panels_do_nothing() -> None:
    night_only = door(modes=frozenset({S.ARMED_NIGHT}))
    assert react(night_only, R.CLOSED, R.OPEN, S.ARMED_AWAY) is Reaction.NONE
    assert react(door(), R.CLOSED, R.OPEN, S.DISARMED) is Reaction.NONE
    assert react(door(), R.CLOSED, R.OPEN, S.ARMING, None) is Reaction.NONE  # unknown mode


@pytest.mark.parametrize("state", list(S))
def test_always_on_trips_at_once_in_every_state(state: AlarmState) -> None:
    smoke = SensorConfig(entity_id=SMOKE, modes=frozenset(), always_on=True)
    mode = S.ARMED_AWAY if state in (S.ARMING, S.PENDING, S.TRIGGERED) else state
    assert react(smoke, R.CLOSED, R.OPEN, state, mode) is Reaction.TRIGGER_NOW


def test_while_pending_and_triggered_trips_still_count() -> None:
    """The panel decides what a trip changes then (an immediate one cuts the delay short)."""
    assert react(door(), R.CLOSED, R.OPEN, S.PENDING, S.ARMED_AWAY) is Reaction.TRIGGER
    immediate = door(entry_delay=False)
    assert react(immediate, R.CLOSED, R.OPEN, S.PENDING, S.ARMED_AWAY) is Reaction.TRIGGER_NOW


def test_during_the_exit_delay() -> None:
    arming = {"state": S.ARMING, "mode": S.ARMED_AWAY}
    assert react(door(), R.CLOSED, R.OPEN, **arming) is Reaction.NONE
    assert react(door(exit_delay=False), R.CLOSED, R.OPEN, **arming) is Reaction.ABORT_ARMING
    on_close = door(arm_on_close=True)
    assert react(on_close, R.OPEN, R.CLOSED, **arming) is Reaction.ARM_ON_CLOSE
    assert react(on_close, R.CLOSED, R.OPEN, **arming) is Reaction.RESUME_EXIT_DELAY
    assert react(on_close, R.CLOSED, R.CLOSED, **arming) is Reaction.NONE


def test_unavailable_trips_only_sensors_that_trigger_unavailable() -> None:
    # A lost sensor keeps its last reading, so the panel sees CLOSED -> CLOSED for it.
    assert react(door(), R.CLOSED, R.CLOSED, S.ARMED_AWAY) is Reaction.NONE
    lost = door(trigger_unavailable=True)
    assert react(lost, R.CLOSED, R.UNAVAILABLE, S.ARMED_AWAY) is Reaction.TRIGGER
    assert react(lost, R.UNAVAILABLE, R.OPEN, S.ARMED_AWAY) is Reaction.NONE  # tripped already


def test_a_bypassed_sensor_only_lifts_its_bypass_when_it_closes() -> None:
    assert react(door(), R.CLOSED, R.OPEN, S.ARMED_AWAY, bypassed=True) is Reaction.NONE
    assert react(door(), R.OPEN, R.CLOSED, S.ARMED_AWAY, bypassed=True) is Reaction.LIFT_BYPASS


def test_custom_bypass_is_guarded_only_by_the_sensors_picked_for_it() -> None:
    assert S.ARMED_CUSTOM_BYPASS not in door().modes  # no preset or default includes it
    assert react(door(), R.CLOSED, R.OPEN, S.ARMED_CUSTOM_BYPASS) is Reaction.NONE
    picked = door(modes=frozenset({S.ARMED_CUSTOM_BYPASS}))
    assert react(picked, R.CLOSED, R.OPEN, S.ARMED_CUSTOM_BYPASS) is Reaction.TRIGGER
    assert react(picked, R.CLOSED, R.OPEN, S.ARMED_AWAY) is Reaction.NONE
    always = door(modes=frozenset(), always_on=True)
    assert react(always, R.CLOSED, R.OPEN, S.ARMED_CUSTOM_BYPASS) is Reaction.TRIGGER_NOW
    assert SensorConfig.from_dict(DOOR, picked.to_dict()) == picked
