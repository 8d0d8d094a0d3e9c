"""RoomDB services: registers every part's services, and the backup service's handler.

The plumbing the parts share (the loaded entry, the path policy's translated refusals) lives in
``service_support``, which the parts import; nothing imports this module but the package's setup.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
import sqlite3
import tempfile

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
import probatio as vol

from .alarm.services import async_setup_alarm_services
from .const import BACKUP_DIRNAME, DOMAIN
from .events.services import async_setup_event_services
from .ml.services import async_setup_ml_services
from .paths import SQLITE_COMPANIONS, PathPurpose, UnsafePathError, ensure_replaceable
from .registry.services import async_setup_registry_services
from .rooms.export_doc import fsync_directory
from .rooms.services import async_setup_room_services
from .service_support import async_get_loaded_entry, async_resolve_user_path, path_refused
from .timestamps import file_stamp

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
    async_setup_room_services(hass)


def _prepare_backup_target(target: Path) -> Path:
    """A new, empty file beside the target, with a name no other backup can have."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    # Closed before SQLite opens it: a descriptor closed later would drop SQLite's locks.
    os.close(fd)
    return Path(name)


def _publish_backup(temporary: Path, target: Path, user_path: str) -> int:
    """Put the finished copy in place, unless a file RoomDB did not write appeared there."""
    ensure_replaceable(target, PathPurpose.BACKUP, user_path)
    temporary.replace(target)
    fsync_directory(target.parent)
    return target.stat().st_size


def _discard_backup(temporary: Path) -> None:
    for suffix in ("", *SQLITE_COMPANIONS):
        Path(f"{temporary}{suffix}").unlink(missing_ok=True)


async def _async_backup(call: ServiceCall) -> ServiceResponse:
    """Copy the live database with SQLite's online backup to a file inside the config dir."""
    hass = call.hass
    runtime = async_get_loaded_entry(hass).runtime_data
    stamp = file_stamp()
    user_path: str = call.data.get(ATTR_PATH) or f"{BACKUP_DIRNAME}/roomdb-{stamp}.db"
    target = await async_resolve_user_path(
        hass, runtime.config_dir, user_path, PathPurpose.BACKUP, replace=True
    )
    try:
        temporary = await hass.async_add_executor_job(_prepare_backup_target, target)
    except OSError as err:
        raise _backup_failed(user_path, err) from err
    try:
        try:
            await runtime.database.backup_to(temporary)
            size = await hass.async_add_executor_job(_publish_backup, temporary, target, user_path)
        except BaseException:
            # Also on cancellation: the temporary file goes, whatever stopped the copy. Shielded
            # so that a second cancellation cannot leave it behind.
            await asyncio.shield(hass.async_add_executor_job(_discard_backup, temporary))
            raise
    except UnsafePathError as err:
        raise path_refused(err) from err
    except (OSError, sqlite3.Error) as err:
        raise _backup_failed(user_path, err) from err
    return {"status": "ok", "path": str(target), "size_bytes": size}


def _backup_failed(user_path: str, err: Exception) -> HomeAssistantError:
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="backup_failed",
        translation_placeholders={"path": user_path, "error": str(err)},
    )
