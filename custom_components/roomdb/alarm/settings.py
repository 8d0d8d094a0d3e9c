"""Read the alarm's and the sync's settings from the entry options (pure: no HA import)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Self

from . import const
from .conflict import DEFAULT_SKEW_TOLERANCE
from .machine import AlarmConfig, AlarmState, CodeHash, ModeTimes, User
from .security import EventKind, LockoutPolicy
from .sensor_rules import SensorConfig

OPTION_DEFAULTS: Final[Mapping[str, Any]] = MappingProxyType(
    {
        const.CONF_ALARM_CODE_ARM_REQUIRED: const.DEFAULT_CODE_ARM_REQUIRED,
        const.CONF_ALARM_DISARM_AFTER_TRIGGER: const.DEFAULT_DISARM_AFTER_TRIGGER,
        const.CONF_ALARM_LOCKOUT_ATTEMPTS: const.DEFAULT_LOCKOUT_ATTEMPTS,
        const.CONF_ALARM_LOCKOUT_TIME: const.DEFAULT_LOCKOUT_TIME,
        const.CONF_ALARM_NOTIFY_EVENTS: const.DEFAULT_NOTIFY_EVENTS,
        const.CONF_SYNC_ENABLED: const.DEFAULT_SYNC_ENABLED,
        const.CONF_SYNC_HA_AUTHORITATIVE: const.DEFAULT_SYNC_HA_AUTHORITATIVE,
        const.CONF_SYNC_SEND_CODE: const.DEFAULT_SYNC_SEND_CODE,
        const.CONF_SYNC_SKEW_TOLERANCE: DEFAULT_SKEW_TOLERANCE,
    }
)


def option(options: Mapping[str, Any], key: str) -> Any:
    """The stored value of a single-valued option, or its default."""
    return options.get(key, OPTION_DEFAULTS[key])


def mode_times(options: Mapping[str, Any], state: AlarmState) -> dict[str, float]:
    """Return the timings of one state: the stored ones over the defaults."""
    stored = options.get(const.CONF_ALARM_TIMES, {}).get(str(state), {})
    return {
        key: float(stored.get(key, default)) for key, default in const.DEFAULT_TIMES[state].items()
    }


def alarm_config(options: Mapping[str, Any]) -> AlarmConfig:
    """Build the machine's config from the options."""
    return AlarmConfig(
        times={state: ModeTimes(**mode_times(options, state)) for state in const.DEFAULT_TIMES},
        disarm_after_trigger=bool(option(options, const.CONF_ALARM_DISARM_AFTER_TRIGGER)),
        code_arm_required=bool(option(options, const.CONF_ALARM_CODE_ARM_REQUIRED)),
    )


def main_user(options: Mapping[str, Any]) -> User | None:
    """The main code as a user who may do everything, or None when it is not set.

    The main code is the one code an entry had before users existed: such an entry keeps working
    with the same code and the same rights.
    """
    stored = options.get(const.CONF_ALARM_CODE_HASH)
    return (
        None if stored is None else User(name=const.MAIN_USER, code_hash=CodeHash.from_dict(stored))
    )


def named_users(options: Mapping[str, Any]) -> tuple[User, ...]:
    """The users set up in the "alarm_users" section."""
    return tuple(User.from_dict(user) for user in options.get(const.CONF_ALARM_USERS) or ())


def users(options: Mapping[str, Any]) -> tuple[User, ...]:
    """Every user whose code the panel accepts: the main code's first, then the named users."""
    main = main_user(options)
    named = named_users(options)
    return named if main is None else (main, *named)


def sensors(options: Mapping[str, Any]) -> tuple[SensorConfig, ...]:
    """The sensors guarding the panel."""
    stored: Mapping[str, Any] = options.get(const.CONF_ALARM_SENSORS) or {}
    return tuple(SensorConfig.from_dict(eid, data) for eid, data in stored.items())


def lockout(options: Mapping[str, Any]) -> LockoutPolicy:
    """After how many wrong codes, and for how long, codes are locked out."""
    return LockoutPolicy(
        attempts=int(option(options, const.CONF_ALARM_LOCKOUT_ATTEMPTS)),
        seconds=float(option(options, const.CONF_ALARM_LOCKOUT_TIME)),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifySettings:
    """Which alarm events are also sent as notifications, and to whom (defaults: `option`)."""

    targets: tuple[str, ...]
    events: frozenset[EventKind]

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Self:
        """Read the settings from the entry options."""
        return cls(
            targets=tuple(options.get(const.CONF_ALARM_NOTIFY_TARGETS) or ()),
            events=frozenset(
                EventKind(kind) for kind in option(options, const.CONF_ALARM_NOTIFY_EVENTS)
            ),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncSettings:
    """How (and whether) RoomDB's panel syncs with a target panel (defaults: `option`)."""

    enabled: bool
    target: str | None
    ha_authoritative: bool
    send_code: bool
    code: str | None
    skew_tolerance: float

    @property
    def active(self) -> bool:
        """Whether sync runs: enabled and a target chosen."""
        return self.enabled and bool(self.target)

    @property
    def outbound_code(self) -> str | None:
        """The code to send with calls to the target, if any."""
        return self.code if self.send_code and self.code else None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Self:
        """Read the settings from the entry options."""
        return cls(
            enabled=bool(option(options, const.CONF_SYNC_ENABLED)),
            target=options.get(const.CONF_SYNC_TARGET) or None,
            ha_authoritative=bool(option(options, const.CONF_SYNC_HA_AUTHORITATIVE)),
            send_code=bool(option(options, const.CONF_SYNC_SEND_CODE)),
            code=options.get(const.CONF_SYNC_CODE) or None,
            skew_tolerance=float(option(options, const.CONF_SYNC_SKEW_TOLERANCE)),
        )
