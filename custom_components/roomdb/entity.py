"""Base classes for RoomDB entities: one service device per entry, translated names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, override

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import RoomDbCoordinator
from .descriptions import RoomDbBinarySensorEntityDescription, RoomDbSensorEntityDescription


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


class RoomDbSnapshotEntity(RoomDbEntity):
    """An entity declared as data: its description reads the attributes from the snapshot."""

    entity_description: RoomDbSensorEntityDescription | RoomDbBinarySensorEntityDescription

    @property
    @override
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Return the attributes for the current snapshot."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.coordinator.data)
