"""Entity descriptions that RoomDB's parts declare for the platforms.

They live outside the platform modules because each part (registry mirror, rooms, …) defines its own
descriptions and the platform module imports them: a part importing the platform back would be an
import cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntityDescription
from homeassistant.components.sensor import SensorEntityDescription, SensorStateClass
from homeassistant.const import EntityCategory

from .coordinator import RoomDbSnapshot


@dataclass(frozen=True, kw_only=True)
class RoomDbSensorEntityDescription(SensorEntityDescription):
    """A sensor reading one value (and optional attributes) from the snapshot."""

    value_fn: Callable[[RoomDbSnapshot], float | int | str | datetime | None]
    attributes_fn: Callable[[RoomDbSnapshot], Mapping[str, Any]] | None = None


@dataclass(frozen=True, kw_only=True)
class RoomDbBinarySensorEntityDescription(BinarySensorEntityDescription):
    """A binary sensor reading its state (and optional attributes) from the snapshot."""

    is_on_fn: Callable[[RoomDbSnapshot], bool | None]
    attributes_fn: Callable[[RoomDbSnapshot], Mapping[str, Any]] | None = None


def diagnostic_sensor(
    key: str,
    value_fn: Callable[[RoomDbSnapshot], float | int | str | datetime | None],
    *,
    state_class: SensorStateClass | None = None,
    enabled: bool = True,
    attributes_fn: Callable[[RoomDbSnapshot], Mapping[str, Any]] | None = None,
) -> RoomDbSensorEntityDescription:
    """A diagnostic sensor named by its translation key, which is its key."""
    return RoomDbSensorEntityDescription(
        key=key,
        translation_key=key,
        state_class=state_class,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=enabled,
        value_fn=value_fn,
        attributes_fn=attributes_fn,
    )
