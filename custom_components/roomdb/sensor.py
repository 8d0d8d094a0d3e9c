"""RoomDB sensors, declared as data: adding a sensor is adding a description."""

from __future__ import annotations

from datetime import datetime
from typing import override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfInformation
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .alarm.sensors import AlarmSyncSensor
from .data import RoomDbConfigEntry
from .descriptions import RoomDbSensorEntityDescription
from .entity import RoomDbSnapshotEntity
from .events.sensors import EVENT_SENSORS, EVENT_UNRECORDED_ATTRIBUTES
from .ml.sensors import ML_SENSORS, ML_UNRECORDED_ATTRIBUTES
from .registry.sensors import REGISTRY_SENSORS
from .rooms.sensors import ROOMS_SENSORS, RoomsSensor

# Read-only entities backed by the coordinator: no parallel update limit needed.
PARALLEL_UPDATES = 0

SENSORS: tuple[RoomDbSensorEntityDescription, ...] = (
    RoomDbSensorEntityDescription(
        key="database",
        translation_key="database",
        device_class=SensorDeviceClass.DATA_SIZE,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.MEBIBYTES,
        suggested_display_precision=2,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.database.size_bytes,
        attributes_fn=lambda snapshot: {
            "schema_version": snapshot.database.schema_version,
            "last_write": snapshot.database.last_write_at,
            "queued_rows": snapshot.database.queued_rows,
            "dropped_rows": snapshot.database.dropped_rows,
            "row_counts": snapshot.database.row_counts,
            "raw_event_days": snapshot.database.raw_event_days,
            "free_bytes": snapshot.database.free_bytes,
        },
    ),
    *REGISTRY_SENSORS,
    *EVENT_SENSORS,
    *ML_SENSORS,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: RoomDbConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add RoomDB's sensors."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(RoomDbSensor(coordinator, description) for description in SENSORS)
    async_add_entities([AlarmSyncSensor(coordinator, entry.runtime_data.alarm_sync)])
    rooms = entry.runtime_data.rooms
    async_add_entities(
        RoomsSensor(coordinator, rooms, description) for description in ROOMS_SENSORS
    )


class RoomDbSensor(RoomDbSnapshotEntity, SensorEntity):
    """A sensor whose value and attributes come from the coordinator snapshot."""

    entity_description: RoomDbSensorEntityDescription
    # Attributes that change with every write or event; the state itself is still recorded.
    _unrecorded_attributes = (
        frozenset(
            {
                "last_write",
                "queued_rows",
                "dropped_rows",
                "row_counts",
                "raw_event_days",
                "free_bytes",
            }
        )
        | EVENT_UNRECORDED_ATTRIBUTES
        | ML_UNRECORDED_ATTRIBUTES
        # The history import moves these with every slice.
        | frozenset({"cursor", "progress", "rows_added", "slices"})
    )

    @property
    @override
    def native_value(self) -> float | int | str | datetime | None:
        """Return the value for the current snapshot."""
        return self.entity_description.value_fn(self.coordinator.data)
