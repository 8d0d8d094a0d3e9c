"""RoomDB's alarm state machine: pure Python, no Home Assistant import.

Modelled on Home Assistant's `manual` alarm panel:

- `arm(mode)` shows ARMING for the mode's `arming_time` (exit delay), then the armed state; a zero
  arming time arms at once. Arming another mode while armed goes through ARMING again.
- `trigger()` shows PENDING for the armed state's `delay_time` (entry delay), then TRIGGERED for
  that state's `trigger_time`, then returns to that state, or to DISARMED with
  `disarm_after_trigger`. A `trigger_time` of zero disables `trigger()` in that state. DISARMED has
  timings too (manual's default lets a disarmed panel be triggered: a panic button); give it a zero
  trigger time to stop that.
- `disarm()` needs a code whenever users (each with a code) are set. Arming a mode needs one when
  the config's `code_arm_required` is on, or when a user who may arm that mode has their own
  `code_arm_required` on (their modes are never armed without a code). A code given where none is
  needed is still checked: it tells who armed. A user's code only moves the panel to and from the
  modes the user may arm and disarm.

Deliberate differences from `manual`:

- `arm()` during PENDING or TRIGGERED raises `InvalidTransitionError`: silencing a running alarm
  takes a disarm, and so the code. (`manual` lets an arm command replace it, which bypasses the
  code when `code_arm_required` is off.)
- During ARMING, `trigger()` follows the mode being armed (`manual` uses the state before arming).
- `trigger(immediate=True)` skips the entry delay, also cutting a running one short, and
  `trigger(always=True)` works in states whose trigger time is zero: sensors without an entry
  delay and 24-hour sensors (smoke, tamper) need both.
- `cancel_arming()` ends ARMING in a given state (an arming check failed), and
  `reschedule_arming()` moves the end of the exit delay (a door closed behind the last one out).

Time is always passed in (`now`: seconds on a wall clock such as POSIX time); the machine never
reads a clock. Deadlines are absolute, so a snapshot restored later continues a delay instead of
restarting it, and timed transitions are stamped with their deadline, not with the `now` that
happened to resolve them.

Each command returns the transitions it caused, oldest first, each tagged with its `Origin`. States
set from the sync peer (`apply_external`) are tagged `Origin.PEER` and must never be pushed back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
import hashlib
import hmac
import math
import secrets
from typing import Any, ClassVar, Final, Self

SNAPSHOT_VERSION: Final = 2
"""Version 1 also held the code hash; codes now come from the options only (see `restore`)."""

DEFAULT_ARMING_TIME: Final = 60.0
DEFAULT_DELAY_TIME: Final = 60.0
DEFAULT_TRIGGER_TIME: Final = 120.0

CODE_HASH_ALGORITHM: Final = "pbkdf2_sha256"
# Alarm codes are short PINs, so no key-derivation cost stops an offline guess of a stolen hash;
# the hash keeps the code out of clear text in .storage, backups and diagnostics. ~15-20 ms per
# check on x86, more on a Raspberry Pi: too long for an event loop, so a caller with one runs the
# check elsewhere (`code_check`, then `CodeCheck.run` in a worker thread). The count is stored with
# each hash, so it can be raised.
CODE_HASH_ITERATIONS: Final = 50_000
CODE_SALT_BYTES: Final = 16


class AlarmState(StrEnum):
    """Alarm states; the values equal Home Assistant's `AlarmControlPanelState` values."""

    DISARMED = "disarmed"
    ARMING = "arming"
    ARMED_HOME = "armed_home"
    ARMED_AWAY = "armed_away"
    ARMED_NIGHT = "armed_night"
    ARMED_VACATION = "armed_vacation"
    ARMED_CUSTOM_BYPASS = "armed_custom_bypass"
    PENDING = "pending"
    TRIGGERED = "triggered"


