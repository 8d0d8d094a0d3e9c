"""Diagnostic sensors of the event stream, read from the coordinator snapshot."""

from __future__ import annotations

from operator import attrgetter
from typing import Final

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import EntityCategory

from ..descriptions import RoomDbSensorEntityDescription, diagnostic_sensor
from .stats import EndpointState

EVENT_UNRECORDED_ATTRIBUTES: Final = frozenset(
    {"last_error", "awaiting_resend", "peer_missing", "disagreement", "last_acked", "overflowed"}
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
    diagnostic_sensor(
        "event_buffered",
        attrgetter("events.buffered"),
        state_class=SensorStateClass.MEASUREMENT,
        attributes_fn=lambda snapshot: {
            "capacity": snapshot.events.capacity,
            "overflowed": snapshot.events.overflowed,
        },
    ),
    diagnostic_sensor(
        "event_pending",
        attrgetter("events.pending"),
        state_class=SensorStateClass.MEASUREMENT,
        attributes_fn=lambda snapshot: {
            "awaiting_resend": snapshot.events.awaiting_resend,
            "peer_missing": [list(run) for run in snapshot.events.peer_missing],
            "disagreement": [list(run) for run in snapshot.events.disagreement],
        },
    ),
    *(
        diagnostic_sensor(
            f"event_{kind}",
            attrgetter(f"events.{kind}"),
            state_class=SensorStateClass.TOTAL_INCREASING,
        )
        for kind in ("resent", "unrecoverable")
    ),
    # Sequence numbers move with every event: useful when debugging, noisy otherwise.
    *(
        diagnostic_sensor(f"event_{kind}_sequence", attrgetter(f"events.{kind}"), enabled=False)
        for kind in ("oldest", "newest")
    ),
    diagnostic_sensor(
        "event_last_sent_sequence",
        attrgetter("events.last_sent"),
        enabled=False,
        attributes_fn=lambda snapshot: {"last_acked": snapshot.events.last_acked},
    ),
)
