"""Keeps the mirror tables equal to HA's registries: a full sync at start, then every change.

Why it is built this way:
* Every change becomes a write in one ordered queue that a single writer task drains, one
  transaction per drain, so writes land in the order HA made the changes (a create followed by a
  remove ends with no row) and a burst (a device removal cascading into its entities) is one commit.
* A handler reads the registry entry when its event arrives instead of trusting the event's action.
  HA defers events fired while another event is being dispatched, so by then the registry may be
  ahead of the event; writing the current entry (or deleting the row when the entry is gone) is
  right either way.
* A full sync (at start, from `resync_registry`, or after a failed write) reads all registries in
  one synchronous step and replaces everything queued before it: nothing that happened earlier can
  overwrite the newer snapshot. A failed write drops what was queued; the next change (or a
  resync) writes a full sync instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
import json
import sqlite3
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
)
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
    floor_registry as fr,
)
from homeassistant.helpers.dispatcher import async_dispatcher_connect

from ..db.database import Database, DatabaseError
from ..log import get_logger
from .rows import (
    AREAS,
    CONFIG_ENTRIES,
    DEVICES,
    ENTITIES,
    ENTITY_STALE_SQL,
    FLOORS,
    TABLES,
    MirrorTable,
    Row,
)

if TYPE_CHECKING:
    import aiosqlite

_LOGGER = get_logger(__name__)

type RegistryCountsByTable = dict[str, int]


class MirrorWriteError(Exception):
    """A full sync could not be written (or the mirror is stopped)."""


@dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    """Every mirror row, read from the registries in one synchronous step."""

    rows: dict[str, list[Row]]

    @property
    def counts(self) -> RegistryCountsByTable:
        """Return the row count per table."""
        return {table: len(rows) for table, rows in self.rows.items()}


@dataclass(frozen=True, slots=True)
class _Statement:
    sql: str
    params: Row


@dataclass(slots=True)
class _FullSync:
    snapshot: RegistrySnapshot
    waiters: list[asyncio.Future[RegistryCountsByTable]]


type _Op = _Statement | _FullSync


class RegistryMirror:
    """Mirrors HA's registries into SQLite for one loaded entry."""

    def __init__(
        self, hass: HomeAssistant, database: Database, on_written: Callable[[], None]
    ) -> None:
        """Prepare the mirror; `on_written` runs after each committed write (refreshes counts)."""
        self._hass = hass
        self._database = database
        self._on_written = on_written
        self._pending: list[_Op] = []
        self._writer: asyncio.Task[None] | None = None
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self._needs_full_sync = False
        self._failing = False
        self._stopped = False

    async def async_start(self) -> None:
        """Subscribe to registry changes and write the first full sync.

        Subscribing and taking the snapshot happen without yielding to the loop, so no change can
        fall between them. A failed first sync is logged and retried with the next change.
        """
        bus = self._hass.bus
        self._unsubscribe = [
            bus.async_listen(ar.EVENT_AREA_REGISTRY_UPDATED, self._async_area_updated),
            bus.async_listen(fr.EVENT_FLOOR_REGISTRY_UPDATED, self._async_floor_updated),
            bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, self._async_device_updated),
            bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, self._async_entity_updated),
            async_dispatcher_connect(
                self._hass, SIGNAL_CONFIG_ENTRY_CHANGED, self._async_config_entry_changed
            ),
        ]
        try:
            await self.async_resync()
        except MirrorWriteError:
            _LOGGER.debug("First registry sync not written; the next change retries it")

    async def async_stop(self) -> None:
        """Stop listening and wait for the writer, so nothing is written after unload."""
        self._stopped = True
        while self._unsubscribe:
            self._unsubscribe.pop()()
        if self._writer is not None:
            await asyncio.wait([self._writer])

    async def async_resync(self) -> RegistryCountsByTable:
        """Write a full sync now and return the row count per table it wrote."""
        if self._stopped:
            raise MirrorWriteError("the registry mirror is stopped")
        waiter: asyncio.Future[RegistryCountsByTable] = self._hass.loop.create_future()
        self._async_queue_full_sync([waiter])
        return await waiter

    @callback
    def _async_snapshot(self) -> RegistrySnapshot:
        devices = dr.async_get(self._hass)
        return RegistrySnapshot(
            rows={
                FLOORS.name: [
                    FLOORS.row(floor) for floor in fr.async_get(self._hass).async_list_floors()
                ],
                AREAS.name: [
                    AREAS.row(area) for area in ar.async_get(self._hass).async_list_areas()
                ],
                DEVICES.name: [
                    *(DEVICES.row(device) for device in devices.devices),
                    *(DEVICES.row(device) for device in devices.child_devices),
                ],
                ENTITIES.name: [
                    ENTITIES.row(entity) for entity in er.async_get(self._hass).entities.values()
                ],
                CONFIG_ENTRIES.name: [
                    CONFIG_ENTRIES.row(entry) for entry in self._hass.config_entries.async_entries()
                ],
            }
        )

    @callback
    def _async_queue_full_sync(self, waiters: list[asyncio.Future[RegistryCountsByTable]]) -> None:
        """Replace everything queued with one fresh full sync that answers all waiters."""
        self._needs_full_sync = False
        for op in self._pending:
            if isinstance(op, _FullSync):
                waiters = [*op.waiters, *waiters]
        self._pending = [_FullSync(self._async_snapshot(), waiters)]
        self._async_ensure_writer()

    @callback
    def _async_queue(self, sql: str, params: Row) -> None:
        if self._needs_full_sync:
            # An earlier write was lost: the snapshot taken now includes this change too.
            self._async_queue_full_sync([])
            return
        self._pending.append(_Statement(sql, params))
        self._async_ensure_writer()

    @callback
    def _async_ensure_writer(self) -> None:
        if self._writer is None or self._writer.done():
            # Eager: the writer takes the database lock before anything queued behind it (such as
            # closing the database on unload) and collects what arrives while BEGIN runs.
            self._writer = self._hass.async_create_background_task(
                self._async_write(), "roomdb registry mirror", eager_start=True
            )

    async def _async_write(self) -> None:
        while self._pending:
            written: list[_Op] = []
            try:
                async with self._database.transaction() as conn:
                    while self._pending:
                        batch, self._pending = self._pending, []
                        written.extend(batch)
                        for op in batch:
                            await _async_apply(conn, op)
            except (sqlite3.Error, DatabaseError) as err:
                # Nothing of this transaction, nor what waits behind it, is in SQLite: drop it all
                # and let the next change (or resync) write a full sync instead.
                lost, self._pending = [*written, *self._pending], []
                self._async_write_failed(lost, err)
            else:
                self._async_write_succeeded(written)

    @callback
    def _async_write_succeeded(self, written: list[_Op]) -> None:
        if self._failing:
            self._failing = False
            _LOGGER.info("Registry mirror writes again")
        for op in written:
            if isinstance(op, _FullSync):
                for waiter in op.waiters:
                    if not waiter.done():
                        waiter.set_result(op.snapshot.counts)
        self._on_written()

    @callback
    def _async_write_failed(self, lost: list[_Op], err: Exception) -> None:
        for op in lost:
            if isinstance(op, _FullSync):
                for waiter in op.waiters:
                    if not waiter.done():
                        waiter.set_exception(MirrorWriteError(str(err)))
        if self._stopped:
            _LOGGER.debug("Registry mirror write dropped while stopping: %s", err)
            return
        self._needs_full_sync = True
        if not self._failing:
            self._failing = True
            _LOGGER.warning(
                "Registry mirror write failed (%s); it resyncs with the next change", err
            )

    @callback
    def _async_area_updated(self, event: Event[ar.EventAreaRegistryUpdatedData]) -> None:
        if (area_id := event.data["area_id"]) is None:
            return  # a reorder: the mirror keeps no order
        area = ar.async_get(self._hass).async_get_area(area_id)
        self._async_upsert_or_delete(AREAS, area_id, None if area is None else AREAS.row(area))

    @callback
    def _async_floor_updated(self, event: Event[fr.EventFloorRegistryUpdatedData]) -> None:
        data = event.data
        if data["action"] == "reorder":
            return  # the mirror keeps no order
        floor_id = data["floor_id"]
        floor = fr.async_get(self._hass).async_get_floor(floor_id)
        self._async_upsert_or_delete(FLOORS, floor_id, None if floor is None else FLOORS.row(floor))

    @callback
    def _async_device_updated(self, event: Event[dr.EventDeviceRegistryUpdatedData]) -> None:
        device_id = event.data["device_id"]
        device: dr.AnyDeviceEntry | None = dr.async_get(self._hass).async_get(
            device_id, include_composite_devices=False
        )
        self._async_upsert_or_delete(
            DEVICES, device_id, None if device is None else DEVICES.row(device)
        )

    @callback
    def _async_entity_updated(self, event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        data = event.data
        entity_id = data["entity_id"]
        old_entity_id = entity_id
        if data["action"] == "update":
            old_entity_id = data.get("old_entity_id", entity_id)
        entity = er.async_get(self._hass).async_get(entity_id)
        # Rows are keyed on the registry id: a rename updates entity_id in place. Any other row
        # still holding either name belongs to an entity that is gone.
        registry_id = None if entity is None else entity.id
        self._async_queue(ENTITY_STALE_SQL, (entity_id, old_entity_id, registry_id))
        if entity is not None:
            self._async_queue(ENTITIES.upsert_sql, ENTITIES.row(entity))

    @callback
    def _async_config_entry_changed(self, change: ConfigEntryChange, entry: ConfigEntry) -> None:
        if change is ConfigEntryChange.REMOVED:
            self._async_queue(CONFIG_ENTRIES.delete_sql, (entry.entry_id,))
        else:
            self._async_queue(CONFIG_ENTRIES.upsert_sql, CONFIG_ENTRIES.row(entry))

    @callback
    def _async_upsert_or_delete(self, table: MirrorTable[Any], key: str, row: Row | None) -> None:
        """Write the entry's row, or delete the key's row when the entry is gone."""
        if row is None:
            self._async_queue(table.delete_sql, (key,))
        else:
            self._async_queue(table.upsert_sql, row)


async def _async_apply(conn: aiosqlite.Connection, op: _Op) -> None:
    if isinstance(op, _Statement):
        await conn.execute(op.sql, op.params)
        return
    for table in TABLES:
        rows = op.snapshot.rows[table.name]
        await conn.executemany(table.upsert_sql, rows)
        await conn.execute(table.prune_sql, (json.dumps([row[0] for row in rows]),))
