"""The `resync_registry` service: rewrite the mirror tables from HA's registries."""

from __future__ import annotations

from typing import Final

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError

from ..const import DOMAIN
from ..service_support import async_get_loaded_entry, async_register_report_service
from .runtime import MirrorWriteError

SERVICE_RESYNC_REGISTRY: Final = "resync_registry"


@callback
def async_setup_registry_services(hass: HomeAssistant) -> None:
    """Register the registry mirror's services."""
    async_register_report_service(hass, SERVICE_RESYNC_REGISTRY, _async_resync_registry)


async def _async_resync_registry(call: ServiceCall) -> ServiceResponse:
    """Write every registry in full and drop rows HA no longer has; return the row counts."""
    mirror = async_get_loaded_entry(call.hass).runtime_data.registry_mirror
    try:
        counts = await mirror.async_resync()
    except MirrorWriteError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="registry_resync_failed",
            translation_placeholders={"error": str(err)},
        ) from err
    return dict(counts)
