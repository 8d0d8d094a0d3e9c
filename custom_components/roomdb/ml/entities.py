"""Entities of the ML data layer, declared as data (the platforms concatenate them).

Each reads the `ml` part of the coordinator snapshot; a value no model has produced yet is None,
which Home Assistant shows as "unknown".
"""

from __future__ import annotations

from typing import Final

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import PERCENTAGE, EntityCategory

from ..descriptions import RoomDbBinarySensorEntityDescription, RoomDbSensorEntityDescription
from .status import READINESS_STATES


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100.0, 2)


ML_SENSORS: Final[tuple[RoomDbSensorEntityDescription, ...]] = (
    RoomDbSensorEntityDescription(
        key="sleep_probability",
        translation_key="sleep_probability",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda snapshot: _percent(snapshot.ml.sleep_probability),
        attributes_fn=lambda snapshot: {
            "window_end": (
                snapshot.ml.inference_window_end.isoformat()
                if snapshot.ml.inference_window_end is not None
                else None
            ),
            "model_run_id": snapshot.ml.model_run_id,
        },
    ),
    RoomDbSensorEntityDescription(
        key="changepoint_probability",
        translation_key="changepoint_probability",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda snapshot: _percent(snapshot.ml.changepoint_probability),
        attributes_fn=lambda snapshot: snapshot.ml.changepoint_attributes(),
    ),
    RoomDbSensorEntityDescription(
        key="run_length",
        translation_key="run_length",
        native_unit_of_measurement="nights",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda snapshot: snapshot.ml.run_length,
    ),
    RoomDbSensorEntityDescription(
        key="ml_readiness",
        translation_key="ml_readiness",
        device_class=SensorDeviceClass.ENUM,
        options=list(READINESS_STATES),
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.ml.readiness,
        attributes_fn=lambda snapshot: snapshot.ml.readiness_attributes(),
    ),
    RoomDbSensorEntityDescription(
        key="last_training",
        translation_key="last_training",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.ml.last_training,
        attributes_fn=lambda snapshot: snapshot.ml.training_attributes(),
    ),
)

ML_BINARY_SENSORS: Final[tuple[RoomDbBinarySensorEntityDescription, ...]] = (
    RoomDbBinarySensorEntityDescription(
        key="asleep",
        translation_key="asleep",
        is_on_fn=lambda snapshot: snapshot.ml.asleep,
        attributes_fn=lambda snapshot: {
            "sleep_probability": _percent(snapshot.ml.sleep_probability),
            "threshold": _percent(snapshot.ml.asleep_threshold),
        },
    ),
)
