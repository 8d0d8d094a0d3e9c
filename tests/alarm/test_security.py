"""The pure security panel: arming checks, bypass, sensor trips, events, lockout, snapshots."""

from __future__ import annotations

import json
from typing import Any

import pytest

from custom_components.roomdb.alarm.machine import (
    AlarmConfig,
    AlarmMachine,
    AlarmState,
    InvalidCodeError,
    InvalidSnapshotError,
    ModeTimes,
    NotPermittedError,
    Origin,
    Transition,
    User,
)
from custom_components.roomdb.alarm.security import (
    AlarmEvent,
    EventKind,
    LockedOutError,
    LockoutPolicy,
    OpenSensorsError,
    Outcome,
    SecurityPanel,
)
from custom_components.roomdb.alarm.sensor_rules import (
    ARM_ON_CLOSE_DELAY,
    Reading,
    SensorConfig,
)

from .users import ANN, BO

S = AlarmState
R = Reading
T0 = 1_700_000_000.0
DOOR = "binary_sensor.front_door"
WINDOW = "binary_sensor.kitchen_window"
MOTION = "binary_sensor.hall_motion"
SMOKE = "binary_sensor.smoke"
SENSORS = (
    SensorConfig(entity_id=DOOR),
    SensorConfig(entity_id=WINDOW, entry_delay=False, exit_delay=False),
    SensorConfig(entity_id=MOTION, modes=frozenset({S.ARMED_AWAY})),
    SensorConfig(entity_id=SMOKE, modes=frozenset(), always_on=True, entry_delay=False),
)


def config(**overrides: Any) -> AlarmConfig:
    """Away: 60 s exit delay, 30 s entry delay, 120 s alarm; home: none, 10 s, 100 s."""
    times = {
        S.DISARMED: ModeTimes(arming_time=0, delay_time=0, trigger_time=0),
        S.ARMED_HOME: ModeTimes(arming_time=0, delay_time=10, trigger_time=100),
        S.ARMED_AWAY: ModeTimes(arming_time=60, delay_time=30, trigger_time=120),
        S.ARMED_NIGHT: ModeTimes(arming_time=0, delay_time=0, trigger_time=90),
    }
    return AlarmConfig(times=times, **overrides)


def panel(
    *,
    users: tuple[User, ...] = (),
    lockout: LockoutPolicy | None = None,
    readings: dict[str, Reading] | None = None,
) -> SecurityPanel:
    result = SecurityPanel(
        AlarmMachine(config(), users=users, now=T0), sensors=SENSORS, lockout=lockout
    )
    for entity_id in (DOOR, WINDOW, MOTION, SMOKE):
        result.sensor_changed(entity_id, (readings or {}).get(entity_id, R.CLOSED), T0)
    return result


def kinds(outcome: Outcome) -> list[EventKind]:
    return [event.kind for event in outcome.events]


def state_of(alarm: SecurityPanel) -> AlarmState:
    return alarm.machine.state


def armed_away(alarm: SecurityPanel, code: str | None = None) -> None:
    alarm.arm(S.ARMED_AWAY, T0, code)
    alarm.advance(T0 + 60)
    assert state_of(alarm) is S.ARMED_AWAY


# -- arming checks ----------------------------------------------------------------------------


def test_arming_with_a_window_open_is_refused_naming_it_and_changes_nothing() -> None:
    alarm = panel(readings={WINDOW: R.OPEN})
    before = alarm.snapshot()
    with pytest.raises(OpenSensorsError) as refused:
        alarm.arm(S.ARMED_AWAY, T0 + 1)
    assert refused.value.open_sensors == {WINDOW: R.OPEN}
    assert refused.value.translation_key == "open_sensors"
    assert refused.value.translation_placeholders == {"state": "armed_away", "sensors": WINDOW}
    assert refused.value.event("Ann") == AlarmEvent(
        EventKind.ARM_FAILURE,
        T0 + 1,
        {"mode": "armed_away", "open_sensors": {WINDOW: "open"}, "changed_by": "Ann"},
    )
    assert alarm.snapshot() == before


