"""Activity pipeline (replaces AppDaemon's activity_tracker).

Watches the motion, occupancy and presence binary sensors in each mapped room's HA area (the
entity's own area, else its device's area) and keeps the room's ``activity`` config current:

``{"active", "active_since", "last_active", "active_minutes_today", "date", "last_entity"}``

A room is active while at least one of its sensors is ``on``. The config is written when a room
becomes active and when it becomes inactive (then ``active_minutes_today`` grows by the time it was
active today, local time; the count starts over on a new ``date``). Only rooms whose ``activity``
capability the mapping admits are watched; writes go through :class:`PipelineWriter`, i.e. the
store's admission + limiter path with dedupe and backoff, in ``patch`` mode so keys a user added to
the activity config are kept. The entity→room map is rebuilt when the mapping or the entity/device
registries change. The pipeline can be switched off in the options (e.g. during a bulk reseed).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from homeassistant.const import STATE_ON
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util

from ..log import get_logger
from ..timestamps import iso
from .admission import admit
from .mapping import AreaMapping
from .mapping_diff import MappingDiff
from .mapping_manager import MappingManager
from .pipeline_writer import PipelineWriter

_LOGGER = get_logger(__name__)

ACTIVITY_DOMAIN: Final = "activity"
SENSOR_DOMAIN: Final = "binary_sensor"
ACTIVITY_DEVICE_CLASSES: Final = frozenset({"motion", "occupancy", "presence"})
REBUILD_COOLDOWN: Final = 1.0
RESTORED: Final = "<restored>"
"""Stands in for the sensors of a room that was active when HA stopped."""


@dataclass(slots=True)
class RoomActivity:
    """What the pipeline knows about one room."""

    room_id: str
    active_entities: set[str] = field(default_factory=set)
    active_since: datetime | None = None
    last_active: datetime | None = None
    minutes_today: float = 0.0
    day: date | None = None
    last_entity: str | None = None
    restored: bool = False
    """Active when HA stopped: the downtime is not counted as active time."""

    def _roll_day(self, now: datetime) -> None:
        today = dt_util.as_local(now).date()
        if self.day != today:
            self.day = today
            self.minutes_today = 0.0

    def start(self, now: datetime, entity_id: str | None) -> None:
        """The room became active."""
        self._roll_day(now)
        self.active_since = now
        self.last_active = now
        self.last_entity = entity_id

    def stop(self, now: datetime, entity_id: str | None) -> None:
        """The room became inactive: count the active time that fell on today."""
        self._roll_day(now)
        if self.active_since is not None and not self.restored:
            midnight = dt_util.start_of_local_day(dt_util.as_local(now))
            begin = max(self.active_since, midnight)
            if now > begin:
                self.minutes_today += (now - begin).total_seconds() / 60
        self.active_since = None
        self.restored = False
        self.last_active = now
        self.last_entity = entity_id

    def payload(self) -> dict[str, Any]:
        """The ``activity`` config keys the pipeline owns."""
        return {
            "active": self.active_since is not None,
            "active_since": iso(self.active_since, timespec="seconds"),
            "last_active": iso(self.last_active, timespec="seconds"),
            "active_minutes_today": round(self.minutes_today, 1),
            "date": self.day.isoformat() if self.day else None,
            "last_entity": self.last_entity,
        }


def activity_entities(hass: HomeAssistant, mapping: AreaMapping) -> dict[str, list[str]]:
    """``{entity_id: [room_id, ...]}`` for the activity sensors of rooms admitting ``activity``."""
    area_rooms: dict[str, list[str]] = {}
    for room in mapping.rooms.values():
        if room.area_id and admit(mapping, ACTIVITY_DOMAIN, room.room_id).ok:
            area_rooms.setdefault(room.area_id, []).append(room.room_id)
    if not area_rooms:
        return {}
    devices = dr.async_get(hass)
    result: dict[str, list[str]] = {}
    for entry in er.async_get(hass).entities.values():
        if entry.domain != SENSOR_DOMAIN or entry.disabled_by is not None:
            continue
        if (entry.device_class or entry.original_device_class) not in ACTIVITY_DEVICE_CLASSES:
            continue
        area_id = entry.area_id
        if area_id is None and entry.device_id is not None:
            device = devices.async_get(entry.device_id)
            area_id = device.area_id if device is not None else None
        if area_id is not None and area_id in area_rooms:
            result[entry.entity_id] = list(area_rooms[area_id])
    return result


class ActivityPipeline:
    """Keeps each mapped room's ``activity`` config in step with its sensors."""

    def __init__(
        self, hass: HomeAssistant, writer: PipelineWriter, mapping: MappingManager
    ) -> None:
        """Create the pipeline (nothing is watched until :meth:`async_start`)."""
        self.hass = hass
        self.writer = writer
        self.mapping = mapping
        self.rooms: dict[str, RoomActivity] = {}
        self.entity_rooms: dict[str, list[str]] = {}
        self._unsub_states: CALLBACK_TYPE | None = None
        self._unsubscribers: list[CALLBACK_TYPE] = []
        self._debouncer: Debouncer[Any] | None = None
        self._rebuild: asyncio.Task[None] | None = None

    async def async_start(self) -> None:
        """Restore today's counts from the database, then start watching."""
        await self._async_restore()
        self._debouncer = Debouncer(
            self.hass,
            _LOGGER,
            cooldown=REBUILD_COOLDOWN,
            immediate=False,
            function=self._async_rebuild,
        )
        self._unsubscribers.append(self.mapping.async_add_listener(self._mapping_changed))
        for event_type in (er.EVENT_ENTITY_REGISTRY_UPDATED, dr.EVENT_DEVICE_REGISTRY_UPDATED):
            self._unsubscribers.append(
                self.hass.bus.async_listen(event_type, self._registry_changed)
            )
        await self._async_rebuild()

    @callback
    def async_stop(self) -> None:
        """Stop watching and cancel pending retries."""
        while self._unsubscribers:
            self._unsubscribers.pop()()
        if self._unsub_states is not None:
            self._unsub_states()
            self._unsub_states = None
        if self._debouncer is not None:
            self._debouncer.async_shutdown()
            self._debouncer = None
        if self._rebuild is not None:
            self._rebuild.cancel()
            self._rebuild = None
        self.writer.async_stop()

    async def _async_restore(self) -> None:
        today = dt_util.now().date()
        for room_id, stored in (await self.writer.store.get_domain(ACTIVITY_DOMAIN)).items():
            data = stored.config_data
            room = RoomActivity(room_id)
            last_active = data.get("last_active")
            if isinstance(last_active, str):
                room.last_active = dt_util.parse_datetime(last_active)
            if data.get("active") is True and isinstance(data.get("active_since"), str):
                room.active_since = dt_util.parse_datetime(data["active_since"])
                room.active_entities = {RESTORED}
                room.restored = True
            if data.get("date") == today.isoformat():
                minutes = data.get("active_minutes_today")
                if isinstance(minutes, int | float):
                    room.minutes_today = float(minutes)
                    room.day = today
            self.rooms[room_id] = room

    @callback
    def _mapping_changed(self, _mapping: AreaMapping, _diff: MappingDiff) -> None:
        # Tracked, so that stopping the pipeline cancels a rebuild still waiting on the database.
        self._rebuild = self.hass.async_create_background_task(
            self._async_rebuild(), "roomdb activity rebuild", eager_start=True
        )

    @callback
    def _registry_changed(self, _event: Event[Any]) -> None:
        if self._debouncer is not None:
            self._debouncer.async_schedule_call()

    async def _async_rebuild(self) -> None:
        """Re-derive the entity→room map, re-subscribe and write any transitions it reveals."""
        self.entity_rooms = activity_entities(self.hass, self.mapping.mapping)
        if self._unsub_states is not None:
            self._unsub_states()
            self._unsub_states = None
        if self.entity_rooms:
            self._unsub_states = async_track_state_change_event(
                self.hass, list(self.entity_rooms), self._async_state_changed
            )
        watched: dict[str, set[str]] = {}
        for entity_id, room_ids in self.entity_rooms.items():
            for room_id in room_ids:
                watched.setdefault(room_id, set())
                state = self.hass.states.get(entity_id)
                if state is not None and state.state == STATE_ON:
                    watched[room_id].add(entity_id)
        for room in self.rooms.values():
            # Rooms active before (restored, or whose sensors left the map) are re-evaluated.
            if room.active_entities:
                watched.setdefault(room.room_id, set())
        _LOGGER.debug(
            "Watching %s sensor(s) in %s room(s) for activity", len(self.entity_rooms), len(watched)
        )
        now = dt_util.utcnow()
        for room_id, active in watched.items():
            room = self.rooms.setdefault(room_id, RoomActivity(room_id))
            await self._async_transition(room, active, now, None)

    async def _async_state_changed(self, event: Event[EventStateChangedData]) -> None:
        entity_id = event.data["entity_id"]
        new_state = event.data["new_state"]
        is_on = new_state is not None and new_state.state == STATE_ON
        now = dt_util.utcnow()
        for room_id in self.entity_rooms.get(entity_id, ()):
            room = self.rooms.setdefault(room_id, RoomActivity(room_id))
            active = set(room.active_entities)
            if is_on:
                active.add(entity_id)
            else:
                active.discard(entity_id)
            await self._async_transition(room, active, now, entity_id)

    async def _async_transition(
        self, room: RoomActivity, active: set[str], now: datetime, entity_id: str | None
    ) -> None:
        was_active = bool(room.active_entities)
        room.active_entities = active
        if active and room.restored:
            # A sensor is still on after the restart: count the session from now on.
            room.restored = False
            room.active_since = now
        if active and not was_active:
            room.start(now, entity_id or min(active))
        elif was_active and not active:
            room.stop(now, entity_id)
        else:
            return
        await self.writer.async_write(ACTIVITY_DOMAIN, room.room_id, room.payload())

    def health(self) -> dict[str, Any]:
        """Status for the health endpoint."""
        return {
            "enabled": True,
            "watched_entities": len(self.entity_rooms),
            "active_rooms": sorted(r.room_id for r in self.rooms.values() if r.active_entities),
            **self.writer.health(),
        }
