"""The panel's users in the guarding tests, with and without Home Assistant."""

from __future__ import annotations

from custom_components.roomdb.alarm.machine import AlarmState, User

ANN = User.create("Ann", "1111", iterations=1)
"""May arm and disarm every mode; arms without a code where the panel allows it."""
BO = User.create(
    "Bo",
    "2222",
    iterations=1,
    arm_modes=frozenset({AlarmState.ARMED_HOME, AlarmState.ARMED_AWAY}),
    disarm_modes=frozenset({AlarmState.ARMED_HOME}),
)
"""May arm home and away, and disarm home only."""