def test_forcing_bypasses_until_the_sensor_closes() -> None:
    alarm = panel(readings={WINDOW: R.OPEN})
    outcome = alarm.arm(S.ARMED_HOME, T0 + 1, force=True)  # no exit delay at home
    assert state_of(alarm) is S.ARMED_HOME
    assert alarm.bypassed == [WINDOW]
    assert outcome.events == [
        AlarmEvent(
            EventKind.ARMED,
            T0 + 1,
            {
                "mode": "armed_home",
                "bypassed_sensors": [WINDOW],
                "origin": "local",
                "changed_by": None,
            },
        )
    ]
    assert alarm.sensor_changed(WINDOW, R.OPEN, T0 + 2).transitions == []  # still open: nothing
    alarm.sensor_changed(WINDOW, R.CLOSED, T0 + 3)
    assert alarm.bypassed == []
    alarm.sensor_changed(WINDOW, R.OPEN, T0 + 4)  # guards again: no entry delay for windows
    assert state_of(alarm) is S.TRIGGERED


def test_the_exit_delay_lets_the_door_be_open_but_checks_it_at_its_end() -> None:
    alarm = panel(readings={DOOR: R.OPEN})
    alarm.arm(S.ARMED_AWAY, T0)
    assert state_of(alarm) is S.ARMING
    outcome = alarm.advance(T0 + 60)
    assert state_of(alarm) is S.DISARMED
    assert outcome.transitions == [Transition(S.ARMING, S.DISARMED, T0 + 60, Origin.LOCAL)]
    assert kinds(outcome) == [EventKind.ARM_FAILURE]  # not "disarmed": nobody disarmed
    assert outcome.events[0].data["open_sensors"] == {DOOR: "open"}


def test_a_forced_arming_bypasses_what_is_open_when_the_exit_delay_ends() -> None:
    alarm = panel(readings={DOOR: R.OPEN})
    alarm.arm(S.ARMED_AWAY, T0, force=True)
    outcome = alarm.advance(T0 + 60)
    assert state_of(alarm) is S.ARMED_AWAY
    assert alarm.bypassed == [DOOR]
    assert outcome.events[0].data["bypassed_sensors"] == [DOOR]


def test_closing_the_door_in_time_arms() -> None:
    alarm = panel(readings={DOOR: R.OPEN})
    alarm.arm(S.ARMED_AWAY, T0)
    alarm.sensor_changed(DOOR, R.CLOSED, T0 + 20)
    alarm.advance(T0 + 60)
    assert state_of(alarm) is S.ARMED_AWAY
    assert alarm.bypassed == []


def test_a_window_opened_during_the_exit_delay_cancels_arming_back_to_the_old_mode() -> None:
    alarm = panel()
    alarm.arm(S.ARMED_HOME, T0)
    alarm.arm(S.ARMED_AWAY, T0 + 1)
    outcome = alarm.sensor_changed(WINDOW, R.OPEN, T0 + 5)
    assert state_of(alarm) is S.ARMED_HOME
    assert outcome.transitions == [Transition(S.ARMING, S.ARMED_HOME, T0 + 5, Origin.LOCAL)]
    assert kinds(outcome) == [EventKind.ARM_FAILURE]
    assert alarm.machine.next_deadline() is None


def test_arm_on_close_arms_shortly_after_the_door_closes() -> None:
    sensors = (SensorConfig(entity_id=DOOR, arm_on_close=True),)
    alarm = SecurityPanel(AlarmMachine(config(), now=T0), sensors=sensors)
    alarm.sensor_changed(DOOR, R.CLOSED, T0)
    alarm.arm(S.ARMED_AWAY, T0)
    alarm.sensor_changed(DOOR, R.OPEN, T0 + 10)  # out through the door...
    alarm.sensor_changed(DOOR, R.CLOSED, T0 + 12)  # ...and shut behind
    assert alarm.machine.next_deadline() == T0 + 12 + ARM_ON_CLOSE_DELAY
    alarm.sensor_changed(DOOR, R.OPEN, T0 + 14)  # back in for the keys: the full delay again
    assert alarm.machine.next_deadline() == T0 + 60
    alarm.sensor_changed(DOOR, R.CLOSED, T0 + 20)
    alarm.advance(T0 + 25)
    assert state_of(alarm) is S.ARMED_AWAY


