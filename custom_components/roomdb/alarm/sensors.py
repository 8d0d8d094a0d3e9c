"""The "alarm sync" diagnostic sensor, written whenever the sync's status changes (push-based)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.const import EntityCategory

from ..coordinator import RoomDbCoordinator
from ..entity import RoomDbEntity
from .sync import AlarmSync, SyncStatus

ALARM_SYNC_SENSOR: Final = SensorEntityDescription(
    key="alarm_sync",
    translation_key="alarm_sync",
    device_class=SensorDeviceClass.ENUM,
    options=[str(status) for status in SyncStatus],
    entity_category=EntityCategory.DIAGNOSTIC,
)


class AlarmSyncSensor(RoomDbEntity, SensorEntity):
    """Shows `AlarmSync.status` with the pending change and push bookkeeping as attributes."""

    # What moves with every push and every change of the other panel.
    _unrecorded_attributes = frozenset(
        {
            "last_seen_state",
            "pending_state",
            "last_seen_updated",
            "pending_since",
            "last_push_attempt",
            "last_push_success",
            "next_retry",
        }
    )

    def __init__(self, coordinator: RoomDbCoordinator, sync: AlarmSync) -> None:
        """Bind the sensor to the entry's sync."""
        super().__init__(coordinator, ALARM_SYNC_SENSOR)
        self._sync = sync

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the sync's changes."""
        await super().async_added_to_hass()
        self.async_on_remove(self._sync.async_add_listener(self.async_write_ha_state))

    @property
    @override
    def available(self) -> bool:
        """Always available: the status does not depend on the database."""
        return True

    @property
    @override
    def native_value(self) -> str:
        """Return the sync status."""
        return str(self._sync.status)

    @property
    @override
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """Return the last seen target state, the pending change and the push bookkeeping."""
        return self._sync.attributes
