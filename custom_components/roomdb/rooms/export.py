"""The export file, kept current after writes, and the export document for the service and HTTP.

After each committed change the store calls :meth:`Exporter.async_schedule`. The first call arms a
~500 ms timer and later calls within that window ride along, so a burst of writes (a 1,000-item
``bulk_update``) costs one export; a write that arrives while an export runs arms the next one, so
the file always ends up equal to the database. Rows are read through the database's one connection;
building the document and the atomic write (temp file, fsync, rename) run in the executor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
import json
from pathlib import Path
import sqlite3
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.json import json_bytes
from homeassistant.util import dt as dt_util

from ..db.database import DatabaseError
from ..db.schema import SCHEMA_VERSION
from ..log import get_logger
from ..paths import (
    EXPORT_MARKER_KEY,
    EXPORT_MARKER_VALUE,
    PathPurpose,
    WrittenFile,
    ensure_replaceable,
)
from ..timestamps import stored_iso
from .export_doc import ExportRow, build_export, exportable_config, write_bytes_atomic
from .store import RoomConfigStore

_LOGGER = get_logger(__name__)

EXPORT_DELAY: Final = 0.5


class ExportError(Exception):
    """The export could not be built or written; the message says why."""


def build_document(rows: Sequence[ExportRow], generated_at: datetime) -> dict[str, Any]:
    """The export document for ``rows`` (blocking for large tables: run in the executor)."""
    return build_export(rows, SCHEMA_VERSION, generated_at)


def render_document(rows: Sequence[ExportRow], generated_at: datetime) -> bytes:
    """The export file's bytes: the export document, one room per line (blocking).

    Equal, once parsed, to :func:`build_document`. It is written piece by piece instead of with
    one ``json.dumps`` of the whole document: that C call would hold the GIL (and so stall the
    event loop) for the whole table, while many small pieces let the loop run in between. A
    stored ``config_data`` is embedded as is when it is exportable (the write path stores it
    canonical), else as a JSON string of its raw text.
    """
    by_domain: dict[str, list[ExportRow]] = {}
    for row in sorted(rows, key=lambda r: (r[0], r[1])):
        by_domain.setdefault(row[0], []).append(row)
    dumps = json.dumps
    parts = [
        "{\n",
        f'  "status": "ok",\n  "schema_version": {SCHEMA_VERSION},\n',
        f'  "{EXPORT_MARKER_KEY}": "{EXPORT_MARKER_VALUE}",\n',
        f'  "generated_at": {dumps(generated_at.isoformat())},\n',
        f'  "counts": {dumps({d: len(r) for d, r in by_domain.items()}, ensure_ascii=False)},\n',
        '  "by_domain": {',
    ]
    for d_index, (domain, domain_rows) in enumerate(by_domain.items()):
        parts.append(f"{',' if d_index else ''}\n    {dumps(domain, ensure_ascii=False)}: {{")
        for r_index, (_domain, room_id, text, version, updated_at) in enumerate(domain_rows):
            stamp = stored_iso(updated_at)
            embedded = text if exportable_config(text)[1] else dumps(text, ensure_ascii=False)
            parts.append(
                f"{',' if r_index else ''}\n      {dumps(room_id, ensure_ascii=False)}: "
                f'{{"config_data": {embedded}, "version": {int(version)}, '
                f'"updated_at": {dumps(stamp, ensure_ascii=False)}}}'
            )
        parts.append("\n    }" if domain_rows else "}")
    parts.append("\n  }\n}\n" if by_domain else "}\n}\n")
    return "".join(parts).encode()


def build_encoded(
    rows: Sequence[ExportRow], generated_at: datetime
) -> tuple[dict[str, Any], bytes]:
    """The document and its bytes as Home Assistant's serializer encodes them (blocking)."""
    document = build_document(rows, generated_at)
    try:
        return document, json_bytes(document)
    except (TypeError, ValueError) as err:
        raise ExportError(f"the export cannot be encoded as JSON: {err}") from err


