"""Build, start and stop the alarm controller and its sync for a config entry."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from ..data import RoomDbConfigEntry
from .const import ALARM_STORE_KEY, STORE_VERSION, SYNC_STORE_KEY
from .controller import AlarmController
from .notify import AlarmNotifier
from .settings import NotifySettings, SyncSettings, alarm_config, lockout, sensors, users
from .sync import AlarmSync


def create_alarm(
    hass: HomeAssistant, entry: RoomDbConfigEntry
) -> tuple[AlarmController, AlarmSync]:
    """Build the controller and the sync from the entry options; nothing runs yet."""
    options = entry.options
    controller = AlarmController(
        hass,
        alarm_config(options),
        users=users(options),
        sensors=sensors(options),
        lockout=lockout(options),
        notifier=AlarmNotifier(hass, NotifySettings.from_options(options)),
    )
    sync = AlarmSync(hass, entry, controller, SyncSettings.from_options(options))
    return controller, sync


async def async_start_alarm(entry: RoomDbConfigEntry) -> None:
    """Restore the panel and the sync, subscribe, catch up on timers and reconcile once.

    The caller stops both (sync first), which saves their state.
    """
    controller = entry.runtime_data.alarm
    sync = entry.runtime_data.alarm_sync
    await controller.async_load()
    await sync.async_load()
    # The sync listens before the controller catches up, so a delay that ran out while Home
    # Assistant was down is pushed like any other change.
    sync.async_start()
    controller.async_start()
    sync.async_reconcile_now()
    # Sensors last: what the target did while Home Assistant was down (a disarm) counts before a
    # door that is open now is taken as opened.
    controller.async_watch_sensors()


async def async_remove_alarm_stores(hass: HomeAssistant) -> None:
    """Delete the alarm's Store files (the config entry was removed)."""
    for key in (ALARM_STORE_KEY, SYNC_STORE_KEY):
        # Removing ignores the version: the oldest one serves for both files.
        await Store[dict[str, object]](hass, STORE_VERSION, key).async_remove()