def test_allow_open_may_stay_open_and_guards_from_its_next_opening() -> None:
    sensors = (SensorConfig(entity_id=DOOR, allow_open=True, entry_delay=False),)
    alarm = SecurityPanel(AlarmMachine(config(), now=T0), sensors=sensors)
    alarm.sensor_changed(DOOR, R.OPEN, T0)
    armed_away(alarm)
    assert alarm.bypassed == []
    alarm.sensor_changed(DOOR, R.CLOSED, T0 + 100)
    alarm.sensor_changed(DOOR, R.OPEN, T0 + 101)
    assert state_of(alarm) is S.TRIGGERED


# -- trips -------------------------------------------------------------------------------------


def test_door_opened_while_armed_pends_then_triggers_naming_it() -> None:
    alarm = panel(users=(ANN,))
    armed_away(alarm, "1111")
    alarm.sensor_changed(DOOR, R.OPEN, T0 + 100)
    assert state_of(alarm) is S.PENDING
    alarm.sensor_changed(MOTION, R.OPEN, T0 + 105)  # the intruder walks on: still pending
    assert state_of(alarm) is S.PENDING
    outcome = alarm.advance(T0 + 130)
    assert state_of(alarm) is S.TRIGGERED
    assert alarm.triggered_by == [DOOR, MOTION]
    assert outcome.events == [
        AlarmEvent(
            EventKind.TRIGGERED,
            T0 + 130,
            {
                "mode": "armed_away",
                "sensors": [DOOR, MOTION],
                "origin": "timer",
                "changed_by": "Ann",
            },
        )
    ]


def test_a_valid_code_in_the_entry_delay_disarms() -> None:
    alarm = panel(users=(ANN,))
    alarm.arm(S.ARMED_AWAY, T0, "1111")
    alarm.advance(T0 + 60)
    alarm.sensor_changed(DOOR, R.OPEN, T0 + 100)
    with pytest.raises(InvalidCodeError):
        alarm.disarm(T0 + 110, "9999")
    outcome = alarm.disarm(T0 + 110, "1111")
    assert state_of(alarm) is S.DISARMED
    assert alarm.changed_by == "Ann"
    assert outcome.events == [
        AlarmEvent(
            EventKind.DISARMED,
            T0 + 110,
            {"previous": "pending", "origin": "local", "changed_by": "Ann"},
        )
    ]
    assert alarm.advance(T0 + 500).transitions == []


def test_an_immediate_sensor_cuts_the_entry_delay_short() -> None:
    alarm = panel()
    armed_away(alarm)
    alarm.sensor_changed(DOOR, R.OPEN, T0 + 100)
    alarm.sensor_changed(WINDOW, R.OPEN, T0 + 101)
    assert state_of(alarm) is S.TRIGGERED
    assert alarm.machine.next_deadline() == T0 + 101 + 120


def arming(alarm: SecurityPanel) -> None:
    alarm.arm(S.ARMED_AWAY, T0)


def pending(alarm: SecurityPanel) -> None:
    armed_away(alarm)
    alarm.sensor_changed(DOOR, R.OPEN, T0 + 100)