def write_document(
    path: Path,
    rows: Sequence[ExportRow],
    generated_at: datetime,
    written: WrittenFile | None = None,
) -> tuple[int, WrittenFile]:
    """Replace ``path`` with the export of ``rows`` atomically (blocking).

    Checked before every write, not only when the path was chosen: a file someone put there
    since is never replaced (``UnsafePathError``). ``written`` is the file the previous export
    left there. Returns the size and the file written.
    """
    data = render_document(rows, generated_at)
    ensure_replaceable(path, PathPurpose.EXPORT, written=written)
    return len(data), write_bytes_atomic(path, data)


class Exporter:
    """Debounced writer of the export file."""

    def __init__(
        self,
        hass: HomeAssistant,
        store: RoomConfigStore,
        path: Path,
        *,
        delay: float = EXPORT_DELAY,
    ) -> None:
        """Export ``store``'s rows to ``path``, ``delay`` seconds after the first change."""
        self.hass = hass
        self.store = store
        self.path = path
        self.delay = delay
        self.exports_written = 0
        self.last_export_at: datetime | None = None
        self.last_error: str | None = None
        self._timer: CALLBACK_TYPE | None = None
        self._lock = asyncio.Lock()
        self._stopped = False
        self._written: WrittenFile | None = None

    @property
    def pending(self) -> bool:
        """True while a debounced export is scheduled."""
        return self._timer is not None

    @callback
    def async_schedule(self) -> None:
        """Export soon; calls until the timer fires are coalesced into that one export."""
        if self._timer is None and not self._stopped:
            self._timer = async_call_later(self.hass, self.delay, self._async_timer_fired)

    async def _async_timer_fired(self, _now: datetime) -> None:
        self._timer = None
        try:
            await self._async_export_file()
        except ExportError as err:
            _LOGGER.error("Export to %s failed: %s", self.path, err)

    async def async_build_body(self) -> bytes:
        """The export document from what SQLite holds now, encoded for HTTP (writes no file).

        Built and encoded with Home Assistant's serializer in the executor: a large table never
        stalls the event loop, and what cannot be encoded is an ``ExportError``, not a 500.
        """
        rows = await self._async_rows()
        _document, body = await self.hass.async_add_executor_job(
            build_encoded, rows, dt_util.utcnow()
        )
        return body

    async def async_export(self) -> dict[str, Any]:
        """Write the export file now (replacing a pending debounced export); return the document.

        The document is checked to be encodable (in the executor) before it is returned, so the
        service answer never fails in Home Assistant's serializer.
        """
        if self._timer is not None:
            self._timer()
            self._timer = None
        async with self._lock:
            rows = await self._async_rows()
            generated_at = dt_util.utcnow()
            await self._async_write(rows, generated_at)
            document, _body = await self.hass.async_add_executor_job(
                build_encoded, rows, generated_at
            )
            return document

    async def _async_write(self, rows: list[ExportRow], generated_at: datetime) -> None:
        try:
            size, self._written = await self.hass.async_add_executor_job(
                write_document, self.path, rows, generated_at, self._written
            )
        except (OSError, ValueError) as err:
            # ValueError: the path policy refused the file there (UnsafePathError), or a row an
            # older RoomDB stored cannot be written out.
            self.last_error = str(err)
            raise ExportError(str(err)) from err
        self.exports_written += 1
        self.last_export_at = generated_at
        self.last_error = None
        _LOGGER.debug("Exported %s room config(s) (%s bytes) to %s", len(rows), size, self.path)

    async def _async_export_file(self) -> None:
        """The debounced export: only the file (no document for a caller)."""
        async with self._lock:
            await self._async_write(await self._async_rows(), dt_util.utcnow())

    async def _async_rows(self) -> list[ExportRow]:
        try:
            return await self.store.export_rows()
        except (sqlite3.Error, DatabaseError) as err:
            self.last_error = str(err)
            raise ExportError(str(err)) from err

    async def async_stop(self) -> None:
        """Stop scheduling; write a pending export now so the file matches the database."""
        self._stopped = True
        if self._timer is None:
            return
        self._timer()
        self._timer = None
        try:
            await self._async_export_file()
        except ExportError as err:
            _LOGGER.warning("Final export to %s failed: %s", self.path, err)

    def health(self) -> dict[str, Any]:
        """Export status for the health endpoint and diagnostics."""
        return {
            "path": str(self.path),
            "pending": self.pending,
            "exports_written": self.exports_written,
            "last_export_at": self.last_export_at.isoformat() if self.last_export_at else None,
            "last_error": self.last_error,
        }
