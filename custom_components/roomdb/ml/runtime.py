"""Wires the ML data layer together for one config entry: ingest, labels, pipeline, schedule.

The full pipeline runs nightly at 04:30 local time (after the day the routine-change detector
reads has ended at 04:00); every 15 minutes a light refresh computes the new windows and
P(asleep). Both, and the first refresh after setup, run as tasks this runtime owns and cancels on
unload, before the database closes.

Time RoomDB was not recording (Home Assistant stopped, RoomDB unloaded or crashed) is stored as a
recording gap at start-up: from the last moment RoomDB knew it was running (stamped at every run
and at stop) to now. The windows in it are unobserved, not quiet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_change
from homeassistant.util import dt as dt_util

from ..coordinator import RoomDbCoordinator
from ..db.database import Database
from ..log import get_logger
from ..rooms.mapping_manager import MappingManager
from ..timestamps import utc_iso, utc_now_iso
from . import store
from .contracts import async_check_contracts
from .history import HistoryImporter
from .ingest import Ingestor, RawEventWriter
from .label_source import LabelReading, LabelSource
from .options import MlSettings
from .pipeline import (
    META_ALIVE,
    REFRESH_STAGES,
    STAGES,
    TRAIN_STAGES,
    UPGRADE_STAGES,
    MlPipeline,
    StageResult,
)
from .status import MlStatus

_LOGGER = get_logger(__name__)

NIGHTLY_TIME: Final = {"hour": 4, "minute": 30, "second": 0}
SHORTEST_GAP: Final = 60.0
"""A restart shorter than this loses no window worth marking."""
REFRESH_TIME: Final = {"minute": "/15", "second": 20}
"""20 s after each window closes, so the writer has flushed the window's last events."""


class MlRuntime:
    """The ML data layer of one loaded entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        database: Database,
        coordinator: RoomDbCoordinator,
        settings: MlSettings,
        mapping: MappingManager | None,
    ) -> None:
        """Build the parts; nothing runs until `async_start`."""
        self.hass = hass
        self.database = database
        self.coordinator = coordinator
        self.settings = settings
        self.writer = RawEventWriter(database)
        self.ingestor = Ingestor(hass, self.writer, settings, mapping)
        self.labels = LabelSource(hass, database, settings, self._async_label_read)
        self.pipeline = MlPipeline(hass, database, settings, self.labels, self._status_changed)
        self.importer = HistoryImporter(
            hass, database, self.ingestor, self.pipeline.show_import, self._async_imported
        )
        self._unsubscribers: list[CALLBACK_TYPE] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsub_stop: CALLBACK_TYPE | None = None
        self.contract_problems: tuple[str, ...] = ()

    @property
    def status(self) -> MlStatus:
        """The current status (what the entities show)."""
        return self.pipeline.status

    async def async_start(self) -> None:
        """Check the contract, restore the status, start listening and scheduling."""
        report = await async_check_contracts(self.database)
        self.contract_problems = report.problems
        for problem in report.problems:
            _LOGGER.error("ML contract view check failed: %s", problem)
        await self.pipeline.async_load()
        await self._async_record_gap()
        self.ingestor.async_start()
        self.labels.async_start()
        self._unsubscribers = [
            async_track_time_change(self.hass, self._nightly, **NIGHTLY_TIME),
            async_track_time_change(self.hass, self._refresh, **REFRESH_TIME),
        ]
        self._unsub_stop = self.hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_STOP, self._async_stop_on_event
        )
        first = UPGRADE_STAGES if self.pipeline.model_outdated else REFRESH_STAGES
        self._spawn(self.pipeline.async_run_if_idle(first), "first refresh")
        # In the background: the recorder's history takes a while and nothing waits for it.
        self._spawn(self.importer.async_first_setup(), "history import")

    async def _async_record_gap(self) -> None:
        """Store the time since RoomDB last knew it was recording as a gap, then stamp now."""
        alive = await self.database.get_metadata(META_ALIVE)
        now = dt_util.utcnow()
        last = dt_util.parse_datetime(alive) if alive else None
        if last is not None and (now - last).total_seconds() > SHORTEST_GAP:
            await store.async_add_gap(self.database, last.timestamp(), now.timestamp())
        await self.database.set_metadata({META_ALIVE: utc_iso(now)})

    async def async_stop(self) -> None:
        """Stop listening and scheduling; cancel a run in progress."""
        if self._unsubscribers and self.database.is_open:
            await self.database.set_metadata({META_ALIVE: utc_now_iso()})
        while self._unsubscribers:
            self._unsubscribers.pop()()
        if self._unsub_stop is not None:
            self._unsub_stop()
            self._unsub_stop = None
        self.labels.async_stop()
        self.ingestor.async_stop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def async_run(self, stages: Sequence[str] = STAGES) -> dict[str, StageResult]:
        """Run the pipeline now (the `run_pipeline` action)."""
        return await self.pipeline.async_run(stages)

    def diagnostics(self) -> dict[str, Any]:
        """Counters and status for the entry's diagnostics."""
        status = self.status
        return {
            "queued_events": self.writer.queued,
            "tracked_entities": len(self.ingestor.tracked_entities),
            "readiness": status.readiness,
            **status.readiness_attributes(),
            "contract_problems": list(self.contract_problems),
        }

    async def _async_stop_on_event(self, _event: Event) -> None:
        """Stop at `homeassistant_stop`, before the database closes at final write."""
        self._unsub_stop = None  # a one-time listener is gone once it fired
        await self.async_stop()

    @callback
    def _status_changed(self, status: MlStatus) -> None:
        """Push the new status to the entities (the snapshot's other parts stay as they are)."""
        if self.coordinator.data is not None:
            self.coordinator.async_set_updated_data(replace(self.coordinator.data, ml=status))

    async def _async_label_read(self, reading: LabelReading) -> None:
        await self.async_label_stored(reading)

    async def async_label_stored(self, reading: LabelReading) -> None:
        """Take a label reading (helpers, panel, a confirmed night) into the status.

        A new or changed label trains the model right away once there are enough nights, instead
        of at the next nightly run.
        """
        await self.pipeline.async_label_read(reading)
        if not reading.changed:
            return
        await self.pipeline.async_refresh_suggestions()
        if self.status.nights_needed == 0:
            self._spawn(self.pipeline.async_run(TRAIN_STAGES), "training")

    async def _async_imported(self, since: float) -> None:
        await self.pipeline.async_after_import(since)

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = self.hass.async_create_background_task(coro, f"roomdb ml {name}", eager_start=True)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @callback
    def _nightly(self, _now: datetime) -> None:
        self._spawn(self.pipeline.async_run(STAGES), "nightly pipeline")

    @callback
    def _refresh(self, _now: datetime) -> None:
        self._spawn(self.pipeline.async_run_if_idle(REFRESH_STAGES), "refresh")
