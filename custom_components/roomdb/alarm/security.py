"""RoomDB's alarm as a security panel: the state machine plus sensors, bypass and lockout.

Pure Python, no Home Assistant import. `SecurityPanel` wraps an `AlarmMachine` and adds what makes
it guard a home:

- Arming checks (`sensors.arming_check`): arming with a sensor open is refused with
  `OpenSensorsError` naming the sensors, unless forced: then they are bypassed (until each closes,
  or the panel is disarmed). When the exit delay ends the check runs again; sensors open then make
  arming fail (`cancel_arming`: back to the state before arming), unless the arming was forced.
- Sensor changes (`sensor_changed`, rules in `sensors.reaction`): trip the alarm, with or without
  the entry delay, abort an arming, lift a bypass, arm on close. A guarding sensor losing its
  reading is reported (`SENSOR_UNAVAILABLE`). `sensor_seen` takes the readings when watching starts:
  changes since the last known reading count, a sensor never read is only recorded.
- States from the sync target (`apply_external`) are taken as the machine takes them, never
  refused: an armed state arriving while sensors are open bypasses them, as a forced arming would.
- Lockout: `code_failed` counts wrong codes; `LockoutPolicy.attempts` of them in a row refuse every
  command that needs or gives a code for `LockoutPolicy.seconds` (`LockedOutError`).
- Events (`AlarmEvent`): armed, disarmed, triggered (with the sensors that tripped), arm failure
  (with the open sensors), sensor unavailable and lockout; each command returns them with its
  transitions in an `Outcome`.

Like the machine, the panel never reads a clock: `now` is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
import math
from typing import Any, ClassVar, Final, Self

from .machine import (
    ARMED_STATES,
    STABLE_STATES,
    AlarmConfig,
    AlarmError,
    AlarmMachine,
    AlarmState,
    Code,
    CodeCheck,
    InvalidSnapshotError,
    Origin,
    Transition,
    User,
    VerifiedCode,
)
from .sensor_rules import (
    ARM_ON_CLOSE_DELAY,
    Reaction,
    Reading,
    SensorConfig,
    arming_check,
    reaction,
)

ORIGIN_NAMES: Final[Mapping[Origin, str]] = {
    Origin.LOCAL: "local",
    Origin.TIMER: "timer",
    Origin.PEER: "home_assistant",
}
"""How events name a transition's origin (the peer: the Home Assistant panel RoomDB syncs with)."""

RUNNING_ALARM: Final = frozenset({AlarmState.PENDING, AlarmState.TRIGGERED})


class EventKind(StrEnum):
    """The `event` of a `roomdb_alarm_event`."""

    ARMED = "armed"
    DISARMED = "disarmed"
    TRIGGERED = "triggered"
    ARM_FAILURE = "arm_failure"
    SENSOR_UNAVAILABLE = "sensor_unavailable"
    LOCKOUT = "lockout"
    SYNC_OFFLINE = "sync_offline"
    SYNC_ONLINE = "sync_online"


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """Something a user's automations and phones may want to hear about.

    `data` is JSON-able; entity ids name sensors, and `until` (lockout) is a timestamp.
    """

    kind: EventKind
    at: float
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Outcome:
    """What one call did: transitions (oldest first) and events."""

    transitions: list[Transition] = field(default_factory=list)
    events: list[AlarmEvent] = field(default_factory=list)


class OpenSensorsError(AlarmError):
    """Arming refused: sensors guarding the mode are open (or lost); force bypasses them."""

    translation_key: ClassVar[str] = "open_sensors"

    def __init__(self, mode: AlarmState, open_sensors: Mapping[str, Reading], at: float) -> None:
        """Keep the sensors (entity ids; the HA layer puts their names in the message)."""
        super().__init__(
            f"cannot arm {mode}: open sensors {sorted(open_sensors)}",
            state=str(mode),
            sensors=", ".join(open_sensors),
        )
        self.mode = mode
        self.open_sensors = dict(open_sensors)
        self.at = at

    def event(self, changed_by: str | None) -> AlarmEvent:
        """The arm failure to report; `changed_by`: the user who tried, if a code told."""
        return arm_failure_event(self.at, self.mode, self.open_sensors, changed_by)


