"""RoomDB's alarm state machine: pure Python, no Home Assistant import.

Modelled on Home Assistant's `manual` alarm panel:

- `arm(mode)` shows ARMING for the mode's `arming_time` (exit delay), then the armed state; a zero
  arming time arms at once. Arming another mode while armed goes through ARMING again.
- `trigger()` shows PENDING for the armed state's `delay_time` (entry delay), then TRIGGERED for
  that state's `trigger_time`, then returns to that state, or to DISARMED with
  `disarm_after_trigger`. A `trigger_time` of zero disables `trigger()` in that state. DISARMED has
  timings too (manual's default lets a disarmed panel be triggered: a panic button); give it a zero
  trigger time to stop that.
- `disarm()` needs the code whenever one is set; arming needs it only with `code_arm_required`.

Deliberate differences from `manual`:

- `arm()` during PENDING or TRIGGERED raises `InvalidTransitionError`: silencing a running alarm
  takes a disarm, and so the code. (`manual` lets an arm command replace it, which bypasses the
  code when `code_arm_required` is off.)
- During ARMING, `trigger()` follows the mode being armed (`manual` uses the state before arming).

Time is always passed in (`now`: seconds on a wall clock such as POSIX time); the machine never
reads a clock. Deadlines are absolute, so a snapshot restored later continues a delay instead of
restarting it, and timed transitions are stamped with their deadline, not with the `now` that
happened to resolve them.

Each command returns the transitions it caused, oldest first, each tagged with its `Origin`. States
set from the sync peer (`apply_external`) are tagged `Origin.PEER` and must never be pushed back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
import hashlib
import hmac
import math
import secrets
from typing import Any, ClassVar, Final, Self

SNAPSHOT_VERSION: Final = 1

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
    PENDING = "pending"
    TRIGGERED = "triggered"


ARMED_STATES: Final[frozenset[AlarmState]] = frozenset(
    {
        AlarmState.ARMED_HOME,
        AlarmState.ARMED_AWAY,
        AlarmState.ARMED_NIGHT,
        AlarmState.ARMED_VACATION,
    }
)
# States a panel rests in; the others (ARMING, PENDING, TRIGGERED) are timed intermediate states.
STABLE_STATES: Final[frozenset[AlarmState]] = ARMED_STATES | {AlarmState.DISARMED}
INTERMEDIATE_STATES: Final[frozenset[AlarmState]] = frozenset(
    {AlarmState.ARMING, AlarmState.PENDING, AlarmState.TRIGGERED}
)


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
    """Arming needs the code (only when a code is set at all)."""
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


@dataclass(frozen=True, slots=True)
class VerifiedCode:
    """A code already checked against `code_hash` (by `CodeCheck.run`, e.g. in a worker thread).

    Commands take it in place of the code and skip the slow check; it only counts while the
    machine still has that code.
    """

    code_hash: CodeHash


type Code = str | VerifiedCode | None
"""What commands take as the code: the code itself (checked there), a checked one, or none."""


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """A code still to be checked: the slow half of `AlarmMachine.validate_code`."""

    code_hash: CodeHash
    code: str = field(repr=False)
    for_state: AlarmState

    def run(self) -> VerifiedCode:
        """Check the code (slow); touches no machine, so any thread may run it.

        Raise `InvalidCodeError` when the code does not match.
        """
        if not self.code_hash.verify(self.code):
            raise InvalidCodeError("invalid alarm code", state=str(self.for_state))
        return VerifiedCode(self.code_hash)


class AlarmMachine:
    """The alarm state machine. Not thread-safe: call it from one thread (HA's event loop)."""

    def __init__(
        self,
        config: AlarmConfig | None = None,
        *,
        code: CodeHash | None = None,
        now: float = 0.0,
    ) -> None:
        """Start DISARMED at `now`, with an optional code hash."""
        self._config = config or AlarmConfig()
        self._code = code
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
    def code_hash(self) -> CodeHash | None:
        """The stored code hash, if a code is set."""
        return self._code

    @property
    def has_code(self) -> bool:
        """Whether a code is set."""
        return self._code is not None

    @property
    def code_arm_required(self) -> bool:
        """Whether arming needs a code: only when a code is set and the config asks for it."""
        return self._code is not None and self._config.code_arm_required

    @property
    def code_format(self) -> str | None:
        """HA's `CodeFormat` value: "number", "text", or None without a code."""
        if self._code is None:
            return None
        return "number" if self._code.numeric else "text"

    def next_deadline(self) -> float | None:
        """When the next timed transition is due (schedule a timer for it), or None."""
        return self._deadline

    def state_at(self, now: float) -> AlarmState:
        """Return the state at `now` without changing the machine."""
        probe = self._copy()
        probe.advance(now)
        return probe.state

    # -- configuration ---------------------------------------------------------------------------

    def set_config(self, config: AlarmConfig) -> None:
        """Replace the config; a delay already running keeps its deadline."""
        self._config = config

    def set_code(self, code: str | None, *, iterations: int = CODE_HASH_ITERATIONS) -> None:
        """Set (hash) a new code, or clear it with None or ""."""
        self._code = CodeHash.create(code, iterations=iterations) if code else None

    def set_code_hash(self, code: CodeHash | None) -> None:
        """Set an already hashed code, or clear it."""
        self._code = code

    def validate_code(self, code: Code, for_state: AlarmState) -> None:
        """Raise `CodeRequiredError`/`InvalidCodeError` unless `code` may move to `for_state`.

        A code given as text is checked here, in the caller's thread.
        """
        if (check := self.code_check(code, for_state)) is not None:
            check.run()

    def code_check(self, code: Code, for_state: AlarmState) -> CodeCheck | None:
        """Return the slow check `code` still needs before it may move to `for_state`, or None.

        None when no code is needed (none set; arming without `code_arm_required`) or `code` was
        checked against the current code already. Raise `CodeRequiredError` when a code is needed
        and missing, `InvalidCodeError` for a code checked against another code than the current.
        """
        if self._code is None:
            return None
        if for_state is not AlarmState.DISARMED and not self._config.code_arm_required:
            return None
        if isinstance(code, VerifiedCode):
            if code.code_hash == self._code:
                return None
            raise InvalidCodeError("checked against another code", state=str(for_state))
        if not code:
            raise CodeRequiredError("a code is required", state=str(for_state))
        return CodeCheck(self._code, code, for_state)

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

    def arm(self, mode: AlarmState, now: float, code: Code = None) -> list[Transition]:
        """Arm `mode`: ARMING for its exit delay, then armed. Arming the current mode is a no-op."""
        if mode not in ARMED_STATES or mode not in self._config.arming_modes:
            raise InvalidTransitionError(
                f"cannot arm {mode}", from_state=str(self._state), to_state=str(mode)
            )
        self.validate_code(code, mode)
        current = self.state_at(now)  # refuse before advancing: no transition may be lost
        if current in (AlarmState.PENDING, AlarmState.TRIGGERED):
            raise InvalidTransitionError(
                f"cannot arm {mode} while {current}; disarm first",
                from_state=str(current),
                to_state=str(mode),
            )
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
        self.validate_code(code, AlarmState.DISARMED)
        transitions = self.advance(now)
        if self._state is not AlarmState.DISARMED:
            self._set(AlarmState.DISARMED, None, None, at=now, origin=Origin.LOCAL, out=transitions)
        return transitions

    def trigger(self, now: float) -> list[Transition]:
        """Trigger: PENDING for the entry delay, then TRIGGERED. No code needed.

        A no-op while PENDING or TRIGGERED, and in a state whose trigger time is zero.
        """
        transitions = self.advance(now)
        if self._state in (AlarmState.PENDING, AlarmState.TRIGGERED):
            return transitions
        back_to = self._stable_now()
        times = self._config.times_for(back_to)
        if times.trigger_time <= 0:
            return transitions
        if times.delay_time > 0:
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
                now + times.trigger_time,
                at=now,
                origin=Origin.LOCAL,
                out=transitions,
            )
        return transitions

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
            back_to = self._stable_now()
            self._set(state, back_to, None, at=now, origin=Origin.PEER, out=transitions)
        return transitions

    # -- persistence -----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Return a JSON-able dict of the runtime state, code hash included (never the code)."""
        return {
            "version": SNAPSHOT_VERSION,
            "state": str(self._state),
            "target": None if self._target is None else str(self._target),
            "deadline": self._deadline,
            "changed_at": self._changed_at,
            "last_local_change_at": self._last_local_change_at,
            "code": None if self._code is None else self._code.to_dict(),
        }

    @classmethod
    def restore(cls, data: Mapping[str, Any], config: AlarmConfig | None = None) -> Self:
        """Rebuild from `snapshot()`; call `advance(now)` next to catch up on expired delays."""
        if data.get("version") != SNAPSHOT_VERSION:
            raise InvalidSnapshotError(f"unsupported snapshot version {data.get('version')!r}")
        state = _state(data.get("state"), "state")
        raw_target = data.get("target")
        target = None if raw_target is None else _state(raw_target, "target")
        raw_deadline = data.get("deadline")
        deadline = None if raw_deadline is None else _timestamp(raw_deadline, "deadline")
        raw_local = data.get("last_local_change_at")
        code = data.get("code")
        if state in STABLE_STATES and (target is not None or deadline is not None):
            raise InvalidSnapshotError(f"{state} has no target or deadline")
        if state is AlarmState.ARMING and target is not None and target not in ARMED_STATES:
            raise InvalidSnapshotError(f"arming to {target}")
        if state in (AlarmState.PENDING, AlarmState.TRIGGERED) and target not in STABLE_STATES:
            raise InvalidSnapshotError(f"{state} must return to a stable state, not {target}")
        if code is not None and not isinstance(code, Mapping):
            raise InvalidSnapshotError("code must be a mapping")
        machine = cls(
            config,
            code=None if code is None else CodeHash.from_dict(code),
            now=_timestamp(data.get("changed_at"), "changed_at"),
        )
        machine._state = state
        machine._target = target
        machine._deadline = deadline
        machine._last_local_change_at = (
            None if raw_local is None else _timestamp(raw_local, "last_local_change_at")
        )
        return machine

    # -- internals -------------------------------------------------------------------------------

    def _stable_now(self) -> AlarmState:
        """The stable state a trigger interrupts: the armed state, or the mode being armed."""
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

    def _copy(self) -> AlarmMachine:
        clone = AlarmMachine(self._config, code=self._code, now=self._changed_at)
        clone._state = self._state
        clone._target = self._target
        clone._deadline = self._deadline
        clone._last_local_change_at = self._last_local_change_at
        return clone
