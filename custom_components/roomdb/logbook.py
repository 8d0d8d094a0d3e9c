"""The alarm's events in Home Assistant's logbook (Activity): who armed, what set it off.

The panel's state changes show in the logbook anyway, credited to the Home Assistant user who
called the action; the user whose code it was, the sensors that set the alarm off and refused
armings only show through these entries. Logbook messages are English phrases, as Home Assistant's
own are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .alarm.const import EVENT_ALARM_EVENT
from .const import DOMAIN

NAME: Final = "RoomDB alarm"


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe `roomdb_alarm_event` entries."""

    def names(entity_ids: list[str]) -> str:
        return ", ".join(
            state.name if (state := hass.states.get(entity_id)) is not None else entity_id
            for entity_id in entity_ids
        )

    @callback
    def describe(event: Event) -> dict[str, str]:
        return {LOGBOOK_ENTRY_NAME: NAME, LOGBOOK_ENTRY_MESSAGE: message(event.data, names)}

    async_describe_event(DOMAIN, EVENT_ALARM_EVENT, describe)


def message(data: Mapping[str, Any], names: Callable[[list[str]], str]) -> str:
    """The logbook line for one alarm event's data; `names` turns entity ids into names."""
    by = f" by {data['changed_by']}" if data.get("changed_by") else ""
    mode = str(data.get("mode") or "").replace("_", " ")
    match data.get("event"):
        case "armed":
            bypassed = names(_ids(data.get("bypassed_sensors")))
            return f"{mode}{by}" + (f", bypassing {bypassed}" if bypassed else "")
        case "disarmed":
            return f"disarmed{by}"
        case "triggered":
            sensors = names(_ids(data.get("sensors")))
            return f"went off ({mode})" + (f", set off by {sensors}" if sensors else by)
        case "arm_failure":
            return f"could not arm {mode}{by}: {names(_ids(data.get('open_sensors')))} open"
        case "sensor_unavailable":
            return f"{names(_ids([data.get('sensor')]))} became unavailable"
        case "lockout":
            attempts = data.get("attempts")
            return f"codes locked out until {data.get('until')} after {attempts} wrong codes"
        case "sync_offline":
            return f"{data.get('target')}, the panel it syncs with, became unavailable"
        case "sync_online":
            return f"{data.get('target')}, the panel it syncs with, is available again"
        case kind:
            return str(kind)


def _ids(value: Any) -> list[str]:
    """Entity ids from an event's list (or dict keyed by entity id); nothing for None."""
    return [str(entity_id) for entity_id in value or () if entity_id]
