"""Option keys, defaults and storage keys of RoomDB's alarm panel and its sync."""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from ..const import DOMAIN
from .machine import AlarmState

STORE_VERSION: Final = 1
ALARM_STORE_KEY: Final = f"{DOMAIN}.alarm"
SYNC_STORE_KEY: Final = f"{DOMAIN}.alarm_sync"

# Options of the "alarm" section.
CONF_ALARM_CODE: Final = "alarm_code"
"""Form field only: a new code, hashed before it is stored."""
CONF_ALARM_CLEAR_CODE: Final = "alarm_clear_code"
"""Form field only: remove the code."""
CONF_ALARM_CODE_HASH: Final = "alarm_code_hash"
"""Stored: `CodeHash.to_dict()` or None. The clear code is never stored."""
CONF_ALARM_CODE_ARM_REQUIRED: Final = "alarm_code_arm_required"
CONF_ALARM_DISARM_AFTER_TRIGGER: Final = "alarm_disarm_after_trigger"
CONF_ALARM_TIMES: Final = "alarm_times"
"""Stored: {state: {arming_time, delay_time, trigger_time}} in seconds."""

CONF_ARMING_TIME: Final = "arming_time"
CONF_DELAY_TIME: Final = "delay_time"
CONF_TRIGGER_TIME: Final = "trigger_time"

DEFAULT_CODE_ARM_REQUIRED: Final = True
DEFAULT_DISARM_AFTER_TRIGGER: Final = False

# Defaults per state: leave-the-house modes get a minute to get out, night half of that, home
# none. DISARMED only has trigger timings (a panic trigger) and no entry delay: nobody enters a
# disarmed house.
DEFAULT_TIMES: Final[MappingProxyType[AlarmState, MappingProxyType[str, float]]] = MappingProxyType(
    {
        AlarmState.ARMED_HOME: MappingProxyType(
            {CONF_ARMING_TIME: 0.0, CONF_DELAY_TIME: 30.0, CONF_TRIGGER_TIME: 120.0}
        ),
        AlarmState.ARMED_AWAY: MappingProxyType(
            {CONF_ARMING_TIME: 60.0, CONF_DELAY_TIME: 30.0, CONF_TRIGGER_TIME: 120.0}
        ),
        AlarmState.ARMED_NIGHT: MappingProxyType(
            {CONF_ARMING_TIME: 30.0, CONF_DELAY_TIME: 30.0, CONF_TRIGGER_TIME: 120.0}
        ),
        AlarmState.ARMED_VACATION: MappingProxyType(
            {CONF_ARMING_TIME: 60.0, CONF_DELAY_TIME: 30.0, CONF_TRIGGER_TIME: 120.0}
        ),
        AlarmState.DISARMED: MappingProxyType(
            {CONF_ARMING_TIME: 0.0, CONF_DELAY_TIME: 0.0, CONF_TRIGGER_TIME: 120.0}
        ),
    }
)

# Options of the "alarm_sync" section.
CONF_SYNC_ENABLED: Final = "alarm_sync_enabled"
CONF_SYNC_TARGET: Final = "alarm_sync_target"
CONF_SYNC_HA_AUTHORITATIVE: Final = "alarm_sync_ha_authoritative"
CONF_SYNC_SEND_CODE: Final = "alarm_sync_send_code"
CONF_SYNC_CODE: Final = "alarm_sync_code"
"""The code sent with calls to the target. Stored in clear (it must be sent); redacted in
diagnostics."""
CONF_SYNC_SKEW_TOLERANCE: Final = "alarm_sync_skew_tolerance"

DEFAULT_SYNC_ENABLED: Final = False
DEFAULT_SYNC_HA_AUTHORITATIVE: Final = True
DEFAULT_SYNC_SEND_CODE: Final = False
