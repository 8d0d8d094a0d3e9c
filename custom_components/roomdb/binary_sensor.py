"""RoomDB binary sensors, declared as data like the sensors."""

from __future__ import annotations

from typing import override

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import RoomDbConfigEntry
from .descriptions import RoomDbBinarySensorEntityDescription
from .entity import RoomDbSnapshotEntity
from .ml.sensors import ML_BINARY_SENSORS, ML_BINARY_UNRECORDED_ATTRIBUTES

# Read-only entities backed by the coordinator: no parallel update limit needed.
PARALLEL_UPDATES = 0

BINARY_SENSORS: tuple[RoomDbBinarySensorEntityDescription, ...] = (*ML_BINARY_SENSORS,)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: RoomDbConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add RoomDB's binary sensors, all of them fed by the entry's coordinator."""
    async_add_entities(
        RoomDbBinarySensor(entry.runtime_data.coordinator, description)
        for description in BINARY_SENSORS
    )


class RoomDbBinarySensor(RoomDbSnapshotEntity, BinarySensorEntity):
    """A binary sensor whose state and attributes come from the coordinator snapshot."""

    entity_description: RoomDbBinarySensorEntityDescription
    # Attributes that move with every inference; the state itself is still recorded.
    _unrecorded_attributes = ML_BINARY_UNRECORDED_ATTRIBUTES

    @property
    @override
    def is_on(self) -> bool | None:
        """Return the state for the current snapshot (None: unknown)."""
        return self.entity_description.is_on_fn(self.coordinator.data)
