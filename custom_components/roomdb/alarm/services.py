"""The `alarm_arm` service: arm RoomDB's panel, optionally forcing it past open sensors.

Home Assistant's own `alarm_control_panel.alarm_arm_*` actions have no way to say "arm anyway";
this one does (`force`), for admins: forcing bypasses the arming check, so it is not for every
user of a wall tablet. Everything else (code, permissions, lockout) is checked as for the panel.
It answers with the panel's state and the sensors the arming bypassed.
"""

from __future__ import annotations

from typing import Final

from homeassistant.const import ATTR_CODE
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.util.json import JsonValueType
import probatio as vol

from ..const import DOMAIN
from ..service_support import async_get_loaded_entry
from .machine import ARMED_STATES, AlarmState

SERVICE_ALARM_ARM: Final = "alarm_arm"
ATTR_MODE: Final = "mode"
ATTR_FORCE: Final = "force"

ALARM_ARM_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_MODE): vol.In(sorted(str(mode) for mode in ARMED_STATES)),
        vol.Optional(ATTR_CODE): cv.string,
        vol.Optional(ATTR_FORCE, default=False): cv.boolean,
    }
)


@callback
def async_setup_alarm_services(hass: HomeAssistant) -> None:
    """Register the alarm's service."""
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_ALARM_ARM,
        _async_alarm_arm,
        schema=ALARM_ARM_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )


async def _async_alarm_arm(call: ServiceCall) -> ServiceResponse:
    """Arm; a refusal (open sensors, code, permission, lockout) is a translated error."""
    controller = async_get_loaded_entry(call.hass).runtime_data.alarm
    with controller.refusals():
        await controller.async_arm(
            AlarmState(call.data[ATTR_MODE]),
            call.data.get(ATTR_CODE),
            call.context,
            force=call.data[ATTR_FORCE],
        )
    bypassed: list[JsonValueType] = list(controller.panel.bypassed)
    return {"state": str(controller.machine.state), "bypassed_sensors": bypassed}
