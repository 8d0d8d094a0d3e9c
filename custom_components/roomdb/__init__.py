"""RoomDB: a room database, registry mirror, event stream, ML data layer and alarm sync for HA."""

from __future__ import annotations

from pathlib import Path

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .alarm.setup import async_remove_alarm_stores, async_start_alarm, create_alarm
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
from .events.stream import EventStream
from .http import async_register_views
from .ml.options import MlSettings
from .ml.runtime import MlRuntime
from .registry.mirror import RegistryMirror
from .repairs import async_report_corrupt_database
from .rooms.runtime import RoomsRuntime, async_settings
from .rooms.services import async_setup_room_services
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = [Platform.ALARM_CONTROL_PANEL, Platform.BINARY_SENSOR, Platform.SENSOR]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register RoomDB's services once; they find the loaded entry when called."""
    async_setup_services(hass)
    async_setup_room_services(hass)
    async_register_views(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: RoomDbConfigEntry) -> bool:
    """Open the database, build the runtime object and forward the platforms."""
    config_dir = Path(hass.config.config_dir)
    # Resolved before the database opens: an unusable path fails setup with nothing to undo.
    rooms_settings = await async_settings(hass, config_dir, dict(entry.data), dict(entry.options))
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
    registry_mirror = RegistryMirror(hass, database, coordinator.async_schedule_refresh)
    rooms = RoomsRuntime(hass, database, rooms_settings)
    events = EventStream(hass, entry.options, coordinator.async_schedule_refresh)
    alarm, alarm_sync = create_alarm(hass, entry)
    ml = MlRuntime(
        hass, database, coordinator, MlSettings.from_options(entry.options), rooms.mapping
    )
    entry.runtime_data = RoomDbData(
        database=database,
        coordinator=coordinator,
        config_dir=config_dir,
        registry_mirror=registry_mirror,
        rooms=rooms,
        events=events,
        alarm=alarm,
        alarm_sync=alarm_sync,
        ml=ml,
    )
    # Registered first so it runs last on unload: every other part may still write while stopping.
    entry.async_on_unload(database.close)

    async def _close_on_final_write(_: Event) -> None:
        await database.close()

    entry.async_on_unload(
        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_FINAL_WRITE, _close_on_final_write)
    )
    database.on_commit = coordinator.async_schedule_refresh
    # Started before the parts that fire RoomDB's bus events, so it stops after them.
    entry.async_on_unload(events.async_stop)
    await events.async_start()
    # Filled before the first refresh so the registry sensors start with real counts.
    entry.async_on_unload(registry_mirror.async_stop)
    await registry_mirror.async_start()
    # Stops (and writes a pending export) before the database closes, on unload and at shutdown
    # (it listens for homeassistant_stop itself).
    entry.async_on_unload(rooms.async_stop)
    await rooms.async_start()
    # Fires roomdb_alarm_transition, so it starts after (and stops before) the event stream.
    await async_start_alarm(entry)
    # Records state changes and runs the ML pipeline; stops before the database closes, on unload
    # and at homeassistant_stop (it listens for that itself).
    entry.async_on_unload(ml.async_stop)
    await ml.async_start()

    await coordinator.async_config_entry_first_refresh()
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: RoomDbConfigEntry) -> bool:
    """Unload the platforms; the database closes through `async_on_unload`."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: RoomDbConfigEntry) -> None:
    """Delete the alarm's stored state with the entry."""
    await async_remove_alarm_stores(hass)