class LockedOutError(AlarmError):
    """Too many wrong codes: commands that need a code are refused until `until`."""

    translation_key: ClassVar[str] = "locked_out"

    def __init__(self, until: float, now: float) -> None:
        """Keep when the lockout ends."""
        seconds = math.ceil(until - now)
        super().__init__(f"locked out for {seconds} s", seconds=str(seconds))
        self.until = until


@dataclass(frozen=True, slots=True, kw_only=True)
class LockoutPolicy:
    """How many wrong codes in a row (0: any number) lock codes out, and for how long."""

    attempts: int = 0
    seconds: float = 300.0


class SecurityPanel:
    """The alarm machine with sensors, bypass and lockout. Not thread-safe, like the machine."""

    def __init__(
        self,
        machine: AlarmMachine,
        *,
        sensors: Iterable[SensorConfig] = (),
        lockout: LockoutPolicy | None = None,
    ) -> None:
        """Guard `machine` with `sensors`; nothing is known of their readings yet."""
        self.machine = machine
        self._sensors = {sensor.entity_id: sensor for sensor in sensors}
        self._lockout = lockout or LockoutPolicy()
        # The last reading each sensor reported, and the last one that counts (a lost sensor
        # keeps its previous one unless it triggers when lost).
        self._raw: dict[str, Reading] = {}
        self._known: dict[str, Reading] = {}
        self._bypassed: set[str] = set()
        self._triggered_by: list[str] = []
        self._force = False
        self._revert = AlarmState.DISARMED
        self._exit_deadline: float | None = None
        self._failures = 0
        self._locked_until: float | None = None
        self.changed_by: str | None = None
        """The user (name) whose code made the last change, or the sync target's entity id."""

    # -- read-only views -------------------------------------------------------------------------

    @property
    def sensors(self) -> Mapping[str, SensorConfig]:
        """The configured sensors by entity id."""
        return self._sensors

    @property
    def bypassed(self) -> list[str]:
        """Sensors a forced (or sync target's) arming bypassed and that have not closed since."""
        return sorted(self._bypassed)

    @property
    def triggered_by(self) -> list[str]:
        """The sensors that tripped the last alarm, in order (kept until the next one)."""
        return list(self._triggered_by)

    @property
    def open_sensors(self) -> list[str]:
        """Configured sensors that report open right now."""
        return sorted(eid for eid, reading in self._raw.items() if reading is Reading.OPEN)

    @property
    def unavailable_sensors(self) -> list[str]:
        """Sensors guarding the current mode that have no reading right now (never read too)."""
        mode = self._mode()
        return sorted(
            eid
            for eid, sensor in self._sensors.items()
            if sensor.active_in(mode)
            and eid not in self._bypassed
            and self._raw.get(eid, Reading.UNAVAILABLE) is Reading.UNAVAILABLE
        )

    def locked_until(self, now: float) -> float | None:
        """When a running lockout ends, or None."""
        if self._locked_until is not None and now < self._locked_until:
            return self._locked_until
        return None

    # -- codes -----------------------------------------------------------------------------------

    def code_check(self, code: Code, for_state: AlarmState, now: float) -> CodeCheck | None:
        """The machine's `code_check`, refused first while codes are locked out."""
        self._check_lockout(for_state, now, code)
        return self.machine.code_check(code, for_state)

    def code_failed(self, now: float) -> Outcome:
        """Count a wrong code; the one that reaches the policy's attempts starts a lockout."""
        outcome = Outcome()
        if self._lockout.attempts <= 0:
            return outcome
        self._failures += 1
        if self._failures >= self._lockout.attempts:
            self._failures = 0
            self._locked_until = now + self._lockout.seconds
            outcome.events.append(
                AlarmEvent(
                    EventKind.LOCKOUT,
                    now,
                    {"until": self._locked_until, "attempts": self._lockout.attempts},
                )
            )
        return outcome

    # -- commands --------------------------------------------------------------------------------

    def arm(
        self, mode: AlarmState, now: float, code: Code = None, *, force: bool = False
    ) -> Outcome:
        """Arm `mode` after the arming check; raise `OpenSensorsError` when it refuses.

        Refused commands change nothing (the caller reports the refusal's event itself).
        """
        outcome = self.advance(now)
        self._check_lockout(mode, now, code)
        user = self.machine.check_arm(mode, now, code)
        machine = self.machine
        if machine.state is mode or (machine.state is AlarmState.ARMING and machine.target is mode):
            return outcome
        check = arming_check(
            self._sensors.values(),
            self._raw,
            mode,
            exit_delay_running=machine.config.times_for(mode).arming_time > 0,
            force=force,
            bypassed=frozenset(self._bypassed),
        )
        if check.open:
            raise OpenSensorsError(mode, check.open, now)
        before = self._stable()
        from_arming = machine.state is AlarmState.ARMING
        transitions = machine.arm(mode, now, _verified(user))
        self._used_code(user)
        self._bypassed |= check.bypass
        if machine.state is AlarmState.ARMING:
            if not from_arming:
                self._revert = before
            self._force = force
            self._exit_deadline = machine.next_deadline()
        if before is AlarmState.DISARMED:
            self._triggered_by = []
        self._record(transitions, outcome)
        return outcome

    def disarm(self, now: float, code: Code = None) -> Outcome:
        """Disarm; the bypass ends with it."""
        outcome = self.advance(now)
        self._check_lockout(AlarmState.DISARMED, now, code)
        user = self.machine.validate_code(code, AlarmState.DISARMED)
        transitions = self.machine.disarm(now, _verified(user))
        self._used_code(user)
        self._record(transitions, outcome)
        return outcome

    def trigger(self, now: float) -> Outcome:
        """Trigger by command (a panic button): the state's entry delay, no sensor."""
        outcome = self.advance(now)
        transitions = self.machine.trigger(now)
        if transitions:
            self.changed_by = None
            self._triggered_by = []
        self._record(transitions, outcome)
        return outcome

    def apply_external(self, state: AlarmState, now: float, source: str) -> Outcome:
        """Take the sync target's state (never refused); `source` becomes `changed_by`.

        An armed state taken while guarding sensors are open bypasses them: RoomDB cannot refuse
        the target's arming without undoing a change the conflict rules give to the target.
        """
        outcome = self.advance(now)
        before = self._stable()
        was = self.machine.state
        transitions = self.machine.apply_external(state, now)
        if not transitions:
            return outcome
        self.changed_by = source
        new = self.machine.state
        if new is AlarmState.ARMING and was is not AlarmState.ARMING:
            self._revert = before
            self._force = False
            self._exit_deadline = None
        elif new in ARMED_STATES and was not in RUNNING_ALARM:
            self._bypassed |= arming_check(
                self._sensors.values(),
                self._raw,
                new,
                exit_delay_running=False,
                force=True,
                bypassed=frozenset(self._bypassed),
            ).bypass
        elif new in RUNNING_ALARM and was not in RUNNING_ALARM:
            self._triggered_by = []
        self._record(transitions, outcome)
        return outcome

    def advance(self, now: float) -> Outcome:
        """Apply the timed transitions due at or before `now`, checking sensors when arming ends."""
        outcome = Outcome()
        machine = self.machine
        while (deadline := machine.next_deadline()) is not None and deadline <= now:
            if machine.state is AlarmState.ARMING and machine.target is not None:
                check = arming_check(
                    self._sensors.values(),
                    self._raw,
                    machine.target,
                    exit_delay_running=False,
                    force=self._force,
                    bypassed=frozenset(self._bypassed),
                )
                if check.open:
                    self._fail_arming(deadline, check.open, outcome)
                    continue
                self._bypassed |= check.bypass
            self._record(machine.advance(deadline), outcome)
        return outcome

    def sensor_seen(self, entity_id: str, reading: Reading, now: float) -> Outcome:
        """Take a sensor's reading when watching starts (Home Assistant started, options saved).

        A sensor read before (its last reading is kept across restarts) reacts as to a change: a
        door opened while Home Assistant was down counts as opened. A sensor never read, one just
        added to the alarm, is taken as it is: adding an open window to an armed panel is no
        opening, and the window guards from its next one (arming checks still see it open).
        """
        sensor = self._sensors.get(entity_id)
        if sensor is None or entity_id in self._known:
            return self.sensor_changed(entity_id, reading, now)
        self._raw[entity_id] = reading
        if reading is not Reading.UNAVAILABLE or sensor.trigger_unavailable:
            self._known[entity_id] = reading
        return Outcome()

    def sensor_changed(self, entity_id: str, reading: Reading, now: float) -> Outcome:
        """Take a sensor's new reading; unknown entities are ignored."""
        sensor = self._sensors.get(entity_id)
        if sensor is None:
            return Outcome()
        outcome = self.advance(now)
        before_raw = self._raw.get(entity_id)
        self._raw[entity_id] = reading
        before = self._known.get(entity_id, Reading.CLOSED)
        after = (
            before if reading is Reading.UNAVAILABLE and not sensor.trigger_unavailable else reading
        )
        self._known[entity_id] = after
        mode = self._mode()
        bypassed = entity_id in self._bypassed
        if (
            reading is Reading.UNAVAILABLE
            and before_raw not in (None, Reading.UNAVAILABLE)
            and not bypassed
            and sensor.active_in(mode)
        ):
            outcome.events.append(
                AlarmEvent(
                    EventKind.SENSOR_UNAVAILABLE,
                    now,
                    {"sensor": entity_id, "state": str(self.machine.state)},
                )
            )
        match reaction(
            sensor, before, after, state=self.machine.state, mode=mode, bypassed=bypassed
        ):
            case Reaction.LIFT_BYPASS:
                self._bypassed.discard(entity_id)
            case Reaction.TRIGGER | Reaction.TRIGGER_NOW as trip:
                self._trip(entity_id, now, trip is Reaction.TRIGGER_NOW, sensor.always_on, outcome)
            case Reaction.ABORT_ARMING:
                self._fail_arming(now, {entity_id: after}, outcome)
            case Reaction.ARM_ON_CLOSE if self._exit_deadline is not None:
                self.machine.reschedule_arming(min(self._exit_deadline, now + ARM_ON_CLOSE_DELAY))
            case Reaction.RESUME_EXIT_DELAY if self._exit_deadline is not None:
                self.machine.reschedule_arming(self._exit_deadline)
            case _:
                pass
        return outcome

    # -- persistence -----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Return a JSON-able dict of the runtime state (no codes)."""
        return {
            "machine": self.machine.snapshot(),
            "readings": {eid: str(reading) for eid, reading in sorted(self._known.items())},
            "bypassed": sorted(self._bypassed),
            "triggered_by": list(self._triggered_by),
            "force": self._force,
            "revert": str(self._revert),
            "exit_deadline": self._exit_deadline,
            "changed_by": self.changed_by,
            "lockout": {"failures": self._failures, "until": self._locked_until},
        }

    @classmethod
    def restore(
        cls,
        data: Mapping[str, Any],
        *,
        config: AlarmConfig,
        users: Sequence[User] = (),
        sensors: Iterable[SensorConfig] = (),
        lockout: LockoutPolicy | None = None,
    ) -> Self:
        """Rebuild from `snapshot()` (keys missing in older data take their defaults).

        Raise `InvalidSnapshotError` (or `TypeError`/`ValueError` for values of the wrong kind).
        """
        machine_data = data.get("machine")
        if not isinstance(machine_data, Mapping):
            raise InvalidSnapshotError("no machine state")
        panel = cls(
            AlarmMachine.restore(machine_data, config, users), sensors=sensors, lockout=lockout
        )
        panel._known = {
            str(eid): Reading(value) for eid, value in dict(data.get("readings") or {}).items()
        }
        panel._bypassed = {str(eid) for eid in data.get("bypassed") or ()}
        panel._triggered_by = [str(eid) for eid in data.get("triggered_by") or ()]
        panel._force = bool(data.get("force"))
        panel._revert = AlarmState(data.get("revert") or AlarmState.DISARMED)
        if panel._revert not in STABLE_STATES:
            raise InvalidSnapshotError(f"arming cannot fall back to {panel._revert}")
        panel._exit_deadline = _optional_float(data.get("exit_deadline"))
        changed_by = data.get("changed_by")
        panel.changed_by = None if changed_by is None else str(changed_by)
        lockout_data = data.get("lockout") or {}
        panel._failures = int(lockout_data.get("failures") or 0)
        panel._locked_until = _optional_float(lockout_data.get("until"))
        return panel

    # -- internals -------------------------------------------------------------------------------

    def _check_lockout(self, for_state: AlarmState, now: float, code: Code) -> None:
        """Refuse a command that needs a code, or gives one, while codes are locked out."""
        needs_code = self.machine.code_needed(for_state) or bool(code)
        if needs_code and (until := self.locked_until(now)) is not None:
            raise LockedOutError(until, now)

    def _used_code(self, user: User | None) -> None:
        """A command a code allowed went through: the wrong codes before it are forgiven."""
        self.changed_by = None if user is None else user.name
        if user is not None:
            self._failures = 0

    def _stable(self) -> AlarmState:
        """The stable state the panel is in, or that a running alarm interrupted."""
        state = self.machine.state
        if state in STABLE_STATES:
            return state
        if state is AlarmState.ARMING:
            return self._revert
        return self.machine.target or AlarmState.DISARMED

    def _mode(self) -> AlarmState | None:
        """The mode sensors guard: the armed state, or the one being armed or interrupted."""
        state = self.machine.state
        return state if state in STABLE_STATES else self.machine.target

    def _trip(
        self, entity_id: str, now: float, immediate: bool, always: bool, outcome: Outcome
    ) -> None:
        starting = self.machine.state not in RUNNING_ALARM
        transitions = self.machine.trigger(now, immediate=immediate, always=always)
        if self.machine.state in RUNNING_ALARM:
            if starting:
                self._triggered_by = []
            if entity_id not in self._triggered_by:
                self._triggered_by.append(entity_id)
        self._record(transitions, outcome)

    def _fail_arming(
        self, at: float, open_sensors: Mapping[str, Reading], outcome: Outcome
    ) -> None:
        """End ARMING where it started; its transition means no "disarmed" (nobody disarmed)."""
        mode = self.machine.target
        outcome.transitions.extend(self.machine.cancel_arming(at, self._revert))
        self._force = False
        self._exit_deadline = None
        self._clear_when_disarmed()
        outcome.events.append(arm_failure_event(at, mode, open_sensors, self.changed_by))

    def _record(self, transitions: list[Transition], outcome: Outcome) -> None:
        """Add the transitions and the events they mean to `outcome`."""
        self._clear_when_disarmed()
        if self.machine.state is not AlarmState.ARMING:
            self._exit_deadline = None
        outcome.transitions.extend(transitions)
        for transition in transitions:
            event = self._event_for(transition)
            if event is not None:
                outcome.events.append(event)

    def _clear_when_disarmed(self) -> None:
        if self.machine.state is AlarmState.DISARMED:
            self._bypassed.clear()
            self._force = False

    def _event_for(self, transition: Transition) -> AlarmEvent | None:
        common = {"origin": ORIGIN_NAMES[transition.origin], "changed_by": self.changed_by}
        old, new = transition.old, transition.new
        if new in ARMED_STATES and old not in RUNNING_ALARM:
            data = {"mode": str(new), "bypassed_sensors": self.bypassed, **common}
            return AlarmEvent(EventKind.ARMED, transition.at, data)
        if new is AlarmState.DISARMED:
            return AlarmEvent(EventKind.DISARMED, transition.at, {"previous": str(old), **common})
        if new is AlarmState.TRIGGERED:
            mode = self.machine.target or AlarmState.DISARMED
            data = {"mode": str(mode), "sensors": self.triggered_by, **common}
            return AlarmEvent(EventKind.TRIGGERED, transition.at, data)
        return None


def arm_failure_event(
    at: float,
    mode: AlarmState | None,
    open_sensors: Mapping[str, Reading],
    changed_by: str | None,
) -> AlarmEvent:
    """The event for an arming refused or failed because of `open_sensors`."""
    data = {
        "mode": None if mode is None else str(mode),
        "open_sensors": {eid: str(reading) for eid, reading in open_sensors.items()},
        "changed_by": changed_by,
    }
    return AlarmEvent(EventKind.ARM_FAILURE, at, data)


def _verified(user: User | None) -> VerifiedCode | None:
    """The checked code to hand the machine again (it re-validates cheaply)."""
    return None if user is None else VerifiedCode(user)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
