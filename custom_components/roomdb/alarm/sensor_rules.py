"""Sensor rules of RoomDB's alarm panel: pure Python, no Home Assistant import.

A sensor is a binary sensor (door, window, motion, smoke, tamper…) with settings as in Alarmo:

- `modes`: the armed states in which it guards (custom bypass only when picked for it);
  `always_on` (24-hour sensors: smoke, tamper) guards in every state, disarmed included, and trips
  the alarm at once.
- `entry_delay`: opening it while armed starts the entry delay (PENDING); off, it trips the alarm
  at once, also cutting a running entry delay short.
- `exit_delay`: it may be open while the exit delay runs (the door one leaves by); off, it must be
  closed to start arming, and opening it during the exit delay makes arming fail.
- `arm_on_close`: closing it during the exit delay arms `ARM_ON_CLOSE_DELAY` seconds later instead
  of at the end of the delay; opening it again restores the rest of the delay.
- `allow_open`: it may be open when arming completes; it then guards again from its next opening.
- `trigger_unavailable`: losing it (unavailable, unknown) counts as opening it. Otherwise a lost
  sensor keeps its last known reading, so only coming back in another state counts as a change.

A change trips the alarm when the sensor's last known reading goes from safe to violated (open, or
lost with `trigger_unavailable`). Bypassed sensors (forced arming) guard nothing until they close.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Self

from .machine import ARMED_STATES, AlarmState, InvalidSnapshotError

ARM_ON_CLOSE_DELAY: Final = 5.0
"""Seconds between an arm-on-close sensor closing and the panel arming (as in Alarmo): the door
settles in its frame, and reopening it at once keeps the exit delay."""

OPEN_STATES: Final = frozenset({"on"})
CLOSED_STATES: Final = frozenset({"off"})

# Device classes whose sensors guard day and night, whatever the panel's state.
ALWAYS_ON_CLASSES: Final = frozenset(
    {"smoke", "gas", "carbon_monoxide", "heat", "moisture", "safety", "tamper", "problem"}
)
# Device classes one walks past or through when leaving and coming home.
PASSAGE_CLASSES: Final = frozenset({"door", "garage_door", "opening", "lock"})
MOTION_CLASSES: Final = frozenset({"motion", "occupancy", "presence", "moving"})
AWAY_MODES: Final = frozenset({AlarmState.ARMED_AWAY, AlarmState.ARMED_VACATION})
PRESET_MODES: Final = ARMED_STATES - {AlarmState.ARMED_CUSTOM_BYPASS}
"""The modes a sensor guards unless told otherwise. Custom bypass guards only the sensors picked for
it (and the always-on ones): that choice is what the mode is for."""


class Reading(StrEnum):
    """What a binary sensor reports, for the alarm."""

    CLOSED = "closed"
    OPEN = "open"
    UNAVAILABLE = "unavailable"
    """Unavailable, unknown or missing: no reading."""


def reading_of(state: str | None) -> Reading:
    """Map a binary sensor's state string (None: no such entity) to a reading."""
    if state in OPEN_STATES:
        return Reading.OPEN
    if state in CLOSED_STATES:
        return Reading.CLOSED
    return Reading.UNAVAILABLE


class Reaction(StrEnum):
    """What one sensor change does to the panel (see `reaction`)."""

    NONE = "none"
    TRIGGER = "trigger"
    """Trigger with the entry delay."""
    TRIGGER_NOW = "trigger_now"
    """Trigger without (or cutting short) the entry delay."""
    ABORT_ARMING = "abort_arming"
    LIFT_BYPASS = "lift_bypass"
    ARM_ON_CLOSE = "arm_on_close"
    RESUME_EXIT_DELAY = "resume_exit_delay"


SENSOR_FLAGS: Final = (
    "entry_delay",
    "exit_delay",
    "always_on",
    "arm_on_close",
    "allow_open",
    "trigger_unavailable",
)
"""A sensor's on/off settings, in the order the options form shows them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorConfig:
    """How one binary sensor guards the panel; see the module docstring."""

    entity_id: str
    modes: frozenset[AlarmState] = PRESET_MODES
    entry_delay: bool = True
    exit_delay: bool = True
    always_on: bool = False
    arm_on_close: bool = False
    allow_open: bool = False
    trigger_unavailable: bool = False

    def __post_init__(self) -> None:
        """Accept only armed states as modes."""
        object.__setattr__(self, "modes", frozenset(self.modes))
        if bad := self.modes - ARMED_STATES:
            raise InvalidSnapshotError(f"sensor modes must be armed states, not {sorted(bad)}")

    def active_in(self, mode: AlarmState | None) -> bool:
        """Whether the sensor guards a panel in (or heading for) `mode` (None: unknown mode)."""
        return self.always_on or mode in self.modes

    def violated_by(self, reading: Reading) -> bool:
        """Whether `reading` is one the sensor must not show while it guards."""
        return reading is Reading.OPEN or (
            reading is Reading.UNAVAILABLE and self.trigger_unavailable
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict (without the entity id: options key sensors by it)."""
        return {
            "modes": sorted(str(mode) for mode in self.modes),
            "entry_delay": self.entry_delay,
            "exit_delay": self.exit_delay,
            "always_on": self.always_on,
            "arm_on_close": self.arm_on_close,
            "allow_open": self.allow_open,
            "trigger_unavailable": self.trigger_unavailable,
        }

    @classmethod
    def from_dict(cls, entity_id: str, data: Mapping[str, Any]) -> Self:
        """Build from a dict as written by `to_dict`; missing keys take the defaults."""
        modes = data.get("modes", sorted(PRESET_MODES))
        if isinstance(modes, str) or not isinstance(modes, list | tuple | set | frozenset):
            raise InvalidSnapshotError(f"{entity_id}: modes must be a list")
        try:
            parsed = frozenset(AlarmState(mode) for mode in modes)
        except ValueError as err:
            raise InvalidSnapshotError(f"{entity_id}: {err}") from None
        return cls(
            entity_id=entity_id,
            modes=parsed,
            **{flag: bool(data[flag]) for flag in SENSOR_FLAGS if flag in data},
        )


