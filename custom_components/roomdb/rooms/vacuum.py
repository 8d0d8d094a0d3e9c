"""Vacuum pipeline (replaces AppDaemon's valetudo_default_activity).

Trigger: a room clean. RoomDB notices the request on the event bus, either

* ``vacuum.clean_area`` (HA 2026.3+; ``cleaning_area_id`` are HA areas, matched to rooms by the
  room's ``area_id``, or by its ``segment_id`` through the vacuum's registry ``area_mapping``), or
* ``vacuum.send_command`` with a segment-clean command (``app_segment_clean``, ``segment_clean``,
  ``clean_segment``, ``clean_segments``; Roborock, Valetudo bridges) whose params name segment ids,
  matched to rooms by ``segment_id``,

and waits for that vacuum to report ``cleaning`` and then finish (``returning``, ``docked`` or
``idle``; ``error`` drops the job). Then it writes, for each room of the job,

``vacuum_control: {"last_cleaned": <ISO time>, "last_cleaned_by": <entity_id>, "last_result":
"completed"}`` (patch mode: ``enabled``, ``segment_id`` and user keys are kept).

With ``optimistic_writeback`` (off by default) it writes at request time instead, with
``last_result: "requested"``, without waiting for the vacuum. With ``dry_run`` it only logs (and
lists in the health endpoint) what it would write and whether admission would allow it.

Only ``vacuum_control`` is ever written — never ``motion_lighting`` — and admission refuses rooms
without the capability or without a ``segment_id``, so a request naming such a room writes nothing
for it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.const import ATTR_ENTITY_ID, EVENT_CALL_SERVICE
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import TrackStates, async_track_state_change_filtered
from homeassistant.util import dt as dt_util

from ..log import get_logger
from .admission import admit
from .mapping import VACUUM_DOMAIN as VACUUM_CONTROL, AreaMapping
from .mapping_manager import MappingManager
from .pipeline_writer import PipelineWriter

_LOGGER = get_logger(__name__)

VACUUM: Final = "vacuum"
SERVICE_CLEAN_AREA: Final = "clean_area"
SERVICE_SEND_COMMAND: Final = "send_command"
SEGMENT_COMMANDS: Final = frozenset(
    {"app_segment_clean", "segment_clean", "clean_segment", "clean_segments"}
)
STATE_CLEANING: Final = "cleaning"
FINISHED_STATES: Final = frozenset({"returning", "docked", "idle"})
STATE_ERROR: Final = "error"
JOB_TIMEOUT: Final = timedelta(hours=4)
DRY_RUN_LOG_SIZE: Final = 20
ANY_VACUUM: Final = "*"


@dataclass(slots=True)
class CleaningJob:
    """A requested room clean that has not finished yet."""

    room_ids: tuple[str, ...]
    requested_at: datetime
    started: bool = False
    entity_ids: tuple[str, ...] = field(default_factory=tuple)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | int):
        return [value]
    if isinstance(value, Iterable):
        return list(value)
    return []


def command_segments(params: Any) -> list[str]:
    """Segment ids from a segment-clean command's params (list, or a dict naming them)."""
    if isinstance(params, Mapping):
        for key in ("segment_ids", "segments", "segment_id", "rooms"):
            if key in params:
                return [str(s) for s in _as_list(params[key])]
        return []
    return [str(s) for s in _as_list(params)]


def area_mapping_of(hass: HomeAssistant, entity_id: str) -> dict[str, list[str]]:
    """The vacuum's registry ``area_mapping`` option (``{area_id: [segment ids]}``)."""
    entry = er.async_get(hass).async_get(entity_id)
    if entry is None:
        return {}
    options: Mapping[str, Any] = entry.options.get(VACUUM) or {}
    raw = options.get("area_mapping")
    if not isinstance(raw, Mapping):
        return {}
    return {str(area): [str(s) for s in _as_list(segs)] for area, segs in raw.items()}


def rooms_for_request(
    mapping: AreaMapping,
    area_ids: Iterable[str] = (),
    segment_ids: Iterable[str] = (),
) -> tuple[str, ...]:
    """Mapped rooms named by HA areas or by vacuum segment ids (document order, no repeats)."""
    areas, segments = set(area_ids), set(segment_ids)
    return tuple(
        room.room_id
        for room in mapping.rooms.values()
        if (room.area_id is not None and room.area_id in areas)
        or (room.segment_id is not None and room.segment_id in segments)
    )