ARM_MODES: Final[tuple[AlarmState, ...]] = (
    AlarmState.ARMED_AWAY,
    AlarmState.ARMED_HOME,
    AlarmState.ARMED_NIGHT,
    AlarmState.ARMED_VACATION,
    AlarmState.ARMED_CUSTOM_BYPASS,
)
"""The armed states, in the order forms and lists show them: the one table of arm modes."""
ARMED_STATES: Final[frozenset[AlarmState]] = frozenset(ARM_MODES)
# States a panel rests in; the others (ARMING, PENDING, TRIGGERED) are timed intermediate states.
STABLE_STATES: Final[frozenset[AlarmState]] = ARMED_STATES | {AlarmState.DISARMED}


class Origin(StrEnum):
    """What caused a transition."""

    LOCAL = "local"
    """A command on RoomDB's own panel (arm, disarm, trigger)."""
    TIMER = "timer"
    """A delay ran out (exit delay, entry delay, trigger time)."""
    PEER = "peer"
    """Applied from the sync target with `apply_external`; never pushed back."""


@dataclass(frozen=True, slots=True)
class Transition:
    """One state change."""

    old: AlarmState
    new: AlarmState
    at: float
    origin: Origin


class AlarmError(Exception):
    """A command the alarm refused; `translation_key` names the user-facing message."""

    translation_key: ClassVar[str] = "alarm_error"

    def __init__(self, message: str, **placeholders: str) -> None:
        """Keep the message and the translation placeholders."""
        super().__init__(message)
        self.translation_placeholders: dict[str, str] = placeholders


class CodeRequiredError(AlarmError):
    """A code is set and the command needs it, but none was given."""

    translation_key: ClassVar[str] = "code_required"


class InvalidCodeError(AlarmError):
    """The code given does not match."""

    translation_key: ClassVar[str] = "invalid_code"


class NotPermittedError(AlarmError):
    """The code is valid, but its user may not arm (or disarm) that mode."""

    translation_key: ClassVar[str] = "not_permitted"


class InvalidTransitionError(AlarmError):
    """The command is not allowed in the current state (or names an unsupported mode)."""

    translation_key: ClassVar[str] = "invalid_transition"


class InvalidSnapshotError(ValueError):
    """A snapshot (or a config or code dict) that cannot be restored."""


