"""State mapping between RoomDB's alarm and a sync target panel: pure, no Home Assistant import.

Inbound (target state string → `AlarmState`): every state RoomDB's machine has maps 1:1 (all of
Home Assistant's but `disarming`, custom bypass included). Anything else maps to None: record
it as the last seen target state, never transition on it. Among those, the passing states
(`disarming`) are states a panel only goes through: the target is there, not offline. The rest
(`unknown`, `unavailable`, "", None, states these tables do not know) mean the target is unusable.

Outbound (`AlarmState` → `alarm_control_panel` service): stable states map to their own arm/disarm
service (each mode to the same mode: never to a "closest" one, whose echo would come back as another
state), TRIGGERED to `alarm_trigger` only when the target supports triggering, and ARMING/PENDING to
None: intermediate states are never pushed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Final

from .machine import AlarmState, Origin, Transition

SERVICE_ALARM_DISARM: Final = "alarm_disarm"
SERVICE_ALARM_ARM_HOME: Final = "alarm_arm_home"
SERVICE_ALARM_ARM_AWAY: Final = "alarm_arm_away"
SERVICE_ALARM_ARM_NIGHT: Final = "alarm_arm_night"
SERVICE_ALARM_ARM_VACATION: Final = "alarm_arm_vacation"
SERVICE_ALARM_ARM_CUSTOM_BYPASS: Final = "alarm_arm_custom_bypass"
SERVICE_ALARM_TRIGGER: Final = "alarm_trigger"

INBOUND_STATE_MAP: Final[Mapping[str, AlarmState]] = MappingProxyType(
    {str(state): state for state in AlarmState}
)

PASSING_STATES: Final[frozenset[str]] = frozenset({"disarming"})
"""Target states with no counterpart in RoomDB's machine that a panel only passes through on its
way to another state (Home Assistant 2024.11 added `disarming`). RoomDB records them and waits for
the state the panel settles in."""

OUTBOUND_SERVICE_MAP: Final[Mapping[AlarmState, str | None]] = MappingProxyType(
    {
        AlarmState.DISARMED: SERVICE_ALARM_DISARM,
        AlarmState.ARMED_HOME: SERVICE_ALARM_ARM_HOME,
        AlarmState.ARMED_AWAY: SERVICE_ALARM_ARM_AWAY,
        AlarmState.ARMED_NIGHT: SERVICE_ALARM_ARM_NIGHT,
        AlarmState.ARMED_VACATION: SERVICE_ALARM_ARM_VACATION,
        AlarmState.ARMED_CUSTOM_BYPASS: SERVICE_ALARM_ARM_CUSTOM_BYPASS,
        AlarmState.TRIGGERED: SERVICE_ALARM_TRIGGER,
        AlarmState.ARMING: None,
        AlarmState.PENDING: None,
    }
)


def map_inbound(target_state: str | None) -> AlarmState | None:
    """Map a target panel's state string; None means "record as last seen, never transition"."""
    if not isinstance(target_state, str):
        return None
    return INBOUND_STATE_MAP.get(target_state)


def is_passing(target_state: str | None) -> bool:
    """Return whether a target state is one a panel only passes through (see PASSING_STATES)."""
    return target_state in PASSING_STATES


def map_outbound(state: AlarmState, *, supports_trigger: bool) -> str | None:
    """Return the target service that mirrors `state`, or None when the state is not pushed."""
    if state is AlarmState.TRIGGERED and not supports_trigger:
        return None
    return OUTBOUND_SERVICE_MAP[AlarmState(state)]


def outbound_transition(
    transitions: Sequence[Transition], *, supports_trigger: bool
) -> Transition | None:
    """Pick the transition to push after one machine call, or None to push nothing.

    Scans from the newest: a PEER transition means the target already holds the newest state (and
    pushing anything older would echo), so nothing is pushed; otherwise the newest LOCAL/TIMER
    transition whose state has a service wins. Push the service for its `new` state; when the
    target is unreachable, keep `(new, at)` as the pending change.
    """
    for transition in reversed(transitions):
        if transition.origin is Origin.PEER:
            return None
        if map_outbound(transition.new, supports_trigger=supports_trigger) is not None:
            return transition
    return None