@pytest.mark.parametrize(
    "setup",
    [
        lambda alarm: None,
        arming,
        armed_away,
        lambda alarm: alarm.arm(S.ARMED_NIGHT, T0),
        pending,
    ],
    ids=["disarmed", "arming", "armed_away", "armed_night", "pending"],
)
def test_smoke_triggers_at_once_in_every_state(setup: Any) -> None:
    """Even where the state's alarm time is zero (disarmed): the longest one then."""
    alarm = panel()
    setup(alarm)
    outcome = alarm.sensor_changed(SMOKE, R.OPEN, T0 + 200)
    assert state_of(alarm) is S.TRIGGERED
    assert alarm.triggered_by[-1] == SMOKE
    assert EventKind.TRIGGERED in kinds(outcome)
    assert alarm.machine.next_deadline() is not None


def test_a_sensor_going_unavailable_while_armed_is_reported() -> None:
    alarm = panel()
    armed_away(alarm)
    outcome = alarm.sensor_changed(DOOR, R.UNAVAILABLE, T0 + 100)
    assert outcome.events == [
        AlarmEvent(EventKind.SENSOR_UNAVAILABLE, T0 + 100, {"sensor": DOOR, "state": "armed_away"})
    ]
    assert alarm.unavailable_sensors == [DOOR]
    assert state_of(alarm) is S.ARMED_AWAY
    assert alarm.sensor_changed(DOOR, R.CLOSED, T0 + 110).events == []  # back as it was
    alarm.sensor_changed(DOOR, R.UNAVAILABLE, T0 + 120)
    alarm.sensor_changed(DOOR, R.OPEN, T0 + 130)  # back, but opened meanwhile
    assert state_of(alarm) is S.PENDING


def test_unavailable_is_not_reported_for_sensors_that_guard_nothing_now() -> None:
    alarm = panel()
    assert alarm.sensor_changed(DOOR, R.UNAVAILABLE, T0 + 1).events == []  # disarmed
    assert alarm.sensor_changed(SMOKE, R.UNAVAILABLE, T0 + 2).events[0].data["sensor"] == SMOKE


def test_a_sensor_that_triggers_when_unavailable() -> None:
    sensors = (SensorConfig(entity_id=DOOR, trigger_unavailable=True, entry_delay=False),)
    alarm = SecurityPanel(AlarmMachine(config(), now=T0), sensors=sensors)
    alarm.sensor_changed(DOOR, R.CLOSED, T0)
    armed_away(alarm)
    outcome = alarm.sensor_changed(DOOR, R.UNAVAILABLE, T0 + 100)
    assert kinds(outcome) == [EventKind.SENSOR_UNAVAILABLE, EventKind.TRIGGERED]
    assert alarm.triggered_by == [DOOR]


def test_unknown_entities_are_ignored() -> None:
    assert panel().sensor_changed("binary_sensor.other", R.OPEN, T0 + 1) == Outcome()


# -- users and lockout -------------------------------------------------------------------------


def test_a_user_may_not_disarm_a_mode_it_is_not_allowed() -> None:
    alarm = panel(users=(ANN, BO))
    alarm.arm(S.ARMED_AWAY, T0, "2222")  # Bo may arm away...
    alarm.advance(T0 + 60)
    assert alarm.changed_by == "Bo"
    before = alarm.snapshot()
    with pytest.raises(NotPermittedError):  # ...but not disarm it
        alarm.disarm(T0 + 61, "2222")
    assert alarm.snapshot() == before
    alarm.disarm(T0 + 62, "1111")
    assert alarm.changed_by == "Ann"


