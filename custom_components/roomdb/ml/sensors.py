"""Entities of the ML data layer, declared as data (the platforms concatenate them).

Each reads the `ml` part of the coordinator snapshot; a value no model has produced yet is None,
which Home Assistant shows as "unknown". Bedtime and wake time come as last night's (read off
the sleep probability) and tonight's expected, each with the night it belongs to.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import PERCENTAGE, EntityCategory

from ..coordinator import RoomDbSnapshot
from ..descriptions import RoomDbBinarySensorEntityDescription, RoomDbSensorEntityDescription
from .status import IMPORT_STATES, READINESS_STATES, TIMESTAMP_KEYS, MlStatus

ML_UNRECORDED_ATTRIBUTES: Final = frozenset({"window_end", "observed", "away", *TIMESTAMP_KEYS})
"""Sensor attributes that move with every inference or pipeline run (each refresh, one window at a
time): the recorder would store a row per window. The model run, the nights and the scores of a
training change once a day and stay recorded."""
ML_BINARY_UNRECORDED_ATTRIBUTES: Final = frozenset({"sleep_probability", "observed"})
"""The same for ``asleep``: its probability and coverage move with every window, its threshold
only with a training."""


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100.0, 2)


def _sleep_time(
    key: str,
    value: Callable[[MlStatus], datetime | None],
    night: Callable[[MlStatus], str | None],
) -> RoomDbSensorEntityDescription:
    """A timestamp sensor of bedtime or wake time, with the night it belongs to."""

    def value_fn(snapshot: RoomDbSnapshot) -> datetime | None:
        return value(snapshot.ml)

    def attributes_fn(snapshot: RoomDbSnapshot) -> dict[str, str | None]:
        return {"night": night(snapshot.ml)}

    return RoomDbSensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=value_fn,
        attributes_fn=attributes_fn,
    )


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
            "observed": snapshot.ml.inference_observed,
            "away": snapshot.ml.inference_away,
        },
    ),
    _sleep_time("last_bedtime", lambda ml: ml.last_bedtime, lambda ml: ml.last_bedtime_night),
    _sleep_time("last_wake_time", lambda ml: ml.last_wake, lambda ml: ml.last_wake_night),
    _sleep_time("expected_bedtime", lambda ml: ml.expected_bedtime, lambda ml: ml.expected_night),
    _sleep_time("expected_wake_time", lambda ml: ml.expected_wake, lambda ml: ml.expected_night),
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
        key="suggested_nights",
        translation_key="suggested_nights",
        native_unit_of_measurement="nights",
        value_fn=lambda snapshot: len(snapshot.ml.suggestions),
        attributes_fn=lambda snapshot: snapshot.ml.suggestion_attributes(),
    ),
    RoomDbSensorEntityDescription(
        key="history_import",
        translation_key="history_import",
        device_class=SensorDeviceClass.ENUM,
        options=list(IMPORT_STATES),
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.ml.history_import_state,
        attributes_fn=lambda snapshot: dict(snapshot.ml.history_import),
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
            "observed": snapshot.ml.inference_observed,
        },
    ),
)
