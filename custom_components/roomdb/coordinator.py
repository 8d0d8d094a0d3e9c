"""Push-updated snapshot of RoomDB's health that the entities read.

Nothing is polled: the database reports each commit, and the snapshot is refreshed once a short
cooldown has passed, so a burst of writes costs one refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
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
        )
        self.database = database
        self._timer: CALLBACK_TYPE | None = None
        self._dirty = False
        self._refreshing = False
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
        """Refresh once the cooldown has passed (called after each commit).

        A burst of commits costs one refresh. A commit that lands while a refresh is already
        reading gets a refresh of its own afterwards: a request must never be absorbed by a
        refresh that began before it (Home Assistant's debouncer drops a call whose timer ends
        while another call runs, which left the counts stale until the next write).
        """
        self._dirty = True
        if self._timer is None and not self._refreshing:
            self._timer = async_call_later(
                self.hass,
                REFRESH_COOLDOWN,
                HassJob(self._async_cooldown_over, cancel_on_shutdown=True),
            )

    async def _async_cooldown_over(self, _now: datetime) -> None:
        self._timer = None
        self._dirty = False
        self._refreshing = True
        try:
            await self.async_refresh()
        finally:
            self._refreshing = False
        if self._dirty:
            self.async_schedule_refresh()

    @override
    async def async_shutdown(self) -> None:
        """Cancel a pending refresh with the coordinator's own shutdown."""
        if self._timer is not None:
            self._timer()
            self._timer = None
        self._dirty = False
        await super().async_shutdown()