def test_wrong_codes_lock_codes_out_for_the_period() -> None:
    alarm = panel(users=(ANN,), lockout=LockoutPolicy(attempts=3, seconds=300))
    armed_away(alarm, "1111")
    assert alarm.code_failed(T0 + 100).events == []
    alarm.disarm(T0 + 101, "1111")  # a good code forgives the wrong ones before it
    alarm.arm(S.ARMED_HOME, T0 + 102, "1111")
    assert alarm.code_failed(T0 + 103).events == []
    assert alarm.code_failed(T0 + 104).events == []
    outcome = alarm.code_failed(T0 + 105)
    assert outcome.events == [
        AlarmEvent(EventKind.LOCKOUT, T0 + 105, {"until": T0 + 405, "attempts": 3})
    ]
    assert alarm.locked_until(T0 + 200) == T0 + 405
    with pytest.raises(LockedOutError) as locked:
        alarm.code_check("1111", S.DISARMED, T0 + 200)
    assert locked.value.translation_placeholders == {"seconds": "205"}
    with pytest.raises(LockedOutError):  # the right code too, checked or not
        alarm.disarm(T0 + 200, "1111")
    alarm.trigger(T0 + 201)  # a panic trigger needs no code
    assert state_of(alarm) is S.PENDING
    assert alarm.code_check("1111", S.DISARMED, T0 + 405) is not None
    assert alarm.locked_until(T0 + 405) is None


def test_no_lockout_without_a_policy() -> None:
    alarm = panel(users=(ANN,))
    for second in range(10):
        assert alarm.code_failed(T0 + second).events == []
    assert alarm.locked_until(T0 + 10) is None


# -- the sync target ---------------------------------------------------------------------------


def test_the_targets_arming_is_taken_and_bypasses_open_sensors() -> None:
    alarm = panel(readings={WINDOW: R.OPEN})
    outcome = alarm.apply_external(S.ARMED_AWAY, T0 + 1, "alarm_control_panel.house")
    assert state_of(alarm) is S.ARMED_AWAY
    assert alarm.bypassed == [WINDOW]
    assert alarm.changed_by == "alarm_control_panel.house"
    assert outcome.events[0].data == {
        "mode": "armed_away",
        "bypassed_sensors": [WINDOW],
        "origin": "home_assistant",
        "changed_by": "alarm_control_panel.house",
    }


def test_a_window_opening_while_the_target_arms_cancels_and_disarms() -> None:
    alarm = panel()
    alarm.apply_external(S.ARMING, T0 + 1, "alarm_control_panel.house")
    # The target did not say which mode: only 24-hour sensors guard.
    assert alarm.sensor_changed(DOOR, R.OPEN, T0 + 2).transitions == []
    alarm.apply_external(S.ARMED_HOME, T0 + 3, "alarm_control_panel.house")
    alarm.apply_external(S.ARMING, T0 + 4, "alarm_control_panel.house")
    outcome = alarm.sensor_changed(SMOKE, R.OPEN, T0 + 5)
    assert state_of(alarm) is S.TRIGGERED
    assert outcome.transitions[-1].origin is Origin.LOCAL


def test_the_targets_alarm_is_taken_with_no_sensor() -> None:
    alarm = panel()
    armed_away(alarm)
    outcome = alarm.apply_external(S.TRIGGERED, T0 + 100, "alarm_control_panel.house")
    assert outcome.events[0].kind is EventKind.TRIGGERED
    assert outcome.events[0].data["sensors"] == []
    assert outcome.events[0].data["origin"] == "home_assistant"
    assert alarm.apply_external(S.TRIGGERED, T0 + 101, "x") == Outcome()


# -- persistence -------------------------------------------------------------------------------


def test_snapshot_round_trip_keeps_bypass_readings_and_lockout() -> None:
    alarm = panel(users=(ANN,), lockout=LockoutPolicy(attempts=1), readings={WINDOW: R.OPEN})
    alarm.arm(S.ARMED_AWAY, T0, "1111", force=True)
    alarm.code_failed(T0 + 1)
    data = json.loads(json.dumps(alarm.snapshot()))
    restored = SecurityPanel.restore(
        data, config=config(), users=(ANN,), sensors=SENSORS, lockout=LockoutPolicy(attempts=1)
    )
    assert restored.snapshot() == alarm.snapshot()
    assert restored.bypassed == [WINDOW]
    assert restored.changed_by == "Ann"
    assert restored.locked_until(T0 + 2) == T0 + 301
    restored.advance(T0 + 60)
    assert state_of(restored) is S.ARMED_AWAY
    # The window closed and opened again while Home Assistant was down: it trips.
    restored.sensor_changed(WINDOW, R.CLOSED, T0 + 70)
    restored.sensor_changed(WINDOW, R.OPEN, T0 + 71)
    assert state_of(restored) is S.TRIGGERED


