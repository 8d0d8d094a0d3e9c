"""RoomDB services: schemas and thin handlers that validate, call the domain layer, map errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
import sqlite3

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
import probatio as vol

from .alarm.services import async_setup_alarm_services
from .const import BACKUP_DIRNAME, DOMAIN
from .data import RoomDbConfigEntry
from .events.services import async_setup_event_services
from .ml.services import async_setup_ml_services
from .paths import UnsafePathError, resolve_config_path
from .registry.services import async_setup_registry_services

SERVICE_BACKUP = "backup"
ATTR_PATH = "path"

BACKUP_SCHEMA = vol.Schema(
    {vol.Optional(ATTR_PATH): vol.All(cv.string, vol.Length(min=1, max=255))}
)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register RoomDB's services (once, from `async_setup`)."""
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_BACKUP,
        _async_backup,
        schema=BACKUP_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    async_setup_registry_services(hass)
    async_setup_ml_services(hass)
    async_setup_event_services(hass)
    async_setup_alarm_services(hass)


def async_get_loaded_entry(hass: HomeAssistant) -> RoomDbConfigEntry:
    """Return the loaded RoomDB entry or raise a translated error."""
    entries: list[RoomDbConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    if not entries:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_loaded")
    return entries[0]


async def async_resolve_user_path(hass: HomeAssistant, config_dir: Path, user_path: str) -> Path:
    """Resolve an untrusted path inside the config dir or raise `ServiceValidationError`."""
    try:
        return await hass.async_add_executor_job(resolve_config_path, config_dir, user_path)
    except UnsafePathError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=err.translation_key,
            translation_placeholders={"path": user_path},
        ) from err


def _prepare_backup_target(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.partial")
    temporary.unlink(missing_ok=True)
    return temporary


def _publish_backup(temporary: Path, target: Path) -> int:
    temporary.replace(target)
    return target.stat().st_size


async def _async_backup(call: ServiceCall) -> ServiceResponse:
    """Copy the live database with SQLite's online backup to a file inside the config dir."""
    hass = call.hass
    runtime = async_get_loaded_entry(hass).runtime_data
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    user_path: str = call.data.get(ATTR_PATH) or f"{BACKUP_DIRNAME}/roomdb-{stamp}.db"
    target = await async_resolve_user_path(hass, runtime.config_dir, user_path)
    database_files = {runtime.database.path.resolve(strict=False)}
    database_files |= {
        Path(f"{path}{suffix}") for path in database_files for suffix in ("-wal", "-shm")
    }
    if target in database_files:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="path_is_database",
            translation_placeholders={"path": user_path},
        )
    try:
        temporary = await hass.async_add_executor_job(_prepare_backup_target, target)
        await runtime.database.backup_to(temporary)
        size = await hass.async_add_executor_job(_publish_backup, temporary, target)
    except (OSError, sqlite3.Error) as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="backup_failed",
            translation_placeholders={"path": user_path, "error": str(err)},
        ) from err
    return {"status": "ok", "path": str(target), "size_bytes": size}
