"""The ``flush_events`` service: send what is pending now and return the buffer figures."""

from __future__ import annotations

from typing import Final

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.helpers.service import async_register_admin_service
import probatio as vol

from ..const import DOMAIN

# A module import, not a name import: `services.py` imports this module while it is initialising.
from ..service_support import async_get_loaded_entry

SERVICE_FLUSH_EVENTS: Final = "flush_events"


@callback
def async_setup_event_services(hass: HomeAssistant) -> None:
    """Register the event stream's services."""
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_FLUSH_EVENTS,
        _async_flush_events,
        schema=vol.Schema({}),
        supports_response=SupportsResponse.OPTIONAL,
    )


async def _async_flush_events(call: ServiceCall) -> ServiceResponse:
    """Attempt to send every pending event now; return the figures after that attempt.

    A failed attempt is not an error of the call: ``state`` and ``last_error`` say what happened.
    """
    stream = async_get_loaded_entry(call.hass).runtime_data.events
    stats = await stream.async_flush()
    return stats.as_dict()
