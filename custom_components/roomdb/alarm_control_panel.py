"""RoomDB's alarm panel: a thin entity over the alarm controller."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, override

from homeassistant.components.alarm_control_panel import AlarmControlPanelEntity
from homeassistant.components.alarm_control_panel.const import AlarmControlPanelState, CodeFormat
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .alarm.controller import AlarmController
from .alarm.features import PANEL_FEATURES
from .alarm.machine import AlarmState
from .const import DOMAIN
from .data import RoomDbConfigEntry

# The controller runs commands one at a time, in order (also those of `roomdb.alarm_arm`).
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: RoomDbConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add RoomDB's alarm panel."""
    async_add_entities([RoomDbAlarmPanel(entry.entry_id, entry.runtime_data.alarm)])


class RoomDbAlarmPanel(AlarmControlPanelEntity):
    """The panel; state, code and delays live in the controller's machine."""

    _attr_has_entity_name = True
    _attr_translation_key = "alarm"
    _attr_should_poll = False
    _attr_supported_features = PANEL_FEATURES
    # These move with every door and every wrong code while the panel's state stays the same; the
    # alarm's own events log them. Who triggered it and what was bypassed stay recorded.
    _unrecorded_attributes = frozenset({"open_sensors", "unavailable_sensors", "lockout_until"})

    def __init__(self, entry_id: str, controller: AlarmController) -> None:
        """Bind the panel to the controller and RoomDB's service device."""
        self._controller = controller
        self._attr_unique_id = f"{entry_id}_alarm"
        # Joins the device that RoomDbEntity describes; identifiers are enough to link to it.
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, entry_id)})

    @override
    async def async_added_to_hass(self) -> None:
        """Write the state after every controller change."""
        self.async_on_remove(self._controller.async_add_listener(self._on_change))

    @callback
    def _on_change(self, context: Context | None) -> None:
        if context is not None:
            self.async_set_context(context)
        self.async_write_ha_state()

    @property
    @override
    def alarm_state(self) -> AlarmControlPanelState:
        """Return the machine's state."""
        return AlarmControlPanelState(self._controller.machine.state)

    @property
    @override
    def code_format(self) -> CodeFormat | None:
        """Return the keypad to show: none without a code."""
        code_format = self._controller.machine.code_format
        return None if code_format is None else CodeFormat(code_format)

    @property
    @override
    def code_arm_required(self) -> bool:
        """Return whether arming any mode needs a code (never without a code).

        Off while some mode may be armed without one; the controller refuses the others.
        """
        return self._controller.machine.code_arm_required

    @property
    @override
    def changed_by(self) -> str | None:
        """Return the user whose code made the last change, or the sync target that made it."""
        return self._controller.changed_by

    @property
    @override
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """Return the open, bypassed, unavailable and tripping sensors and the lockout."""
        return self._controller.attributes()

    @override
    async def async_alarm_disarm(self, code: str | None = None) -> None:
        """Disarm."""
        with self._controller.refusals():
            await self._controller.async_disarm(code, self._context)

    @override
    async def async_alarm_arm_home(self, code: str | None = None) -> None:
        """Arm home."""
        await self._arm(AlarmState.ARMED_HOME, code)

    @override
    async def async_alarm_arm_away(self, code: str | None = None) -> None:
        """Arm away."""
        await self._arm(AlarmState.ARMED_AWAY, code)

    @override
    async def async_alarm_arm_night(self, code: str | None = None) -> None:
        """Arm night."""
        await self._arm(AlarmState.ARMED_NIGHT, code)

    @override
    async def async_alarm_arm_vacation(self, code: str | None = None) -> None:
        """Arm vacation."""
        await self._arm(AlarmState.ARMED_VACATION, code)

    @override
    async def async_alarm_arm_custom_bypass(self, code: str | None = None) -> None:
        """Arm custom bypass: only the sensors chosen for it guard."""
        await self._arm(AlarmState.ARMED_CUSTOM_BYPASS, code)

    @override
    async def async_alarm_trigger(self, code: str | None = None) -> None:
        """Trigger; no code needed (a panic button must work without one)."""
        self._controller.trigger(self._context)

    async def _arm(self, mode: AlarmState, code: str | None) -> None:
        with self._controller.refusals():
            await self._controller.async_arm(mode, code, self._context)
