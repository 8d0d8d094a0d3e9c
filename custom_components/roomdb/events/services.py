"""The ``flush_events`` service: send what is pending now and return the buffer figures."""

from __future__ import annotations

from typing import Final

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    callback,
)

from ..service_support import async_get_loaded_entry, async_register_report_service

SERVICE_FLUSH_EVENTS: Final = "flush_events"


@callback
def async_setup_event_services(hass: HomeAssistant) -> None:
    """Register the event stream's services."""
    async_register_report_service(hass, SERVICE_FLUSH_EVENTS, _async_flush_events)


async def _async_flush_events(call: ServiceCall) -> ServiceResponse:
    """Attempt to send every pending event now; return the figures after that attempt.

    A failed attempt is not an error of the call: ``state`` and ``last_error`` say what happened.
    """
    stream = async_get_loaded_entry(call.hass).runtime_data.events
    stats = await stream.async_flush()
    return stats.as_dict()
