"""RoomDB: a room database, registry mirror, event stream, ML data layer and alarm sync for HA."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.typing import ConfigType

from .alarm.runtime import async_remove_alarm_stores, async_start_alarm, create_alarm
from .const import (
    CONF_BATCH_SIZE,
    CONF_FLUSH_INTERVAL,
    DATABASE_FILENAME,
    DEFAULT_BATCH_SIZE,
    DEFAULT_FLUSH_INTERVAL,
    DOMAIN,
    ISSUE_DATABASE_CORRUPT,
    LOGGER,
)
from .coordinator import RoomDbCoordinator
from .data import RoomDbConfigEntry, RoomDbData
from .db.database import Database, DatabaseCorruptError, DatabaseError
from .events.runtime import EventStream
from .http import async_register_views
from .ml.options import MlSettings
from .ml.runtime import MlRuntime
from .panel import async_register_panel, async_remove_panel, async_setup_panel_support
from .registry.runtime import RegistryMirror
from .repairs import async_report_corrupt_database
from .room_select import async_offer_mapped_rooms
from .rooms.options import async_settings
from .rooms.runtime import RoomsRuntime
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = [Platform.ALARM_CONTROL_PANEL, Platform.BINARY_SENSOR, Platform.SENSOR]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register RoomDB's services, views and panel commands once; they find the loaded entry."""
    async_setup_services(hass)
    async_register_views(hass)
    await async_setup_panel_support(hass)
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

    # A good start means a damaged file reported earlier is behind us.
    ir.async_delete_issue(hass, DOMAIN, ISSUE_DATABASE_CORRUPT)
    coordinator = RoomDbCoordinator(
        hass,
        entry,
        database,
        lambda: (entry.runtime_data.events.stats(), entry.runtime_data.ml.status),
    )
    registry_mirror = RegistryMirror(hass, database, coordinator.async_schedule_refresh)
    rooms = RoomsRuntime(hass, database, rooms_settings)
    ml = MlRuntime(
        hass, database, coordinator, MlSettings.from_options(entry.options), rooms.mapping
    )
    events = EventStream(
        hass, entry.options, coordinator.async_schedule_refresh, ml.ingestor.is_tracked, database
    )
    rooms.store.journal_changes = events.journals_changes
    alarm, alarm_sync = create_alarm(hass, entry)
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
    database.on_commit = coordinator.async_schedule_refresh
    # HA runs `async_on_unload` callbacks concurrently, so the stop order lives in one list: each
    # part is stopped after the parts started after it, and the database they write to last.
    stops: list[Callable[[], Awaitable[None]]] = [database.close]
    entry.async_on_unload(partial(_async_stop_in_order, stops))

    async def _close_on_final_write(_: Event) -> None:
        await database.close()

    entry.async_on_unload(
        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_FINAL_WRITE, _close_on_final_write)
    )
    # Started before the parts that fire RoomDB's bus events, so it stops after them.
    await events.async_start()
    stops.append(events.async_stop)
    # Filled before the first refresh so the registry sensors start with real counts.
    await registry_mirror.async_start()
    stops.append(registry_mirror.async_stop)
    # Writes a pending export when it stops (also at homeassistant_stop, which it listens for).
    await rooms.async_start()
    stops.append(rooms.async_stop)
    entry.async_on_unload(await async_offer_mapped_rooms(hass, rooms.mapping))
    await async_start_alarm(entry)
    stops.extend((alarm.async_stop, alarm_sync.async_stop))
    # Records state changes and runs the ML pipeline (also stops at homeassistant_stop).
    await ml.async_start()
    stops.append(ml.async_stop)

    await coordinator.async_config_entry_first_refresh()
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    await async_register_panel(hass)
    entry.async_on_unload(partial(async_remove_panel, hass))
    return True


async def _async_stop_in_order(stops: list[Callable[[], Awaitable[None]]]) -> None:
    """Stop the started parts, newest first; one failing part must not keep the rest running."""
    while stops:
        stop = stops.pop()
        try:
            await stop()
        except Exception:  # noqa: BLE001 - logged; the remaining parts must still stop
            LOGGER.exception("Stopping %s failed", getattr(stop, "__qualname__", stop))


async def async_unload_entry(hass: HomeAssistant, entry: RoomDbConfigEntry) -> bool:
    """Unload the platforms; the parts and the database stop through `async_on_unload`."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: RoomDbConfigEntry) -> None:
    """Delete the alarm's stored state with the entry."""
    await async_remove_alarm_stores(hass)
