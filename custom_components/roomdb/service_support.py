"""What every part's services share: registration, the loaded entry and the path policy.

The parts' service modules (and the panel's WebSocket commands) import this; it imports none of
them, so service registration (``services``) can import the parts without a cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.service import async_register_admin_service
import probatio as vol

from .const import DOMAIN
from .data import RoomDbConfigEntry
from .paths import PathPurpose, UnsafePathError, resolve_config_path, resolve_target


@callback
def async_register_report_service(
    hass: HomeAssistant,
    name: str,
    handler: Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]],
) -> None:
    """Register an admin service without fields that does its job and reports what it did."""
    async_register_admin_service(
        hass,
        DOMAIN,
        name,
        handler,
        schema=vol.Schema({}),
        supports_response=SupportsResponse.OPTIONAL,
    )


def loaded_entry(hass: HomeAssistant) -> RoomDbConfigEntry | None:
    """The loaded RoomDB entry (RoomDB allows one), or None while none is loaded."""
    entries: list[RoomDbConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    return entries[0] if entries else None


def async_get_loaded_entry(hass: HomeAssistant) -> RoomDbConfigEntry:
    """Return the loaded RoomDB entry or raise a translated error."""
    entry = loaded_entry(hass)
    if entry is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_loaded")
    return entry


async def async_resolve_user_path(
    hass: HomeAssistant,
    config_dir: Path,
    user_path: str,
    purpose: PathPurpose,
    *,
    replace: bool = False,
) -> Path:
    """Apply the path policy (in the executor) or raise a translated `ServiceValidationError`.

    With `replace`, an existing file must also be one RoomDB wrote (the caller will replace it).
    """
    check = resolve_target if replace else resolve_config_path
    try:
        return await hass.async_add_executor_job(check, config_dir, user_path, purpose)
    except UnsafePathError as err:
        raise path_refused(err) from err


def path_refused(err: UnsafePathError) -> ServiceValidationError:
    """The translated refusal for a path the policy does not allow."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=err.translation_key,
        translation_placeholders=err.placeholders,
    )
