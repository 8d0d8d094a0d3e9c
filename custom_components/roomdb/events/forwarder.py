"""What the event stream carries: the HA bus events RoomDB fires, optionally raw state changes.

This is the one place that decides what gets a sequence number.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Final

from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import (
    CALLBACK_TYPE,
    Event as HassEvent,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)

from ..const import EVENT_ALARM_TRANSITION, EVENT_CONFIG_CHANGED, EVENT_ML_RESULT
from ..timestamps import wire_timestamp
from .event import Event

FORWARDED_BUS_EVENTS: Final = {
    EVENT_CONFIG_CHANGED: "config_changed",
    EVENT_ALARM_TRANSITION: "alarm_transition",
    EVENT_ML_RESULT: "ml_result",
}
"""HA bus event type -> ``event_type`` on the wire."""
STATE_CHANGED_EVENT: Final = "state_changed"
CONFIG_CHANGED_EVENT: Final = FORWARDED_BUS_EVENTS[EVENT_CONFIG_CHANGED]

type Emit = Callable[..., Event]
type TrackedPredicate = Callable[[str, State | None], bool]


class EventForwarder:
    """Listens to the HA bus and emits stream events while started."""

    def __init__(
        self,
        hass: HomeAssistant,
        emit: Emit,
        *,
        include_state_changes: bool,
        is_tracked: TrackedPredicate,
    ) -> None:
        """Prepare the listeners; ``emit(event_type, data, timestamp=...)`` numbers an event."""
        self._hass = hass
        self._emit = emit
        self._include_state_changes = include_state_changes
        self._is_tracked = is_tracked
        self._unsubscribe: list[CALLBACK_TYPE] = []

    @callback
    def async_start(self) -> None:
        """Subscribe to the bus."""
        if self._unsubscribe:
            return
        bus = self._hass.bus
        for bus_type, wire_type in FORWARDED_BUS_EVENTS.items():
            self._unsubscribe.append(bus.async_listen(bus_type, partial(self._forward, wire_type)))
        if self._include_state_changes:
            self._unsubscribe.append(
                bus.async_listen(
                    EVENT_STATE_CHANGED, self._forward_state, event_filter=self._state_filter
                )
            )

    @callback
    def async_stop(self) -> None:
        """Unsubscribe from the bus."""
        while self._unsubscribe:
            self._unsubscribe.pop()()

    @callback
    def _forward(self, wire_type: str, event: HassEvent[Any]) -> None:
        change_id = event.data.get("change_id") if wire_type == CONFIG_CHANGED_EVENT else None
        self._emit(
            wire_type,
            dict(event.data),
            timestamp=wire_timestamp(event.time_fired),
            change_id=change_id,
        )

    @callback
    def _state_filter(self, event_data: EventStateChangedData) -> bool:
        old, new = event_data["old_state"], event_data["new_state"]
        if old is not None and new is not None and old.state == new.state:
            return False  # attribute-only update
        return self._is_tracked(event_data["entity_id"], new or old)

    @callback
    def _forward_state(self, event: HassEvent[EventStateChangedData]) -> None:
        old, new = event.data["old_state"], event.data["new_state"]
        data = {
            "entity_id": event.data["entity_id"],
            "old_state": old.state if old is not None else None,
            "new_state": new.state if new is not None else None,
        }
        self._emit(STATE_CHANGED_EVENT, data, timestamp=wire_timestamp(event.time_fired))
