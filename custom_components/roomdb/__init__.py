"""RoomDB: a room database, registry mirror, event stream, ML data layer and alarm sync for HA."""

from __future__ import annotations

from pathlib import Path

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import (
    CONF_BATCH_SIZE,
    CONF_FLUSH_INTERVAL,
    DATABASE_FILENAME,
    DEFAULT_BATCH_SIZE,
    DEFAULT_FLUSH_INTERVAL,
    DOMAIN,
)
from .coordinator import RoomDbCoordinator
from .data import RoomDbConfigEntry, RoomDbData
from .db.database import Database, DatabaseCorruptError, DatabaseError
from .repairs import async_report_corrupt_database
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = [Platform.SENSOR]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register RoomDB's services once; they find the loaded entry when called."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: RoomDbConfigEntry) -> bool:
    """Open the database, build the runtime object and forward the platforms."""
    config_dir = Path(hass.config.config_dir)
    database = Database(
        config_dir / DATABASE_FILENAME,
        batch_size=entry.options.get(CONF_BATCH_SIZE, DEFAULT_BATCH_SIZE),
        flush_interval=entry.options.get(CONF_FLUSH_INTERVAL, DEFAULT_FLUSH_INTERVAL),
    )
    try:
        await database.open()
    except DatabaseCorruptError as err:
        # Keep the damaged file for the user (renamed) so the next setup starts clean instead of
        # failing forever; the repair issue says where it went.
        kept_as = await async_report_corrupt_database(hass, err)
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="database_corrupt",
            translation_placeholders={"path": str(err.path), "kept_as": kept_as},
        ) from err
    except DatabaseError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key=err.translation_key,
            translation_placeholders={"path": str(err.path), "reason": err.reason},
        ) from err

    coordinator = RoomDbCoordinator(hass, entry, database)
    entry.runtime_data = RoomDbData(
        database=database, coordinator=coordinator, config_dir=config_dir
    )
    # Registered first so it runs last on unload: every other part may still write while stopping.
    entry.async_on_unload(database.close)

    async def _close_on_final_write(_: Event) -> None:
        await database.close()

    entry.async_on_unload(
        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_FINAL_WRITE, _close_on_final_write)
    )
    database.on_commit = coordinator.async_schedule_refresh

    await coordinator.async_config_entry_first_refresh()
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: RoomDbConfigEntry) -> bool:
    """Unload the platforms; the database closes through `async_on_unload`."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
