"""Forms and validation of the options flow's "alarm" and "alarm_sync" sections."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components.alarm_control_panel.const import DOMAIN as ALARM_DOMAIN
from homeassistant.core import HomeAssistant, split_entity_id, valid_entity_id
from homeassistant.data_entry_flow import section
from homeassistant.helpers import entity_registry as er, selector
import probatio as vol

from ..const import DOMAIN
from .conflict import DEFAULT_SKEW_TOLERANCE
from .const import (
    CONF_ALARM_CLEAR_CODE,
    CONF_ALARM_CODE,
    CONF_ALARM_CODE_ARM_REQUIRED,
    CONF_ALARM_CODE_HASH,
    CONF_ALARM_DISARM_AFTER_TRIGGER,
    CONF_ALARM_TIMES,
    CONF_ARMING_TIME,
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
from .machine import AlarmState, CodeHash
from .settings import mode_times

MAX_SECONDS = 3600

_SECONDS = selector.NumberSelector(
    selector.NumberSelectorConfig(
        min=0,
        max=MAX_SECONDS,
        step=1,
        unit_of_measurement="s",
        mode=selector.NumberSelectorMode.BOX,
    )
)
_PASSWORD = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
)
_BOOLEAN = selector.BooleanSelector()


def alarm_schema(options: Mapping[str, Any]) -> vol.Schema:
    """The "alarm" form: code, trigger behaviour, and one collapsed section of times per state."""
    fields: dict[Any, Any] = {
        vol.Optional(CONF_ALARM_CODE): _PASSWORD,
        vol.Required(CONF_ALARM_CLEAR_CODE, default=False): _BOOLEAN,
        vol.Required(
            CONF_ALARM_CODE_ARM_REQUIRED,
            default=options.get(CONF_ALARM_CODE_ARM_REQUIRED, DEFAULT_CODE_ARM_REQUIRED),
        ): _BOOLEAN,
        vol.Required(
            CONF_ALARM_DISARM_AFTER_TRIGGER,
            default=options.get(CONF_ALARM_DISARM_AFTER_TRIGGER, DEFAULT_DISARM_AFTER_TRIGGER),
        ): _BOOLEAN,
    }
    for state in DEFAULT_TIMES:
        times = mode_times(options, state)
        if state is AlarmState.DISARMED:
            del times[CONF_ARMING_TIME]  # nothing is armed from here
        fields[vol.Required(str(state))] = section(
            vol.Schema(
                {vol.Required(key, default=value): _SECONDS for key, value in times.items()}
            ),
            {"collapsed": True},
        )
    return vol.Schema(fields)


async def async_alarm_options(
    hass: HomeAssistant, user_input: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Turn the "alarm" form into options (the code only as its hash) or form errors."""
    code = user_input.get(CONF_ALARM_CODE) or ""
    clear = bool(user_input.get(CONF_ALARM_CLEAR_CODE))
    if code and clear:
        return {}, {CONF_ALARM_CODE: "code_conflict"}
    options: dict[str, Any] = {
        CONF_ALARM_CODE_ARM_REQUIRED: bool(user_input[CONF_ALARM_CODE_ARM_REQUIRED]),
        CONF_ALARM_DISARM_AFTER_TRIGGER: bool(user_input[CONF_ALARM_DISARM_AFTER_TRIGGER]),
        CONF_ALARM_TIMES: {
            str(state): {key: float(value) for key, value in user_input[str(state)].items()}
            for state in DEFAULT_TIMES
        },
    }
    if clear:
        options[CONF_ALARM_CODE_HASH] = None
    elif code:
        # PBKDF2 on purpose takes a while: off the event loop.
        hashed = await hass.async_add_executor_job(CodeHash.create, code)
        options[CONF_ALARM_CODE_HASH] = hashed.to_dict()
    return options, {}


