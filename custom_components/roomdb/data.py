"""The runtime object behind a loaded RoomDB config entry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

if TYPE_CHECKING:
    from .coordinator import RoomDbCoordinator
    from .db.database import Database


@dataclass(slots=True)
class RoomDbData:
    """Everything a loaded entry owns; `async_unload_entry` releases all of it."""

    database: Database
    coordinator: RoomDbCoordinator
    config_dir: Path


type RoomDbConfigEntry = ConfigEntry[RoomDbData]
