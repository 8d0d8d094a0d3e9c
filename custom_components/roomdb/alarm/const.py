"""Option keys, defaults and storage keys of RoomDB's alarm panel and its sync."""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from ..const import DOMAIN
from .machine import AlarmState

STORE_VERSION: Final = 1
"""Version 1 of RoomDB's alarm Stores (`roomdb.alarm` before sensors, `roomdb.alarm_sync` before
custom bypass)."""
SYNC_STORE_VERSION: Final = 2
"""Version 2 of `roomdb.alarm_sync` records the target's `armed_custom_bypass` as custom bypass;
version 1 recorded it as vacation."""
ALARM_STORE_VERSION: Final = 2
"""Version 2 keeps the machine's snapshot under "machine", beside the sensors' and lockout's
state; version 1 was the machine's snapshot alone."""
ALARM_STORE_KEY: Final = f"{DOMAIN}.alarm"
EVENT_ALARM_EVENT: Final = "roomdb_alarm_event"
"""Bus event for what a security panel reports (armed, triggered, arm failure…): {event, ...}."""
SYNC_STORE_KEY: Final = f"{DOMAIN}.alarm_sync"

# Options of the "alarm" section.
CONF_ALARM_CODE: Final = "alarm_code"
"""Form field only: a new code, hashed before it is stored."""
CONF_ALARM_CLEAR_CODE: Final = "alarm_clear_code"
"""Form field only: remove the code."""
CONF_ALARM_CODE_HASH: Final = "alarm_code_hash"
"""Stored: `CodeHash.to_dict()` or None, the main code. The clear code is never stored."""
CONF_ALARM_CODE_ARM_REQUIRED: Final = "alarm_code_arm_required"
CONF_ALARM_DISARM_AFTER_TRIGGER: Final = "alarm_disarm_after_trigger"
CONF_ALARM_TIMES: Final = "alarm_times"
"""Stored: {state: {arming_time, delay_time, trigger_time}} in seconds."""

CONF_ALARM_LOCKOUT_ATTEMPTS: Final = "alarm_lockout_attempts"
"""Wrong codes in a row that lock codes out; 0 never does."""
CONF_ALARM_LOCKOUT_TIME: Final = "alarm_lockout_time"
"""Seconds a lockout lasts."""

CONF_ARMING_TIME: Final = "arming_time"
CONF_DELAY_TIME: Final = "delay_time"
CONF_TRIGGER_TIME: Final = "trigger_time"

DEFAULT_CODE_ARM_REQUIRED: Final = True
DEFAULT_DISARM_AFTER_TRIGGER: Final = False
DEFAULT_LOCKOUT_ATTEMPTS: Final = 0
DEFAULT_LOCKOUT_TIME: Final = 300.0

MAIN_USER: Final = "Main code"
"""The user the main code (the panel's one code before users existed) stands for: it may arm and
disarm every mode."""

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
        AlarmState.ARMED_CUSTOM_BYPASS: MappingProxyType(
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

# Options of the "alarm_sensors" section.
CONF_ALARM_SENSORS: Final = "alarm_sensors"
"""Stored: {entity_id: `SensorConfig.to_dict()`}."""
CONF_ALARM_SENSOR_EDIT: Final = "alarm_sensor_edit"
"""Form field only: the sensor to fine-tune next."""

# Options of the "alarm_users" section.
CONF_ALARM_USERS: Final = "alarm_users"
"""Stored: [`User.to_dict()`], the users besides the main code (codes only as hashes)."""
CONF_ALARM_USER_EDIT: Final = "alarm_user_edit"
"""Form field only: the user to edit, or NEW_USER."""
NEW_USER: Final = "new"
CONF_USER_NAME: Final = "name"
CONF_USER_CODE: Final = "code"
CONF_USER_ARM_MODES: Final = "arm_modes"
CONF_USER_DISARM_MODES: Final = "disarm_modes"
CONF_USER_CODE_ARM_REQUIRED: Final = "code_arm_required"
"""The user's modes are never armed without a code (see `User.code_arm_required`)."""
CONF_USER_REMOVE: Final = "remove"

# Options of the "alarm_notify" section.
CONF_ALARM_NOTIFY_TARGETS: Final = "alarm_notify_targets"
"""Stored: notify entity ids and legacy notify services (`notify.<service>`)."""
CONF_ALARM_NOTIFY_EVENTS: Final = "alarm_notify_events"
"""Stored: the `roomdb_alarm_event` kinds that are also sent to the targets."""
DEFAULT_NOTIFY_EVENTS: Final = ("triggered", "arm_failure", "sensor_unavailable", "lockout")
