"""Diagnostic sensors of the event stream, read from the coordinator snapshot."""

from __future__ import annotations

from typing import Final

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import EntityCategory

from ..descriptions import RoomDbSensorEntityDescription
from .stats import EndpointState

EVENT_UNRECORDED_ATTRIBUTES: Final = frozenset(
    {"last_error", "awaiting_resend", "peer_missing", "disagreement", "last_acked"}
)
"""Attributes that move with the stream's traffic: the recorder would store a row per change."""

EVENT_SENSORS: Final[tuple[RoomDbSensorEntityDescription, ...]] = (
    RoomDbSensorEntityDescription(
        key="event_endpoint",
        translation_key="event_endpoint",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in EndpointState],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.events.state.value,
        attributes_fn=lambda snapshot: {"last_error": snapshot.events.last_error},
    ),
    RoomDbSensorEntityDescription(
        key="event_buffered",
        translation_key="event_buffered",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.events.buffered,
        attributes_fn=lambda snapshot: {
            "capacity": snapshot.events.capacity,
            "overflowed": snapshot.events.overflowed,
        },
    ),
    RoomDbSensorEntityDescription(
        key="event_pending",
        translation_key="event_pending",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.events.pending,
        attributes_fn=lambda snapshot: {
            "awaiting_resend": snapshot.events.awaiting_resend,
            "peer_missing": [list(run) for run in snapshot.events.peer_missing],
            "disagreement": [list(run) for run in snapshot.events.disagreement],
        },
    ),
    RoomDbSensorEntityDescription(
        key="event_resent",
        translation_key="event_resent",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.events.resent,
    ),
    RoomDbSensorEntityDescription(
        key="event_unrecoverable",
        translation_key="event_unrecoverable",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.events.unrecoverable,
    ),
    # Sequence numbers move with every event: useful when debugging, noisy otherwise.
    RoomDbSensorEntityDescription(
        key="event_oldest_sequence",
        translation_key="event_oldest_sequence",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda snapshot: snapshot.events.oldest,
    ),
    RoomDbSensorEntityDescription(
        key="event_newest_sequence",
        translation_key="event_newest_sequence",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda snapshot: snapshot.events.newest,
    ),
    RoomDbSensorEntityDescription(
        key="event_last_sent_sequence",
        translation_key="event_last_sent_sequence",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda snapshot: snapshot.events.last_sent,
        attributes_fn=lambda snapshot: {"last_acked": snapshot.events.last_acked},
    ),
)
