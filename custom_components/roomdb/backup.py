"""Home Assistant backup hooks: make roomdb.db consistent on disk while a backup reads it."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from .service_support import loaded_entry


async def async_pre_backup(hass: HomeAssistant) -> None:
    """Flush queued rows, checkpoint the WAL into the main file and hold writes."""
    if (entry := loaded_entry(hass)) is not None:
        await entry.runtime_data.database.pause_writes()


async def async_post_backup(hass: HomeAssistant) -> None:
    """Let held writes proceed."""
    if (entry := loaded_entry(hass)) is not None:
        entry.runtime_data.database.resume_writes()