class VacuumPipeline:
    """Writes ``last_cleaned`` into ``vacuum_control`` when a room clean finishes."""

    def __init__(
        self,
        hass: HomeAssistant,
        writer: PipelineWriter,
        mapping: MappingManager,
        *,
        dry_run: bool = False,
        optimistic_writeback: bool = False,
    ) -> None:
        """Create the pipeline (nothing is watched until :meth:`async_start`)."""
        self.hass = hass
        self.writer = writer
        self.mapping = mapping
        self.dry_run = dry_run
        self.optimistic_writeback = optimistic_writeback
        self.jobs: dict[str, CleaningJob] = {}
        self.dry_run_log: deque[dict[str, Any]] = deque(maxlen=DRY_RUN_LOG_SIZE)
        self._unsubscribers: list[CALLBACK_TYPE] = []

    @callback
    def async_start(self) -> None:
        """Listen for clean requests and vacuum state changes."""
        self._unsubscribers.append(
            self.hass.bus.async_listen(
                EVENT_CALL_SERVICE, self._async_service_called, event_filter=_is_vacuum_call
            )
        )
        tracker = async_track_state_change_filtered(
            self.hass, TrackStates(False, set(), {VACUUM}), self._async_vacuum_changed
        )
        self._unsubscribers.append(tracker.async_remove)

    @callback
    def async_stop(self) -> None:
        """Stop listening; forget unfinished jobs; cancel pending retries."""
        while self._unsubscribers:
            self._unsubscribers.pop()()
        self.jobs.clear()
        self.writer.async_stop()

    # -- requests ------------------------------------------------------------------------------

    async def _async_service_called(self, event: Event[Any]) -> None:
        service = event.data.get("service")
        data: Mapping[str, Any] = event.data.get("service_data") or {}
        entity_ids = tuple(str(e) for e in _as_list(data.get(ATTR_ENTITY_ID)))
        mapping = self.mapping.mapping
        if service == SERVICE_CLEAN_AREA:
            area_ids = [str(a) for a in _as_list(data.get("cleaning_area_id"))]
            segments = [
                segment
                for entity_id in entity_ids
                for area_id, segs in area_mapping_of(self.hass, entity_id).items()
                if area_id in area_ids
                for segment in segs
            ]
            room_ids = rooms_for_request(mapping, area_ids, segments)
        elif service == SERVICE_SEND_COMMAND and data.get("command") in SEGMENT_COMMANDS:
            room_ids = rooms_for_request(mapping, (), command_segments(data.get("params")))
        else:
            return
        if not room_ids:
            _LOGGER.debug("Clean request %s names no mapped room", service)
            return
        now = dt_util.utcnow()
        if self.optimistic_writeback:
            by = entity_ids[0] if entity_ids else None
            await self._async_write_rooms(room_ids, by, now, "requested")
            return
        self._expire_jobs(now)
        for key in entity_ids or (ANY_VACUUM,):
            self.jobs[key] = CleaningJob(room_ids, now, entity_ids=entity_ids)
        _LOGGER.debug("Waiting for %s to clean %s", entity_ids or "a vacuum", list(room_ids))

    def _expire_jobs(self, now: datetime) -> None:
        for key, job in list(self.jobs.items()):
            if now - job.requested_at > JOB_TIMEOUT:
                del self.jobs[key]

    # -- completion ----------------------------------------------------------------------------

    async def _async_vacuum_changed(self, event: Event[EventStateChangedData]) -> None:
        entity_id = event.data["entity_id"]
        new_state = event.data["new_state"]
        key = entity_id if entity_id in self.jobs else ANY_VACUUM
        job = self.jobs.get(key)
        if job is None or new_state is None:
            return
        if new_state.state == STATE_CLEANING:
            job.started = True
            return
        if not job.started:
            return
        if new_state.state == STATE_ERROR:
            _LOGGER.warning(
                "%s reported an error; rooms %s not marked cleaned", entity_id, job.room_ids
            )
            self._finish(job)
            return
        if new_state.state in FINISHED_STATES:
            self._finish(job)
            await self._async_write_rooms(job.room_ids, entity_id, dt_util.utcnow(), "completed")

    def _finish(self, job: CleaningJob) -> None:
        for key, other in list(self.jobs.items()):
            if other is job:
                del self.jobs[key]

    async def _async_write_rooms(
        self, room_ids: Iterable[str], entity_id: str | None, now: datetime, result: str
    ) -> None:
        patch = {
            "last_cleaned": now.isoformat(timespec="seconds"),
            "last_cleaned_by": entity_id,
            "last_result": result,
        }
        for room_id in room_ids:
            if self.dry_run:
                admission = admit(self.mapping.mapping, VACUUM_CONTROL, room_id)
                entry = {
                    "domain": VACUUM_CONTROL,
                    "room_id": room_id,
                    "config_data": patch,
                    "admitted": admission.ok,
                    "reason": admission.denial.reason.value if admission.denial else None,
                    "at": now.isoformat(timespec="seconds"),
                }
                self.dry_run_log.append(entry)
                _LOGGER.info(
                    "Dry run: would write %s for room %s: %s (%s)",
                    VACUUM_CONTROL,
                    room_id,
                    patch,
                    "admitted" if admission.ok else f"denied: {entry['reason']}",
                )
                continue
            await self.writer.async_write(VACUUM_CONTROL, room_id, patch)

    def health(self) -> dict[str, Any]:
        """Status for the health endpoint."""
        return {
            "enabled": True,
            "dry_run": self.dry_run,
            "optimistic_writeback": self.optimistic_writeback,
            "pending_jobs": {key: list(job.room_ids) for key, job in self.jobs.items()},
            "dry_run_log": list(self.dry_run_log),
            **self.writer.health(),
        }


@callback
def _is_vacuum_call(event_data: Mapping[str, Any]) -> bool:
    return bool(event_data.get("domain") == VACUUM)
