"""State mapping between RoomDB's alarm and a target panel (purity: tests/test_architecture.py)."""

from __future__ import annotations

from homeassistant.components.alarm_control_panel.const import AlarmControlPanelState
import homeassistant.const as ha_const
import pytest

from custom_components.roomdb.alarm.machine import AlarmState, Origin, Transition
from custom_components.roomdb.alarm.state_mapping import (
    INBOUND_STATE_MAP,
    OUTBOUND_SERVICE_MAP,
    PASSING_STATES,
    is_passing,
    map_inbound,
    map_outbound,
    outbound_transition,
)


def test_alarm_state_values_equal_home_assistant() -> None:
    ha_values = {state.value for state in AlarmControlPanelState}
    for state in AlarmState:
        assert state.value in ha_values
        assert AlarmControlPanelState(state.value).value == state.value
    # HA's extra state: disarming, which a panel only passes through: recorded, never applied.
    assert ha_values - {s.value for s in AlarmState} == {"disarming"}


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("disarmed", AlarmState.DISARMED),
        ("arming", AlarmState.ARMING),
        ("pending", AlarmState.PENDING),
        ("triggered", AlarmState.TRIGGERED),
        ("armed_home", AlarmState.ARMED_HOME),
        ("armed_away", AlarmState.ARMED_AWAY),
        ("armed_night", AlarmState.ARMED_NIGHT),
        ("armed_custom_bypass", AlarmState.ARMED_CUSTOM_BYPASS),
        ("armed_vacation", AlarmState.ARMED_VACATION),
        ("disarming", None),
        ("unknown", None),
        ("unavailable", None),
        ("", None),
        (None, None),
        ("ARMED_AWAY", None),
        ("armed", None),
        (" disarmed", None),
        ("open", None),
    ],
)
def test_map_inbound(target: str | None, expected: AlarmState | None) -> None:
    assert map_inbound(target) is expected


@pytest.mark.parametrize("state", list(AlarmControlPanelState))
def test_every_home_assistant_state_is_mapped_or_passing(state: AlarmControlPanelState) -> None:
    """A state Home Assistant adds fails here until the mapping says what it means."""
    mapped = map_inbound(state.value)
    assert (mapped is not None) != is_passing(state.value), state
    assert map_inbound(state) is mapped  # a StrEnum member works too


def test_mapped_and_passing_states_are_home_assistant_states() -> None:
    ha_values = {s.value for s in AlarmControlPanelState}
    assert set(INBOUND_STATE_MAP) | PASSING_STATES == ha_values
    assert not set(INBOUND_STATE_MAP) & PASSING_STATES


@pytest.mark.parametrize("unusable", ["unknown", "unavailable", "", None, "armed_sideways"])
def test_unusable_states_are_not_passing(unusable: str | None) -> None:
    assert map_inbound(unusable) is None
    assert not is_passing(unusable)


@pytest.mark.parametrize(
    ("state", "supports_trigger", "service"),
    [
        (AlarmState.DISARMED, True, "alarm_disarm"),
        (AlarmState.ARMED_HOME, True, "alarm_arm_home"),
        (AlarmState.ARMED_AWAY, True, "alarm_arm_away"),
        (AlarmState.ARMED_NIGHT, True, "alarm_arm_night"),
        (AlarmState.ARMED_VACATION, True, "alarm_arm_vacation"),
        (AlarmState.ARMED_CUSTOM_BYPASS, True, "alarm_arm_custom_bypass"),
        (AlarmState.ARMED_CUSTOM_BYPASS, False, "alarm_arm_custom_bypass"),
        (AlarmState.TRIGGERED, True, "alarm_trigger"),
        (AlarmState.TRIGGERED, False, None),
        (AlarmState.ARMING, True, None),
        (AlarmState.PENDING, True, None),
        (AlarmState.ARMING, False, None),
        (AlarmState.PENDING, False, None),
        (AlarmState.DISARMED, False, "alarm_disarm"),
        (AlarmState.ARMED_AWAY, False, "alarm_arm_away"),
    ],
)
def test_map_outbound(state: AlarmState, supports_trigger: bool, service: str | None) -> None:
    assert map_outbound(state, supports_trigger=supports_trigger) == service


def test_outbound_services_are_home_assistant_services() -> None:
    assert set(OUTBOUND_SERVICE_MAP) == set(AlarmState)
    ha_services = {
        ha_const.SERVICE_ALARM_DISARM,
        ha_const.SERVICE_ALARM_ARM_HOME,
        ha_const.SERVICE_ALARM_ARM_AWAY,
        ha_const.SERVICE_ALARM_ARM_NIGHT,
        ha_const.SERVICE_ALARM_ARM_VACATION,
        ha_const.SERVICE_ALARM_ARM_CUSTOM_BYPASS,
        ha_const.SERVICE_ALARM_TRIGGER,
    }
    assert {s for s in OUTBOUND_SERVICE_MAP.values() if s} == ha_services


def test_round_trip_of_pushable_states() -> None:
    """What RoomDB pushes comes back (as the target shows it) as the same state."""
    shown_after = {
        "alarm_disarm": "disarmed",
        "alarm_arm_home": "armed_home",
        "alarm_arm_away": "armed_away",
        "alarm_arm_night": "armed_night",
        "alarm_arm_vacation": "armed_vacation",
        "alarm_arm_custom_bypass": "armed_custom_bypass",
        "alarm_trigger": "triggered",
    }
    for state in AlarmState:
        service = map_outbound(state, supports_trigger=True)
        if service is not None:
            assert map_inbound(shown_after[service]) is state


def _t(old: AlarmState, new: AlarmState, at: float, origin: Origin) -> Transition:
    return Transition(old, new, at, origin)


A, D, P, T, G = (
    AlarmState.ARMED_AWAY,
    AlarmState.DISARMED,
    AlarmState.PENDING,
    AlarmState.TRIGGERED,
    AlarmState.ARMING,
)


@pytest.mark.parametrize(
    ("transitions", "supports_trigger", "expected"),
    [
        ([], True, None),
        ([_t(A, D, 1, Origin.LOCAL)], True, 0),
        ([_t(D, G, 1, Origin.LOCAL)], True, None),
        ([_t(G, A, 1, Origin.TIMER)], True, 0),
        ([_t(A, D, 1, Origin.PEER)], True, None),
        # the timer armed the panel, then a local trigger started the entry delay: push the armed
        ([_t(G, A, 1, Origin.TIMER), _t(A, P, 2, Origin.LOCAL)], True, 0),
        # a peer change after an overdue timer: the peer's state is newer, push nothing
        ([_t(G, A, 1, Origin.TIMER), _t(A, D, 2, Origin.PEER)], True, None),
        # a local change after a peer change is pushed
        ([_t(A, D, 1, Origin.PEER), _t(D, G, 2, Origin.LOCAL), _t(G, A, 3, Origin.TIMER)], True, 2),
        ([_t(P, T, 1, Origin.TIMER)], True, 0),
        ([_t(P, T, 1, Origin.TIMER)], False, None),
        (
            [_t(A, P, 1, Origin.LOCAL), _t(P, T, 2, Origin.TIMER), _t(T, A, 3, Origin.TIMER)],
            False,
            2,
        ),
        ([_t(G, A, 1, Origin.TIMER), _t(A, T, 2, Origin.LOCAL)], False, 0),
    ],
)
def test_outbound_transition(
    transitions: list[Transition], supports_trigger: bool, expected: int | None
) -> None:
    chosen = outbound_transition(transitions, supports_trigger=supports_trigger)
    if expected is None:
        assert chosen is None
    else:
        assert chosen is transitions[expected]