def _duration(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSnapshotError(f"{name} must be a number of seconds, got {value!r}")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidSnapshotError(f"{name} must be finite and >= 0, got {value!r}")
    return seconds


def _timestamp(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSnapshotError(f"{name} must be a timestamp, got {value!r}")
    if not math.isfinite(value):
        raise InvalidSnapshotError(f"{name} must be finite, got {value!r}")
    return float(value)


def _state(value: Any, name: str) -> AlarmState:
    try:
        return AlarmState(value)
    except ValueError:
        raise InvalidSnapshotError(f"{name}: unknown alarm state {value!r}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class ModeTimes:
    """Timings (seconds) for one stable state, as in `manual`'s per-state config."""

    arming_time: float = DEFAULT_ARMING_TIME
    """Exit delay: how long ARMING lasts when arming this mode (unused for DISARMED)."""
    delay_time: float = DEFAULT_DELAY_TIME
    """Entry delay: how long PENDING lasts after a trigger in this state."""
    trigger_time: float = DEFAULT_TRIGGER_TIME
    """How long TRIGGERED lasts after a trigger in this state; zero disables `trigger()`."""

    def __post_init__(self) -> None:
        """Reject negative, infinite and non-numeric durations."""
        for name in ("arming_time", "delay_time", "trigger_time"):
            object.__setattr__(self, name, _duration(getattr(self, name), name))

    def to_dict(self) -> dict[str, float]:
        """Return a JSON-able dict."""
        return {
            "arming_time": self.arming_time,
            "delay_time": self.delay_time,
            "trigger_time": self.trigger_time,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from a dict; missing keys take the defaults."""
        known = {"arming_time", "delay_time", "trigger_time"}
        if unknown := set(data) - known:
            raise InvalidSnapshotError(f"unknown timing keys: {sorted(unknown)}")
        return cls(**{key: data[key] for key in known & set(data)})


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmConfig:
    """How the alarm behaves. States missing from `times` use the `ModeTimes` defaults."""

    times: Mapping[AlarmState, ModeTimes] = field(default_factory=dict)
    disarm_after_trigger: bool = False
    code_arm_required: bool = True
    """Arming any mode needs a code (only when a code is set at all); off, only the modes of users
    who require one (`User.code_arm_required`) do."""
    arming_modes: frozenset[AlarmState] = ARMED_STATES
    """The armed states `arm()` accepts."""

    def __post_init__(self) -> None:
        """Check that timings are keyed by stable states and modes are armed states."""
        if bad := set(self.times) - STABLE_STATES:
            raise InvalidSnapshotError(f"timings only apply to stable states, not {sorted(bad)}")
        if bad := set(self.arming_modes) - ARMED_STATES:
            raise InvalidSnapshotError(f"arming modes must be armed states, not {sorted(bad)}")
        object.__setattr__(self, "times", dict(self.times))
        object.__setattr__(self, "arming_modes", frozenset(self.arming_modes))

    def times_for(self, state: AlarmState) -> ModeTimes:
        """Return the timings of a stable state."""
        return self.times.get(state) or ModeTimes()

    def longest_trigger_time(self) -> float:
        """The longest trigger time of any state (states without timings count the default)."""
        return max(self.times_for(state).trigger_time for state in STABLE_STATES) or (
            DEFAULT_TRIGGER_TIME
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict."""
        return {
            "times": {str(state): times.to_dict() for state, times in self.times.items()},
            "disarm_after_trigger": self.disarm_after_trigger,
            "code_arm_required": self.code_arm_required,
            "arming_modes": sorted(str(mode) for mode in self.arming_modes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from a dict as written by `to_dict`; missing keys take the defaults."""
        times = data.get("times", {})
        if not isinstance(times, Mapping):
            raise InvalidSnapshotError("times must be a mapping")
        modes = data.get("arming_modes", sorted(ARMED_STATES))
        if isinstance(modes, str) or not isinstance(modes, list | tuple | set | frozenset):
            raise InvalidSnapshotError("arming_modes must be a list")
        return cls(
            times={
                _state(key, "times"): ModeTimes.from_dict(value) for key, value in times.items()
            },
            disarm_after_trigger=bool(data.get("disarm_after_trigger", False)),
            code_arm_required=bool(data.get("code_arm_required", True)),
            arming_modes=frozenset(_state(mode, "arming_modes") for mode in modes),
        )


@dataclass(frozen=True, slots=True)
class CodeHash:
    """A salted PBKDF2-SHA256 hash of an alarm code; the code itself is never kept."""

    salt: bytes = field(repr=False)
    digest: bytes = field(repr=False)
    iterations: int = CODE_HASH_ITERATIONS
    numeric: bool = False
    """Whether the code is all digits: picks the keypad (HA's `code_format`) without the code."""

    @classmethod
    def create(
        cls, code: str, *, iterations: int = CODE_HASH_ITERATIONS, salt: bytes | None = None
    ) -> Self:
        """Hash a code with a fresh random salt."""
        if not code:
            raise ValueError("an alarm code cannot be empty")
        if iterations < 1:
            raise ValueError("iterations must be >= 1")
        salt = secrets.token_bytes(CODE_SALT_BYTES) if salt is None else salt
        return cls(
            salt=salt,
            digest=_derive(code, salt, iterations),
            iterations=iterations,
            numeric=code.isdigit(),
        )

    def verify(self, code: str | None) -> bool:
        """Return whether `code` is the hashed code (constant-time comparison)."""
        if not code:
            return False
        return hmac.compare_digest(_derive(code, self.salt, self.iterations), self.digest)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict (hex salt and digest; no code)."""
        return {
            "algorithm": CODE_HASH_ALGORITHM,
            "iterations": self.iterations,
            "salt": self.salt.hex(),
            "hash": self.digest.hex(),
            "numeric": self.numeric,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from a dict as written by `to_dict`."""
        if data.get("algorithm") != CODE_HASH_ALGORITHM:
            raise InvalidSnapshotError(f"unsupported code hash algorithm {data.get('algorithm')!r}")
        iterations = data.get("iterations")
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
            raise InvalidSnapshotError(f"bad code hash iterations {iterations!r}")
        try:
            salt = bytes.fromhex(data["salt"])
            digest = bytes.fromhex(data["hash"])
        except (KeyError, TypeError, ValueError) as err:
            raise InvalidSnapshotError(f"bad code hash: {err}") from err
        if not salt or len(digest) != hashlib.sha256().digest_size:
            raise InvalidSnapshotError("bad code hash: wrong salt or digest length")
        return cls(
            salt=salt, digest=digest, iterations=iterations, numeric=bool(data.get("numeric"))
        )


def _derive(code: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", code.encode(), salt, iterations)


def _modes(value: Any, name: str) -> frozenset[AlarmState]:
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise InvalidSnapshotError(f"{name} must be a list of armed states")
    modes = frozenset(_state(mode, name) for mode in value)
    if bad := modes - ARMED_STATES:
        raise InvalidSnapshotError(f"{name} must be armed states, not {sorted(bad)}")
    return modes


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    """Someone with a code: a name (for `changed_by` and the log) and what the code may do."""

    name: str
    code_hash: CodeHash
    arm_modes: frozenset[AlarmState] = ARMED_STATES
    """The armed states this user may arm (when arming needs a code)."""
    disarm_modes: frozenset[AlarmState] = ARMED_STATES
    """The armed states this user may disarm, also while arming to, pending or triggered in them."""
    code_arm_required: bool = False
    """The modes this user may arm are never armed without a code, even when the config lets the
    panel arm without one. Off, the config decides."""

    @classmethod
    def create(
        cls,
        name: str,
        code: str,
        *,
        iterations: int = CODE_HASH_ITERATIONS,
        arm_modes: frozenset[AlarmState] = ARMED_STATES,
        disarm_modes: frozenset[AlarmState] = ARMED_STATES,
        code_arm_required: bool = False,
    ) -> Self:
        """Hash `code` (slow) for a new user."""
        return cls(
            name=name,
            code_hash=CodeHash.create(code, iterations=iterations),
            arm_modes=arm_modes,
            disarm_modes=disarm_modes,
            code_arm_required=code_arm_required,
        )

    def may_arm(self, mode: AlarmState) -> bool:
        """Return whether this user may arm `mode`."""
        return mode in self.arm_modes

    def may_disarm(self, mode: AlarmState) -> bool:
        """Return whether this user may disarm a panel in (or heading for) `mode`.

        A disarmed panel (a panic alarm, a disarm while disarmed) counts as any mode: a user who
        may disarm something may silence it.
        """
        if mode is AlarmState.DISARMED:
            return bool(self.disarm_modes)
        return mode in self.disarm_modes

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict (the code only as its hash)."""
        return {
            "name": self.name,
            "code_hash": self.code_hash.to_dict(),
            "arm_modes": sorted(str(mode) for mode in self.arm_modes),
            "disarm_modes": sorted(str(mode) for mode in self.disarm_modes),
            "code_arm_required": self.code_arm_required,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from a dict as written by `to_dict`; missing permissions allow every mode.

        A user stored before users had `code_arm_required` follows the config, as then.
        """
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidSnapshotError(f"a user needs a name, got {name!r}")
        code_hash = data.get("code_hash")
        if not isinstance(code_hash, Mapping):
            raise InvalidSnapshotError(f"user {name!r} has no code hash")
        return cls(
            name=name,
            code_hash=CodeHash.from_dict(code_hash),
            arm_modes=_modes(data.get("arm_modes", sorted(ARMED_STATES)), "arm_modes"),
            disarm_modes=_modes(data.get("disarm_modes", sorted(ARMED_STATES)), "disarm_modes"),
            code_arm_required=bool(data.get("code_arm_required", False)),
        )


@dataclass(frozen=True, slots=True)
class VerifiedCode:
    """A code already found to be `user`'s (by `CodeCheck.run`, e.g. in a worker thread).

    Commands take it in place of the code and skip the slow check; it only counts while the
    machine still has that user, with that code and those permissions.
    """

    user: User


type Code = str | VerifiedCode | None
"""What commands take as the code: the code itself (checked there), a checked one, or none."""


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """A code still to be checked: the slow half of `AlarmMachine.validate_code`."""

    users: tuple[User, ...]
    code: str = field(repr=False)
    for_state: AlarmState

    def run(self) -> VerifiedCode:
        """Find the user whose code this is (slow); touches no machine, so any thread may run it.

        Every user's hash is tried, so the time taken does not tell which user matched. Raise
        `InvalidCodeError` when the code is nobody's.
        """
        matches = [user for user in self.users if user.code_hash.verify(self.code)]
        if not matches:
            raise InvalidCodeError("invalid alarm code", state=str(self.for_state))
        return VerifiedCode(matches[0])


class AlarmMachine:
    """The alarm state machine. Not thread-safe: call it from one thread (HA's event loop)."""

    def __init__(
        self,
        config: AlarmConfig | None = None,
        *,
        users: Sequence[User] = (),
        now: float = 0.0,
    ) -> None:
        """Start DISARMED at `now`; without users nothing needs a code."""
        self._config = config or AlarmConfig()
        self._users = tuple(users)
        self._state = AlarmState.DISARMED
        # ARMING: the mode being armed (None when the peer is arming to a mode we cannot know).
        # PENDING/TRIGGERED: the stable state to return to after the trigger time.
        self._target: AlarmState | None = None
        self._deadline: float | None = None
        self._changed_at = _timestamp(now, "now")
        self._last_local_change_at: float | None = None

    # -- read-only views -------------------------------------------------------------------------

    @property
    def config(self) -> AlarmConfig:
        """The current config."""
        return self._config

    @property
    def state(self) -> AlarmState:
        """The state as of the last command or `advance()`; see `state_at(now)` for a fresh one."""
        return self._state

    @property
    def target(self) -> AlarmState | None:
        """ARMING: the mode being armed. PENDING/TRIGGERED: the state to return to. Else None."""
        return self._target

    @property
    def changed_at(self) -> float:
        """When the state last changed, whatever the origin."""
        return self._changed_at

    @property
    def last_local_change_at(self) -> float | None:
        """When a LOCAL or TIMER change last happened (None: never): the conflict rules' input."""
        return self._last_local_change_at

    @property
    def users(self) -> tuple[User, ...]:
        """The users whose codes the machine accepts."""
        return self._users

    @property
    def has_code(self) -> bool:
        """Whether any code is set."""
        return bool(self._users)

    @property
    def code_arm_required(self) -> bool:
        """Whether arming needs a code whatever the mode (HA's `code_arm_required`).

        Off while some mode may be armed without one; arming a mode that needs one without a code
        is then refused by `code_check` (`CodeRequiredError`).
        """
        return self.has_code and all(self.code_needed(mode) for mode in self._config.arming_modes)

    @property
    def code_format(self) -> str | None:
        """HA's `CodeFormat` value: "number" when every code is digits, "text", or None."""
        if not self._users:
            return None
        return "number" if all(user.code_hash.numeric for user in self._users) else "text"

    def next_deadline(self) -> float | None:
        """When the next timed transition is due (schedule a timer for it), or None."""
        return self._deadline

    def state_at(self, now: float) -> AlarmState:
        """Return the state at `now` without changing the machine."""
        return self._copy_at(now).state

    # -- configuration ---------------------------------------------------------------------------

    def set_config(self, config: AlarmConfig) -> None:
        """Replace the config; a delay already running keeps its deadline."""
        self._config = config

    def set_users(self, users: Sequence[User]) -> None:
        """Replace the users (no users: nothing needs a code)."""
        self._users = tuple(users)

    def code_needed(self, for_state: AlarmState) -> bool:
        """Whether moving to `for_state` needs a code.

        Disarming always does; arming a mode when the config says so, or when any user who may arm
        that mode requires a code to arm.
        """
        if not self._users:
            return False
        return (
            for_state is AlarmState.DISARMED
            or self._config.code_arm_required
            or any(user.code_arm_required and user.may_arm(for_state) for user in self._users)
        )

    def validate_code(self, code: Code, for_state: AlarmState) -> User | None:
        """Return the user of `code`, or None when no code was needed and none given.

        Raise `CodeRequiredError`/`InvalidCodeError` unless `code` may move to `for_state`. A code
        given as text is checked here, in the caller's thread.
        """
        if (check := self.code_check(code, for_state)) is not None:
            code = check.run()
        return code.user if self._users and isinstance(code, VerifiedCode) else None

    def code_check(self, code: Code, for_state: AlarmState) -> CodeCheck | None:
        """Return the slow check `code` still needs before it may move to `for_state`, or None.

        None when no code is needed and none given (or no code is set at all), or when `code` was
        checked against the current users already. A code given where none is needed is checked
        all the same: it names who made the change. Raise `CodeRequiredError` when a code is needed
        and missing, `InvalidCodeError` for a code checked against a user the machine no longer
        has (or has with another code or other permissions).
        """
        if not self._users or (not code and not self.code_needed(for_state)):
            return None
        if isinstance(code, VerifiedCode):
            if code.user in self._users:
                return None
            raise InvalidCodeError("checked against another code", state=str(for_state))
        if not code:
            raise CodeRequiredError("a code is required", state=str(for_state))
        return CodeCheck(self._users, code, for_state)

    # -- commands --------------------------------------------------------------------------------

    def advance(self, now: float) -> list[Transition]:
        """Apply every timed transition due at or before `now`."""
        transitions: list[Transition] = []
        while self._deadline is not None and self._deadline <= now:
            due = self._deadline
            times = self._config.times_for(self._target or AlarmState.DISARMED)
            if self._state is AlarmState.ARMING:
                new = self._target or AlarmState.DISARMED
                self._set(new, None, None, at=due, origin=Origin.TIMER, out=transitions)
            elif self._state is AlarmState.PENDING:
                new_deadline = due + times.trigger_time
                self._set(
                    AlarmState.TRIGGERED,
                    self._target,
                    new_deadline,
                    at=due,
                    origin=Origin.TIMER,
                    out=transitions,
                )
            else:  # TRIGGERED: the only other state that has a deadline
                new = (
                    AlarmState.DISARMED
                    if self._config.disarm_after_trigger
                    else self._target or AlarmState.DISARMED
                )
                self._set(new, None, None, at=due, origin=Origin.TIMER, out=transitions)
        return transitions

    def check_arm(self, mode: AlarmState, now: float, code: Code = None) -> User | None:
        """Raise what `arm(mode, now, code)` would refuse with; return the code's user.

        Changes nothing, so a caller can run checks of its own (open sensors) between this and
        `arm()`.
        """
        if mode not in ARMED_STATES or mode not in self._config.arming_modes:
            raise InvalidTransitionError(
                f"cannot arm {mode}", from_state=str(self._state), to_state=str(mode)
            )
        user = self.validate_code(code, mode)
        if user is not None and not user.may_arm(mode):
            raise NotPermittedError(
                f"{user.name} may not arm {mode}", user=user.name, state=str(mode)
            )
        current = self.state_at(now)  # refuse before advancing: no transition may be lost
        if current in (AlarmState.PENDING, AlarmState.TRIGGERED):
            raise InvalidTransitionError(
                f"cannot arm {mode} while {current}; disarm first",
                from_state=str(current),
                to_state=str(mode),
            )
        return user

    def arm(self, mode: AlarmState, now: float, code: Code = None) -> list[Transition]:
        """Arm `mode`: ARMING for its exit delay, then armed. Arming the current mode is a no-op."""
        self.check_arm(mode, now, code)
        transitions = self.advance(now)
        if self._state is mode or (self._state is AlarmState.ARMING and self._target is mode):
            return transitions
        arming_time = self._config.times_for(mode).arming_time
        if arming_time > 0:
            self._set(
                AlarmState.ARMING,
                mode,
                now + arming_time,
                at=now,
                origin=Origin.LOCAL,
                out=transitions,
            )
        else:
            self._set(mode, None, None, at=now, origin=Origin.LOCAL, out=transitions)
        return transitions

    def disarm(self, now: float, code: Code = None) -> list[Transition]:
        """Disarm from any state (the code is checked even when already disarmed)."""
        user = self.validate_code(code, AlarmState.DISARMED)
        if user is not None:
            mode = self._copy_at(now).stable_now()
            if not user.may_disarm(mode):
                raise NotPermittedError(
                    f"{user.name} may not disarm {mode}", user=user.name, state=str(mode)
                )
        transitions = self.advance(now)
        if self._state is not AlarmState.DISARMED:
            self._set(AlarmState.DISARMED, None, None, at=now, origin=Origin.LOCAL, out=transitions)
        return transitions

    def trigger(
        self, now: float, *, immediate: bool = False, always: bool = False
    ) -> list[Transition]:
        """Trigger: PENDING for the entry delay, then TRIGGERED. No code needed.

        A no-op while TRIGGERED, while PENDING unless `immediate`, and in a state whose trigger
        time is zero unless `always`. `immediate` skips the entry delay (and ends a running one
        now); `always` sounds for the longest trigger time any state has where the state's own is
        zero (for the default when every state's is zero).
        """
        transitions = self.advance(now)
        if self._state is AlarmState.TRIGGERED or (
            self._state is AlarmState.PENDING and not immediate
        ):
            return transitions
        back_to = self.stable_now()
        times = self._config.times_for(back_to)
        trigger_time = times.trigger_time
        if trigger_time <= 0 and always:
            trigger_time = self._config.longest_trigger_time()
        if trigger_time <= 0:
            return transitions
        if times.delay_time > 0 and not immediate:
            self._set(
                AlarmState.PENDING,
                back_to,
                now + times.delay_time,
                at=now,
                origin=Origin.LOCAL,
                out=transitions,
            )
        else:
            self._set(
                AlarmState.TRIGGERED,
                back_to,
                now + trigger_time,
                at=now,
                origin=Origin.LOCAL,
                out=transitions,
            )
        return transitions

    def cancel_arming(self, at: float, back_to: AlarmState) -> list[Transition]:
        """End ARMING in the stable state `back_to` at `at`, without applying its deadline.

        For an arming check that failed: at the end of the exit delay (`at` is then that
        deadline), or when a sensor opened during it.
        """
        if self._state is not AlarmState.ARMING or back_to not in STABLE_STATES:
            raise InvalidTransitionError(
                f"cannot cancel arming from {self._state} to {back_to}",
                from_state=str(self._state),
                to_state=str(back_to),
            )
        transitions: list[Transition] = []
        self._set(back_to, None, None, at=at, origin=Origin.LOCAL, out=transitions)
        return transitions

    def reschedule_arming(self, deadline: float) -> None:
        """Move the end of a running exit delay (only ARMING started by `arm()` has one)."""
        if self._state is AlarmState.ARMING and self._deadline is not None:
            self._deadline = _timestamp(deadline, "deadline")

    def apply_external(self, state: AlarmState, now: float) -> list[Transition]:
        """Take a state from the sync peer: no code check, no delays (the peer ran them).

        A stable state is taken at once. A peer ARMING/PENDING/TRIGGERED is mirrored without a
        deadline: the peer ends it and reports the result. If the machine is already in that
        intermediate state, it keeps its own (the state is the same; nothing changes).
        The resulting transition has `Origin.PEER`; timed transitions due first keep `Origin.TIMER`.
        """
        state = AlarmState(state)
        transitions = self.advance(now)
        if state is self._state:
            return transitions
        if state in STABLE_STATES or state is AlarmState.ARMING:
            self._set(state, None, None, at=now, origin=Origin.PEER, out=transitions)
        else:  # PENDING or TRIGGERED: remember what the alarm interrupted
            back_to = self.stable_now()
            self._set(state, back_to, None, at=now, origin=Origin.PEER, out=transitions)
        return transitions

    # -- persistence -----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Return a JSON-able dict of the runtime state (no codes: those live in the options)."""
        return {
            "version": SNAPSHOT_VERSION,
            "state": str(self._state),
            "target": None if self._target is None else str(self._target),
            "deadline": self._deadline,
            "changed_at": self._changed_at,
            "last_local_change_at": self._last_local_change_at,
        }

    @classmethod
    def restore(
        cls,
        data: Mapping[str, Any],
        config: AlarmConfig | None = None,
        users: Sequence[User] = (),
    ) -> Self:
        """Rebuild from `snapshot()`; call `advance(now)` next to catch up on expired delays.

        A version 1 snapshot's code hash is ignored: the codes are `users`, from the options, as
        they were already when version 1 was restored.
        """
        if data.get("version") not in (1, SNAPSHOT_VERSION):
            raise InvalidSnapshotError(f"unsupported snapshot version {data.get('version')!r}")
        state = _state(data.get("state"), "state")
        raw_target = data.get("target")
        target = None if raw_target is None else _state(raw_target, "target")
        raw_deadline = data.get("deadline")
        deadline = None if raw_deadline is None else _timestamp(raw_deadline, "deadline")
        raw_local = data.get("last_local_change_at")
        if state in STABLE_STATES and (target is not None or deadline is not None):
            raise InvalidSnapshotError(f"{state} has no target or deadline")
        if state is AlarmState.ARMING and target is not None and target not in ARMED_STATES:
            raise InvalidSnapshotError(f"arming to {target}")
        if state in (AlarmState.PENDING, AlarmState.TRIGGERED) and target not in STABLE_STATES:
            raise InvalidSnapshotError(f"{state} must return to a stable state, not {target}")
        machine = cls(config, users=users, now=_timestamp(data.get("changed_at"), "changed_at"))
        machine._state = state
        machine._target = target
        machine._deadline = deadline
        machine._last_local_change_at = (
            None if raw_local is None else _timestamp(raw_local, "last_local_change_at")
        )
        return machine

    # -- internals -------------------------------------------------------------------------------

    def stable_now(self) -> AlarmState:
        """The stable state a trigger interrupts: the armed state, or the mode being armed.

        (A running alarm's is the state it returns to; a sync target arming to a mode RoomDB
        cannot know counts as DISARMED.)
        """
        if self._state is AlarmState.ARMING:
            return self._target or AlarmState.DISARMED
        if self._state in STABLE_STATES:
            return self._state
        return self._target or AlarmState.DISARMED

    def _set(
        self,
        state: AlarmState,
        target: AlarmState | None,
        deadline: float | None,
        *,
        at: float,
        origin: Origin,
        out: list[Transition],
    ) -> None:
        old = self._state
        self._state = state
        self._target = target
        self._deadline = deadline
        if state is not old:
            self._changed_at = at
            out.append(Transition(old, state, at, origin))
        if origin is not Origin.PEER:
            # Also when only the mode being armed changed (ARMING to ARMING): a local decision.
            self._last_local_change_at = at

    def _copy_at(self, now: float) -> AlarmMachine:
        """A copy advanced to `now` (to look ahead without changing the machine)."""
        clone = AlarmMachine(self._config, users=self._users, now=self._changed_at)
        clone._state = self._state
        clone._target = self._target
        clone._deadline = self._deadline
        clone._last_local_change_at = self._last_local_change_at
        clone.advance(now)
        return clone
