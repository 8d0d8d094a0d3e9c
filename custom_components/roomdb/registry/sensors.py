"""Registry mirror sensors: devices, entities and integrations (distinct config entry domains)."""

from __future__ import annotations

from operator import attrgetter
from typing import Final

from homeassistant.components.sensor import SensorStateClass

from ..descriptions import RoomDbSensorEntityDescription, diagnostic_sensor

REGISTRY_SENSORS: Final[tuple[RoomDbSensorEntityDescription, ...]] = tuple(
    diagnostic_sensor(
        f"registry_{kind}", attrgetter(f"registry.{kind}"), state_class=SensorStateClass.MEASUREMENT
    )
    for kind in ("devices", "entities", "integrations")
)
