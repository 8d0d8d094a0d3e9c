"""Base class for RoomDB entities: one service device per entry, translated names."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import RoomDbCoordinator


class RoomDbEntity(CoordinatorEntity[RoomDbCoordinator]):
    """An entity of RoomDB's single service device."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: RoomDbCoordinator, description: EntityDescription) -> None:
        """Bind the entity to its description and the entry's device."""
        super().__init__(coordinator)
        entry_id = coordinator.config_entry.entry_id
        self.entity_description = description
        self._attr_unique_id = f"{entry_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry_id)},
            entry_type=DeviceEntryType.SERVICE,
            manufacturer="RoomDB",
            model="Room database",
            name="RoomDB",
        )
