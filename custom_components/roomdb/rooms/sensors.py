"""Room-database sensors: write counters (with the limiter state) and the mapped rooms.

The mapped-rooms sensor also names the rooms kept with a problem (``limited_rooms``).

They read the live :class:`RoomsRuntime` rather than the coordinator snapshot, because counters
move on refused writes too (which commit nothing): the runtime tells them, debounced to at most
once a second, and they re-read. Availability still follows the coordinator (the database).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, override

from homeassistant.components.sensor import (
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory

from ..coordinator import RoomDbCoordinator
from ..entity import RoomDbEntity
from .runtime import RoomsRuntime

MAX_ROOMS_LISTED: Final = 100


@dataclass(frozen=True, kw_only=True)
class RoomsSensorEntityDescription(SensorEntityDescription):
    """A sensor reading one value (and attributes) from the room database runtime."""

    value_fn: Callable[[RoomsRuntime], float | int | str | None]
    attributes_fn: Callable[[RoomsRuntime], Mapping[str, Any]]


def _writes_attributes(rooms: RoomsRuntime) -> dict[str, Any]:
    counters = rooms.store.counters
    return {
        "writes_ok": counters.ok,
        "writes_retry": counters.retry,
        "writes_error": counters.error,
        "admission_denied": counters.denied,
        "limiter": rooms.limiter.snapshot(rooms.store.clock()),
        "last_export": rooms.exporter.health()["last_export_at"],
    }


def _rooms_attributes(rooms: RoomsRuntime) -> dict[str, Any]:
    health = rooms.mapping.health()
    return {
        "mapping_status": health["status"],
        "mapping_source": health["source"],
        "mapping_errors": [error["message"] for error in health["errors"][:3]],
        "mapping_warnings": [warning["message"] for warning in health["warnings"][:3]],
        "limited_rooms": health["limited_rooms"][:MAX_ROOMS_LISTED],
        "mapping_path": health["path"],
        "room_ids": list(rooms.mapping.mapping.rooms)[:MAX_ROOMS_LISTED],
    }


ROOMS_SENSORS: Final[tuple[RoomsSensorEntityDescription, ...]] = (
    RoomsSensorEntityDescription(
        key="room_writes",
        translation_key="room_writes",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda rooms: rooms.store.counters.ok,
        attributes_fn=_writes_attributes,
    ),
    RoomsSensorEntityDescription(
        key="mapped_rooms",
        translation_key="mapped_rooms",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda rooms: len(rooms.mapping.mapping.rooms),
        attributes_fn=_rooms_attributes,
    ),
)


class RoomsSensor(RoomDbEntity, SensorEntity):
    """A sensor over the room database runtime, refreshed when the runtime says so."""

    entity_description: RoomsSensorEntityDescription
    # Bulky detail and counters that move with every write: shown on the entity, kept out of the
    # recorder (the state, the writes that succeeded, is recorded).
    _unrecorded_attributes = frozenset(
        {
            "limiter",
            "room_ids",
            "mapping_errors",
            "mapping_warnings",
            "limited_rooms",
            "writes_ok",
            "writes_retry",
            "writes_error",
            "admission_denied",
            "last_export",
        }
    )

    def __init__(
        self,
        coordinator: RoomDbCoordinator,
        rooms: RoomsRuntime,
        description: RoomsSensorEntityDescription,
    ) -> None:
        """Bind the sensor to the entry's runtime."""
        super().__init__(coordinator, description)
        self.rooms = rooms

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the runtime's change notifications while added."""
        await super().async_added_to_hass()
        self.async_on_remove(self.rooms.async_add_listener(self.async_write_ha_state))

    @property
    @override
    def native_value(self) -> float | int | str | None:
        """Return the value."""
        return self.entity_description.value_fn(self.rooms)

    @property
    @override
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """Return the attributes."""
        return self.entity_description.attributes_fn(self.rooms)
