"""Registry mirror sensors: devices, entities and integrations (distinct config entry domains)."""

from __future__ import annotations

from typing import Final

from homeassistant.components.sensor import SensorStateClass
from homeassistant.const import EntityCategory

from ..descriptions import RoomDbSensorEntityDescription

REGISTRY_SENSORS: Final[tuple[RoomDbSensorEntityDescription, ...]] = (
    RoomDbSensorEntityDescription(
        key="registry_devices",
        translation_key="registry_devices",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.registry.devices,
    ),
    RoomDbSensorEntityDescription(
        key="registry_entities",
        translation_key="registry_entities",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.registry.entities,
    ),
    RoomDbSensorEntityDescription(
        key="registry_integrations",
        translation_key="registry_integrations",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.registry.integrations,
    ),
)