def default_sensor(entity_id: str, device_class: str | None) -> SensorConfig:
    """Settings for a newly chosen sensor, by its device class.

    Smoke, gas, water, tamper and the like guard always and at once; doors (the ways in and out)
    guard every preset mode with both delays; motion guards only while nobody is home; windows and
    anything else guard every preset mode at once (nobody leaves through a window). No preset
    includes custom bypass.
    """
    if device_class in ALWAYS_ON_CLASSES:
        return SensorConfig(
            entity_id=entity_id, modes=frozenset(), always_on=True, entry_delay=False
        )
    if device_class in PASSAGE_CLASSES:
        return SensorConfig(entity_id=entity_id)
    if device_class in MOTION_CLASSES:
        return SensorConfig(entity_id=entity_id, modes=AWAY_MODES)
    return SensorConfig(entity_id=entity_id, entry_delay=False, exit_delay=False)


@dataclass(frozen=True, slots=True)
class ArmingCheck:
    """The outcome of checking the sensors before arming (or when the exit delay ends)."""

    open: Mapping[str, Reading]
    """Sensors that refuse the arming, with their reading."""
    bypass: frozenset[str]
    """Sensors a forced arming bypasses."""


def arming_check(
    sensors: Iterable[SensorConfig],
    readings: Mapping[str, Reading],
    mode: AlarmState,
    *,
    exit_delay_running: bool,
    force: bool,
    bypassed: frozenset[str] = frozenset(),
) -> ArmingCheck:
    """Check the sensors guarding `mode` before arming it.

    With an exit delay still to run, sensors with `exit_delay` may be open (they are checked again
    when it ends); `allow_open` sensors may be open; already bypassed sensors are skipped. Any other
    sensor in a violated reading refuses the arming, or, with `force`, is bypassed. A sensor never
    read counts as unavailable.
    """
    refusing: dict[str, Reading] = {}
    bypass: set[str] = set()
    for sensor in sensors:
        if sensor.entity_id in bypassed or not sensor.active_in(mode):
            continue
        reading = readings.get(sensor.entity_id, Reading.UNAVAILABLE)
        if not sensor.violated_by(reading):
            continue
        if exit_delay_running and sensor.exit_delay and not sensor.always_on:
            continue
        if sensor.allow_open and reading is Reading.OPEN:
            continue
        if force:
            bypass.add(sensor.entity_id)
        else:
            refusing[sensor.entity_id] = reading
    return ArmingCheck(dict(sorted(refusing.items())), frozenset(bypass))


def reaction(
    sensor: SensorConfig,
    before: Reading,
    after: Reading,
    *,
    state: AlarmState,
    mode: AlarmState | None,
    bypassed: bool,
) -> Reaction:
    """What the sensor's last known reading going from `before` to `after` does to the panel.

    `state` is the panel's state; `mode` the mode it is in or heading for (the armed state, the
    mode being armed, the state a running alarm interrupted; DISARMED; None while a sync target
    arms to a mode RoomDB cannot know).
    """
    if bypassed:
        return Reaction.LIFT_BYPASS if after is Reading.CLOSED else Reaction.NONE
    if not sensor.active_in(mode):
        return Reaction.NONE
    tripped = sensor.violated_by(after) and not sensor.violated_by(before)
    if tripped and sensor.always_on:
        return Reaction.TRIGGER_NOW
    if state is AlarmState.ARMING:
        if tripped and not sensor.exit_delay:
            return Reaction.ABORT_ARMING
        if sensor.arm_on_close and after is not before:
            if after is Reading.CLOSED:
                return Reaction.ARM_ON_CLOSE
            if after is Reading.OPEN:
                return Reaction.RESUME_EXIT_DELAY
        return Reaction.NONE
    if not tripped:
        return Reaction.NONE
    return Reaction.TRIGGER if sensor.entry_delay else Reaction.TRIGGER_NOW
