"""Home Assistant backup hooks: make roomdb.db consistent on disk while a backup reads it."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from .const import DOMAIN
from .data import RoomDbConfigEntry


def _loaded_entries(hass: HomeAssistant) -> list[RoomDbConfigEntry]:
    return hass.config_entries.async_loaded_entries(DOMAIN)


async def async_pre_backup(hass: HomeAssistant) -> None:
    """Flush queued rows, checkpoint the WAL into the main file and hold writes."""
    for entry in _loaded_entries(hass):
        await entry.runtime_data.database.pause_writes()


async def async_post_backup(hass: HomeAssistant) -> None:
    """Let held writes proceed."""
    for entry in _loaded_entries(hass):
        entry.runtime_data.database.resume_writes()
