"""Push-updated snapshot of RoomDB's health that the entities read.

Nothing is polled: the database reports each commit, and the snapshot is refreshed through the
coordinator's debouncer, so a burst of writes costs one refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import DOMAIN, LOGGER
from .db.database import Database, DatabaseError, DatabaseStats
from .events.stats import EventStreamStats
from .ml.status import MlStatus
from .registry.counts import RegistryCounts, async_registry_counts

REFRESH_COOLDOWN = timedelta(seconds=5)


@dataclass(slots=True, frozen=True)
class RoomDbSnapshot:
    """What the entities show; one immutable value per refresh."""

    database: DatabaseStats
    registry: RegistryCounts
    events: EventStreamStats
    ml: MlStatus


type PartsReader = Callable[[], tuple[EventStreamStats, MlStatus]]
"""Reads the event stream's and the ML layer's figures (they exist once setup has built them)."""


class RoomDbCoordinator(DataUpdateCoordinator[RoomDbSnapshot]):
    """Holds the latest snapshot; refreshed after writes, never on a timer."""

    config_entry: ConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, database: Database, parts: PartsReader
    ) -> None:
        """Create the coordinator for one entry's database."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=DOMAIN,
            update_interval=None,
            request_refresh_debouncer=Debouncer(
                hass,
                LOGGER,
                cooldown=REFRESH_COOLDOWN.total_seconds(),
                immediate=False,
            ),
        )
        self.database = database
        self._parts = parts

    @override
    async def _async_update_data(self) -> RoomDbSnapshot:
        """Collect the snapshot from the database."""
        try:
            stats = await self.database.stats()
            registry = await async_registry_counts(self.database)
        except (DatabaseError, OSError) as err:
            raise UpdateFailed(
                translation_domain=DOMAIN, translation_key="database_unavailable"
            ) from err
        events, ml = self._parts()
        return RoomDbSnapshot(database=stats, registry=registry, events=events, ml=ml)

    @callback
    def async_schedule_refresh(self) -> None:
        """Ask for a debounced refresh (called after each commit)."""
        self.hass.async_create_background_task(
            self.async_request_refresh(), f"{DOMAIN} snapshot refresh", eager_start=True
        )
