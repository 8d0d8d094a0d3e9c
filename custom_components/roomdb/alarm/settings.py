"""Read the alarm's and the sync's settings from the entry options (pure: no HA import)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from .conflict import DEFAULT_SKEW_TOLERANCE
from .const import (
    CONF_ALARM_CODE_ARM_REQUIRED,
    CONF_ALARM_CODE_HASH,
    CONF_ALARM_DISARM_AFTER_TRIGGER,
    CONF_ALARM_TIMES,
    CONF_SYNC_CODE,
    CONF_SYNC_ENABLED,
    CONF_SYNC_HA_AUTHORITATIVE,
    CONF_SYNC_SEND_CODE,
    CONF_SYNC_SKEW_TOLERANCE,
    CONF_SYNC_TARGET,
    DEFAULT_CODE_ARM_REQUIRED,
    DEFAULT_DISARM_AFTER_TRIGGER,
    DEFAULT_SYNC_ENABLED,
    DEFAULT_SYNC_HA_AUTHORITATIVE,
    DEFAULT_SYNC_SEND_CODE,
    DEFAULT_TIMES,
)
from .machine import AlarmConfig, AlarmState, CodeHash, ModeTimes


def mode_times(options: Mapping[str, Any], state: AlarmState) -> dict[str, float]:
    """Return the timings of one state: the stored ones over the defaults."""
    stored = options.get(CONF_ALARM_TIMES, {}).get(str(state), {})
    return {key: float(stored.get(key, default)) for key, default in DEFAULT_TIMES[state].items()}


def alarm_config(options: Mapping[str, Any]) -> AlarmConfig:
    """Build the machine's config from the options."""
    return AlarmConfig(
        times={state: ModeTimes(**mode_times(options, state)) for state in DEFAULT_TIMES},
        disarm_after_trigger=bool(
            options.get(CONF_ALARM_DISARM_AFTER_TRIGGER, DEFAULT_DISARM_AFTER_TRIGGER)
        ),
        code_arm_required=bool(
            options.get(CONF_ALARM_CODE_ARM_REQUIRED, DEFAULT_CODE_ARM_REQUIRED)
        ),
    )


def code_hash(options: Mapping[str, Any]) -> CodeHash | None:
    """Return the configured code's hash, or None when no code is set."""
    stored = options.get(CONF_ALARM_CODE_HASH)
    return None if stored is None else CodeHash.from_dict(stored)


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncSettings:
    """How (and whether) RoomDB's panel syncs with a target panel."""

    enabled: bool = DEFAULT_SYNC_ENABLED
    target: str | None = None
    ha_authoritative: bool = DEFAULT_SYNC_HA_AUTHORITATIVE
    send_code: bool = DEFAULT_SYNC_SEND_CODE
    code: str | None = None
    skew_tolerance: float = DEFAULT_SKEW_TOLERANCE

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
            enabled=bool(options.get(CONF_SYNC_ENABLED, DEFAULT_SYNC_ENABLED)),
            target=options.get(CONF_SYNC_TARGET) or None,
            ha_authoritative=bool(
                options.get(CONF_SYNC_HA_AUTHORITATIVE, DEFAULT_SYNC_HA_AUTHORITATIVE)
            ),
            send_code=bool(options.get(CONF_SYNC_SEND_CODE, DEFAULT_SYNC_SEND_CODE)),
            code=options.get(CONF_SYNC_CODE) or None,
            skew_tolerance=float(options.get(CONF_SYNC_SKEW_TOLERANCE, DEFAULT_SKEW_TOLERANCE)),
        )