def sync_schema(options: Mapping[str, Any]) -> vol.Schema:
    """The "alarm_sync" form. The target picker only lists alarm panels.

    The domain is a picker filter rather than the selector's `domain` key: that key would make the
    schema reject a wrong entity before `validate_sync` can answer with a translated error.
    """
    return vol.Schema(
        {
            vol.Required(
                CONF_SYNC_ENABLED, default=options.get(CONF_SYNC_ENABLED, DEFAULT_SYNC_ENABLED)
            ): _BOOLEAN,
            vol.Optional(
                CONF_SYNC_TARGET,
                description={"suggested_value": options.get(CONF_SYNC_TARGET)},
            ): selector.EntitySelector(
                selector.EntitySelectorConfig(
                    filter=selector.EntityWithDeviceFilterSelectorConfig(domain=ALARM_DOMAIN)
                )
            ),
            vol.Required(
                CONF_SYNC_HA_AUTHORITATIVE,
                default=options.get(CONF_SYNC_HA_AUTHORITATIVE, DEFAULT_SYNC_HA_AUTHORITATIVE),
            ): _BOOLEAN,
            vol.Required(
                CONF_SYNC_SEND_CODE,
                default=options.get(CONF_SYNC_SEND_CODE, DEFAULT_SYNC_SEND_CODE),
            ): _BOOLEAN,
            vol.Optional(CONF_SYNC_CODE): _PASSWORD,
            vol.Required(
                CONF_SYNC_SKEW_TOLERANCE,
                default=options.get(CONF_SYNC_SKEW_TOLERANCE, DEFAULT_SKEW_TOLERANCE),
            ): selector.NumberSelector(
                selector.NumberSelectorConfig(
                    min=0,
                    max=60,
                    step=0.5,
                    unit_of_measurement="s",
                    mode=selector.NumberSelectorMode.BOX,
                )
            ),
        }
    )


def _target_error(hass: HomeAssistant, target: str) -> str | None:
    """Return the error key for a target that does not exist, is no panel or is RoomDB's own."""
    if not valid_entity_id(target):
        return "target_not_found"
    if split_entity_id(target)[0] != ALARM_DOMAIN:
        return "target_wrong_domain"
    registry_entry = er.async_get(hass).async_get(target)
    if registry_entry is not None and registry_entry.platform == DOMAIN:
        return "target_is_self"
    if registry_entry is None and hass.states.get(target) is None:
        return "target_not_found"
    return None


def validate_sync(
    hass: HomeAssistant, user_input: Mapping[str, Any], options: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Turn the "alarm_sync" form into options or form errors.

    An empty code field keeps the stored code; turning "send code" off forgets it.
    """
    errors: dict[str, str] = {}
    enabled = bool(user_input[CONF_SYNC_ENABLED])
    target: str | None = user_input.get(CONF_SYNC_TARGET) or None
    if target is not None:
        target = er.async_resolve_entity_id(er.async_get(hass), target) or target
        if error := _target_error(hass, target):
            errors[CONF_SYNC_TARGET] = error
    elif enabled:
        errors[CONF_SYNC_TARGET] = "target_required"
    send_code = bool(user_input[CONF_SYNC_SEND_CODE])
    code = user_input.get(CONF_SYNC_CODE) or options.get(CONF_SYNC_CODE)
    if send_code and not code:
        errors[CONF_SYNC_CODE] = "sync_code_required"
    if errors:
        return {}, errors
    return {
        CONF_SYNC_ENABLED: enabled,
        CONF_SYNC_TARGET: target,
        CONF_SYNC_HA_AUTHORITATIVE: bool(user_input[CONF_SYNC_HA_AUTHORITATIVE]),
        CONF_SYNC_SEND_CODE: send_code,
        CONF_SYNC_CODE: code if send_code else None,
        CONF_SYNC_SKEW_TOLERANCE: float(user_input[CONF_SYNC_SKEW_TOLERANCE]),
    }, {}