def test_a_door_opened_while_home_assistant_was_down_trips_on_restore() -> None:
    alarm = panel()
    armed_away(alarm)
    restored = SecurityPanel.restore(alarm.snapshot(), config=config(), sensors=SENSORS)
    restored.sensor_seen(DOOR, R.OPEN, T0 + 500)
    assert state_of(restored) is S.PENDING


def test_a_sensor_added_while_armed_is_taken_as_it_is() -> None:
    """A window chosen while armed and open is no opening; it guards from its next one."""
    alarm = SecurityPanel(AlarmMachine(config(), now=T0), sensors=SENSORS)
    for entity_id in (DOOR, MOTION, SMOKE):
        alarm.sensor_seen(entity_id, R.CLOSED, T0)
    armed_away(alarm)
    assert alarm.sensor_seen(WINDOW, R.OPEN, T0 + 100) == Outcome()
    assert state_of(alarm) is S.ARMED_AWAY
    assert alarm.open_sensors == [WINDOW]
    restored = SecurityPanel.restore(alarm.snapshot(), config=config(), sensors=SENSORS)
    restored.sensor_seen(WINDOW, R.OPEN, T0 + 200)  # known now: still open is no change
    assert state_of(restored) is S.ARMED_AWAY
    restored.sensor_changed(WINDOW, R.CLOSED, T0 + 300)
    restored.sensor_changed(WINDOW, R.OPEN, T0 + 400)
    assert state_of(restored) is S.TRIGGERED
    assert restored.triggered_by == [WINDOW]


def test_a_sensor_first_seen_unavailable_counts_its_first_reading_as_a_change() -> None:
    alarm = SecurityPanel(AlarmMachine(config(), now=T0), sensors=SENSORS)
    alarm.arm(S.ARMED_HOME, T0)
    alarm.sensor_seen(WINDOW, R.UNAVAILABLE, T0 + 1)
    assert state_of(alarm) is S.ARMED_HOME
    alarm.sensor_changed(WINDOW, R.OPEN, T0 + 2)
    assert state_of(alarm) is S.TRIGGERED


def test_restore_of_the_first_layout_takes_defaults() -> None:
    machine = AlarmMachine(config(), now=T0)
    machine.arm(S.ARMED_HOME, T0)
    restored = SecurityPanel.restore({"machine": machine.snapshot()}, config=config())
    assert state_of(restored) is S.ARMED_HOME
    assert restored.bypassed == []
    assert restored.changed_by is None


@pytest.mark.parametrize(
    "change",
    [{"machine": None}, {"revert": "pending"}, {"readings": {DOOR: "ajar"}}],
)
def test_restore_refuses_bad_data(change: dict[str, Any]) -> None:
    data = panel().snapshot() | change
    with pytest.raises((InvalidSnapshotError, ValueError)):
        SecurityPanel.restore(data, config=config(), sensors=SENSORS)


def test_a_lockout_refuses_codes_given_where_none_is_needed() -> None:
    """Arming without a code still works during a lockout; a code given is refused."""
    machine = AlarmMachine(config(code_arm_required=False), users=(ANN,), now=T0)
    alarm = SecurityPanel(machine, lockout=LockoutPolicy(attempts=1, seconds=300))
    alarm.code_failed(T0)
    with pytest.raises(LockedOutError):
        alarm.code_check("1111", S.ARMED_HOME, T0 + 1)
    with pytest.raises(LockedOutError):
        alarm.arm(S.ARMED_HOME, T0 + 1, "1111")
    assert alarm.code_check(None, S.ARMED_HOME, T0 + 1) is None
    alarm.arm(S.ARMED_HOME, T0 + 1)
    assert state_of(alarm) is S.ARMED_HOME
    assert alarm.changed_by is None
