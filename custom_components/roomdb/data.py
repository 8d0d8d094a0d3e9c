"""The runtime object behind a loaded RoomDB config entry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

if TYPE_CHECKING:
    from .alarm.controller import AlarmController
    from .alarm.sync import AlarmSync
    from .coordinator import RoomDbCoordinator
    from .db.database import Database
    from .events.runtime import EventStream
    from .ml.runtime import MlRuntime
    from .registry.runtime import RegistryMirror
    from .rooms.runtime import RoomsRuntime


@dataclass(slots=True)
class RoomDbData:
    """Everything a loaded entry owns; `async_unload_entry` releases all of it."""

    database: Database
    coordinator: RoomDbCoordinator
    config_dir: Path
    registry_mirror: RegistryMirror
    rooms: RoomsRuntime
    events: EventStream
    alarm: AlarmController
    alarm_sync: AlarmSync
    ml: MlRuntime


type RoomDbConfigEntry = ConfigEntry[RoomDbData]
