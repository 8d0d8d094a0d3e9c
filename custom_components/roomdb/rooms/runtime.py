"""Wires the room database together for one config entry.

``RoomsRuntime`` owns the mapping manager, the write limiter, the store (the one write path), the
exporter and the two pipelines, and is what services, HTTP views, sensors and diagnostics talk to.
After every committed change it fires ``roomdb_config_changed`` and schedules the export; after
every write attempt it tells the entities (debounced) that counters moved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Context, Event, HomeAssistant, callback
from homeassistant.helpers.debounce import Debouncer

from ..const import EVENT_CONFIG_CHANGED, SEED_DEFAULTS
from ..db.database import Database
from ..log import get_logger
from .activity import ActivityPipeline
from .admission import plan_seed
from .export import Exporter
from .limiter import WriteLimiter
from .mapping import VACUUM_DOMAIN, AreaMapping
from .mapping_diff import MappingDiff
from .mapping_manager import MappingManager
from .options import RoomsSettings
from .pipeline_writer import PipelineWriter
from .store import ConfigChange, RoomConfigStore, WriteMode, WriteRequest, WriteResult
from .vacuum import VacuumPipeline

_LOGGER = get_logger(__name__)

NOTIFY_COOLDOWN: Final = 1.0
"""Entities are told about counter changes at most once per second (first call immediately)."""


def seed_requests(
    mapping: AreaMapping, domains: Iterable[str] | None, rooms: Iterable[str] | None
) -> tuple[list[WriteRequest], list[dict[str, str]]]:
    """The seed items for the allowed pairs (defaults per domain) and the skipped pairs."""
    plan = plan_seed(mapping, domains, rooms)
    requests: list[WriteRequest] = []
    for domain, room_id in plan.allowed:
        data: dict[str, Any] = dict(SEED_DEFAULTS.get(domain, {}))
        if domain == VACUUM_DOMAIN:
            data["segment_id"] = mapping.rooms[room_id].segment_id
        requests.append(WriteRequest(domain, room_id, data, WriteMode.FILL))
    skipped = [denial.placeholders for denial in plan.skipped]
    return requests, skipped


class RoomsRuntime:
    """The room database of one loaded entry."""

    def __init__(self, hass: HomeAssistant, database: Database, settings: RoomsSettings) -> None:
        """Build the parts; nothing runs until :meth:`async_start`."""
        self.hass = hass
        self.settings = settings
        self.mapping = MappingManager(hass, settings.mapping_path)
        self.limiter = WriteLimiter(settings.write_interval, settings.write_jitter)
        self.store = RoomConfigStore(
            database,
            lambda: self.mapping.mapping,
            self.limiter,
            on_change=self._on_change,
        )
        self.store.on_counted = self.async_notify
        self.mapping.on_read = self.async_notify
        self.exporter = Exporter(hass, self.store, settings.export_path)
        self.activity: ActivityPipeline | None = None
        if settings.activity_enabled:
            self.activity = ActivityPipeline(
                hass, PipelineWriter(hass, self.store, "activity"), self.mapping
            )
        self.vacuum: VacuumPipeline | None = None
        if settings.vacuum_enabled:
            self.vacuum = VacuumPipeline(
                hass,
                PipelineWriter(hass, self.store, "vacuum"),
                self.mapping,
                dry_run=settings.vacuum_dry_run,
                optimistic_writeback=settings.vacuum_optimistic_writeback,
            )
        self._listeners: list[CALLBACK_TYPE] = []
        self._notifier = Debouncer(
            hass,
            _LOGGER,
            cooldown=NOTIFY_COOLDOWN,
            immediate=True,
            function=self._notify_listeners,
        )
        self._unsub_mapping: CALLBACK_TYPE | None = None
        self._stopped = False
        self._unsub_stop: CALLBACK_TYPE | None = None

    async def async_start(self) -> None:
        """Load the mapping, then start watching the file and the pipelines."""
        await self.mapping.async_load()
        self.mapping.async_start()
        self._unsub_mapping = self.mapping.async_add_listener(self._mapping_changed)
        if self.activity is not None:
            await self.activity.async_start()
        if self.vacuum is not None:
            self.vacuum.async_start()
        self._unsub_stop = self.hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_STOP, self._async_stop_on_event
        )

    async def _async_stop_on_event(self, _event: Event) -> None:
        """Stop at ``homeassistant_stop``, before the database closes at final write."""
        self._unsub_stop = None
        await self.async_stop()

    async def async_stop(self) -> None:
        """Stop pipelines and watchers; write a pending export before the database closes."""
        if self._stopped:
            return
        self._stopped = True
        if self._unsub_stop is not None:
            self._unsub_stop()
            self._unsub_stop = None
        if self.activity is not None:
            self.activity.async_stop()
        if self.vacuum is not None:
            self.vacuum.async_stop()
        if self._unsub_mapping is not None:
            self._unsub_mapping()
            self._unsub_mapping = None
        self.mapping.async_stop()
        self._notifier.async_shutdown()
        await self.exporter.async_stop()

    # -- change fan-out ------------------------------------------------------------------------

    @callback
    def _on_change(self, changes: list[ConfigChange], context: Any) -> None:
        event_context = context if isinstance(context, Context) else None
        for change in changes:
            self.hass.bus.async_fire(
                EVENT_CONFIG_CHANGED, change.as_event_data(), context=event_context
            )
        self.exporter.async_schedule()

    @callback
    def _mapping_changed(self, _mapping: AreaMapping, _diff: MappingDiff) -> None:
        self.async_notify()

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call ``listener()`` after counters or the mapping changed (debounced)."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            self._listeners.remove(listener)

        return remove

    @callback
    def async_notify(self) -> None:
        """Tell the entities to re-read (first call at once, then at most once a second)."""
        self._notifier.async_schedule_call()

    @callback
    def _notify_listeners(self) -> None:
        for listener in list(self._listeners):
            listener()

    # -- operations used by the services -------------------------------------------------------

    async def async_seed(
        self,
        domains: Iterable[str] | None,
        rooms: Iterable[str] | None,
        *,
        dry_run: bool,
        context: Any = None,
    ) -> dict[str, Any]:
        """Seed the allowed pairs with the configured defaults (filling missing keys only)."""
        requests, skipped = seed_requests(self.mapping.mapping, domains, rooms)
        results: list[WriteResult]
        if dry_run:
            results = await self.store.preview(requests)
        else:
            results = await self.store.bulk_upsert(requests, source="seed", context=context)
        items = []
        for result in results:
            item = result.as_item()
            if dry_run and result.config_data is not None:
                item["config_data"] = result.config_data
            items.append(item)
        return {
            "status": "ok" if all(r.ok for r in results) else "partial",
            "dry_run": dry_run,
            "results": items,
            "skipped": skipped,
            "counts": _counts(results),
        }

    def health(self) -> dict[str, Any]:
        """Counters, limiter, mapping, export and pipeline status (HTTP health, diagnostics)."""
        return {
            "status": "ok",
            "counters": self.store.counters.as_dict(),
            "limiter": self.limiter.snapshot(self.store.clock()),
            "mapping": self.mapping.health(),
            "export": self.exporter.health(),
            "pipelines": {
                "activity": self.activity.health() if self.activity else {"enabled": False},
                "vacuum": self.vacuum.health() if self.vacuum else {"enabled": False},
            },
        }


def _counts(results: Iterable[WriteResult]) -> dict[str, int]:
    counts = {"ok": 0, "denied": 0, "retry": 0, "error": 0}
    for result in results:
        counts[result.status.value] += 1
    return counts
