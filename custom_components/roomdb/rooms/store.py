"""The one write path into ``room_configs``: admission, write limiter, idempotent upsert, counters.

Every writer (the services, ``bulk_update``, seeding, the activity and vacuum pipelines) goes
through :class:`RoomConfigStore`, in this order per item:

1. validate the input (``invalid_input``): a JSON object within the limits below that Home
   Assistant's serializer (orjson) can encode, so that everything stored can be exported;
2. admission against the area mapping in force (``admission_denied``; nothing is written);
3. the per-(domain, room_id) :class:`~.limiter.WriteLimiter` (``write_rate_limit`` / ``retry``);
4. the upsert: insert when missing, else update ``config_data`` and ``updated_at`` and increment
   ``version`` — unless the canonical JSON is identical, which is acknowledged as ``unchanged``
   without a version bump.

Items are written in chunks, one short transaction per chunk (a single ``update_config`` is a chunk
of one), so 1,000 bulk items cost a handful of commits instead of 1,000. Committed changes are
reported to ``on_change`` (which fires the ``roomdb_config_changed`` event and schedules the
export). Nothing here imports Home Assistant, so the benchmark drives it with a bare database.

Limits on ``config_data`` (also on the result of a patch or fill merge): nesting at most
``MAX_CONFIG_DEPTH`` (32) containers deep, at most ``MAX_CONFIG_BYTES`` (64 KiB) as canonical
JSON, keys of at most ``MAX_CONFIG_KEY_LENGTH`` (256) and strings of at most
``MAX_CONFIG_STRING_LENGTH`` (16,384) characters, string keys only, integers within 64 bits, no
NaN or infinity. Without them Python's ``json`` would store what Home Assistant's serializer
(orjson: about 254 levels, 64-bit integers) cannot answer with, and every export would fail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
import json
import sqlite3
import time
from typing import Any, Final, cast

import orjson

from ..db.database import Database, DatabaseError
from ..log import get_logger
from ..timestamps import utc_now_iso
from .admission import ADMISSION_DENIED, Denial, admit
from .export_doc import ORJSON_OPTIONS, ExportRow, canonical_json
from .limiter import WriteLimiter
from .mapping import AreaMapping

_LOGGER = get_logger(__name__)

CHUNK_SIZE: Final = 250
"""Items per transaction in bulk writes (500 bound parameters in the lookup, far below limits)."""

MAX_KEY_LENGTH: Final = 128
"""Longest domain and room_id."""
MAX_CONFIG_DEPTH: Final = 32
MAX_CONFIG_BYTES: Final = 64 * 1024
MAX_CONFIG_KEY_LENGTH: Final = 256
MAX_CONFIG_STRING_LENGTH: Final = 16 * 1024

# Error codes (also the translation keys the service layer raises).
INVALID_INPUT: Final = "invalid_input"
WRITE_RATE_LIMIT: Final = "write_rate_limit"
DATABASE_UNAVAILABLE: Final = "database_unavailable"


class WriteStatus(StrEnum):
    """Outcome of one item, as ``bulk_update`` reports it."""

    OK = "ok"
    DENIED = "denied"
    RETRY = "retry"
    ERROR = "error"


class WriteMode(StrEnum):
    """How ``config_data`` combines with the stored config."""

    REPLACE = "replace"
    """The stored config becomes exactly the given object (services, bulk)."""
    PATCH = "patch"
    """Given keys overwrite, other stored keys are kept (pipelines own only their keys)."""
    FILL = "fill"
    """Only keys missing from the stored config are added (seeding never discards user values)."""


class Action(StrEnum):
    """What a write did (or, in a preview, would do) to the row."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class WriteRequest:
    """One item to write."""

    domain: str
    room_id: str
    config_data: Mapping[str, Any]
    mode: WriteMode = WriteMode.REPLACE


@dataclass(frozen=True, slots=True)
class WriteResult:
    """Outcome of one item; ``error`` is a translation key, ``message`` English for logs."""

    domain: str
    room_id: str
    status: WriteStatus
    action: Action | None = None
    version: int | None = None
    error: str | None = None
    message: str | None = None
    retry_after: float | None = None
    denial: Denial | None = None
    config_data: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True when the item was written (or was already identical)."""
        return self.status is WriteStatus.OK

    def as_item(self) -> dict[str, Any]:
        """The per-item entry of the ``bulk_update`` / ``seed_from_mapping`` response."""
        item: dict[str, Any] = {
            "domain": self.domain,
            "room_id": self.room_id,
            "status": self.status.value,
        }
        if self.action is not None:
            item["action"] = self.action.value
        if self.version is not None:
            item["version"] = self.version
        if self.error is not None:
            item["error"] = self.error
        if self.message is not None:
            item["message"] = self.message
        if self.denial is not None:
            item["reason"] = self.denial.reason.value
        if self.retry_after is not None:
            item["retry_after"] = round(self.retry_after, 3)
        return item


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """A committed change; becomes one ``roomdb_config_changed`` event."""

    domain: str
    room_id: str
    version: int
    action: Action
    change_id: int | None = None
    """Its row in ``config_change_log`` while the event stream journals changes."""

    def as_event_data(self) -> dict[str, Any]:
        """The event payload ``{domain, room_id, version, action}`` (and ``change_id``)."""
        data: dict[str, Any] = {
            "domain": self.domain,
            "room_id": self.room_id,
            "version": self.version,
            "action": self.action.value,
        }
        if self.change_id is not None:
            data["change_id"] = self.change_id
        return data


@dataclass(frozen=True, slots=True)
class StoredConfig:
    """One row of ``room_configs``."""

    domain: str
    room_id: str
    config_data: dict[str, Any]
    version: int
    created_at: str
    updated_at: str


@dataclass(slots=True)
class WriteCounters:
    """Item outcomes since setup (``writes.ok`` counts ``unchanged`` acknowledgements too)."""

    ok: int = 0
    retry: int = 0
    error: int = 0
    denied: int = 0

    def count(self, result: WriteResult) -> None:
        """Add one outcome."""
        match result.status:
            case WriteStatus.OK:
                self.ok += 1
            case WriteStatus.RETRY:
                self.retry += 1
            case WriteStatus.ERROR:
                self.error += 1
            case WriteStatus.DENIED:
                self.denied += 1

    def as_dict(self) -> dict[str, Any]:
        """The counters as nested objects, plus the dotted names earlier releases answered."""
        return {
            "writes": {"ok": self.ok, "retry": self.retry, "error": self.error},
            "admission": {"denied": self.denied},
            "writes.ok": self.ok,
            "writes.retry": self.retry,
            "writes.error": self.error,
            "admission.denied": self.denied,
        }


type ChangeListener = Callable[[list[ConfigChange], Any], None]


def merge_config(
    existing: Mapping[str, Any] | None, data: Mapping[str, Any], mode: WriteMode
) -> dict[str, Any]:
    """The config to store for ``data`` written over ``existing`` in ``mode``."""
    if existing is None or mode is WriteMode.REPLACE:
        return dict(data)
    if mode is WriteMode.PATCH:
        return {**existing, **data}
    return {**data, **existing}


def _decode(text: str) -> dict[str, Any]:
    """A stored config as a dict (a non-object, which this module never writes, counts as {})."""
    try:
        value = json.loads(text)
    except TypeError, ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _invalid(domain: Any, room_id: Any, message: str) -> WriteResult:
    return WriteResult(
        str(domain), str(room_id), WriteStatus.ERROR, error=INVALID_INPUT, message=message
    )


class ConfigDataError(ValueError):
    """A config_data RoomDB does not store; the message says which limit it breaks."""


def _shape_problem(data: Mapping[Any, Any]) -> str | None:
    """Depth, keys and strings, and a lower bound of the JSON size, walked without recursion.

    Runs before any encoder sees the value: a value nested thousands deep would make ``json``
    recurse until it fails, and a huge one would hold the event loop while it is encoded.
    """
    size = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping | list | tuple):
            if depth > MAX_CONFIG_DEPTH:
                return f"config_data nests deeper than {MAX_CONFIG_DEPTH} levels"
            items = value.items() if isinstance(value, Mapping) else enumerate(value)
            for key, item in items:
                if isinstance(value, Mapping):
                    if not isinstance(key, str):
                        return "config_data keys must be strings"
                    if len(key) > MAX_CONFIG_KEY_LENGTH:
                        return (
                            f"config_data has a key longer than {MAX_CONFIG_KEY_LENGTH} characters"
                        )
                    size += len(key)
                size += 2
                stack.append((item, depth + 1))
        elif isinstance(value, str):
            if len(value) > MAX_CONFIG_STRING_LENGTH:
                return f"config_data has a string longer than {MAX_CONFIG_STRING_LENGTH} characters"
            size += len(value)
        if size > MAX_CONFIG_BYTES:
            return _too_large()
    return None


def _too_large() -> str:
    return f"config_data is larger than {MAX_CONFIG_BYTES} bytes as JSON"


def encode_config(data: Mapping[Any, Any]) -> str:
    """The canonical JSON text RoomDB stores for ``data``; ``ConfigDataError`` when refused."""
    problem = _shape_problem(data)
    if problem is not None:
        raise ConfigDataError(problem)
    try:
        text = canonical_json(dict(data))
        size = len(text.encode())
    except (TypeError, ValueError) as err:
        raise ConfigDataError(f"config_data is not valid JSON: {err}") from err
    if size > MAX_CONFIG_BYTES:
        raise ConfigDataError(_too_large())
    try:
        orjson.dumps(data, option=ORJSON_OPTIONS)
    except orjson.JSONEncodeError as err:
        raise ConfigDataError(
            f"config_data cannot be encoded by Home Assistant's serializer: {err}"
        ) from err
    return text


def validate_request(request: WriteRequest) -> WriteResult | None:
    """``None`` when the request is well-formed, else an ``invalid_input`` error result."""
    # Typed loosely on purpose: service input reaches here unchecked.
    domain: object = request.domain
    room_id: object = request.room_id
    data: object = request.config_data
    for name, value in (("domain", domain), ("room_id", room_id)):
        if not isinstance(value, str) or not value.strip():
            return _invalid(domain, room_id, f"{name} must be a non-empty string")
        if len(value) > MAX_KEY_LENGTH:
            return _invalid(domain, room_id, f"{name} is longer than {MAX_KEY_LENGTH} characters")
    if not isinstance(data, Mapping):
        return _invalid(domain, room_id, "config_data must be an object (a mapping)")
    try:
        encode_config(data)
    except ConfigDataError as err:
        return _invalid(domain, room_id, str(err))
    return None


@dataclass(slots=True)
class _Row:
    """A key's state while a chunk is applied."""

    text: str | None
    version: int
    in_database: bool
    changed: bool = False
    created: bool = False


@dataclass(slots=True)
class _Chunk:
    """The admitted items of one chunk, with their positions in the caller's list."""

    positions: list[int] = field(default_factory=list)
    requests: list[WriteRequest] = field(default_factory=list)


def _database_failure(request: WriteRequest, err: Exception) -> WriteResult:
    text = str(err).lower()
    transient = isinstance(err, sqlite3.OperationalError) and ("locked" in text or "busy" in text)
    return WriteResult(
        request.domain,
        request.room_id,
        WriteStatus.RETRY if transient else WriteStatus.ERROR,
        error=DATABASE_UNAVAILABLE,
        message=f"database: {err}",
    )


class RoomConfigStore:
    """Admission-checked, rate-limited, idempotent reads and writes of ``room_configs``."""

    def __init__(
        self,
        database: Database,
        mapping: Callable[[], AreaMapping],
        limiter: WriteLimiter,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: ChangeListener | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        """Bind the store to the database and a provider of the mapping in force."""
        self.database = database
        self._mapping = mapping
        self.limiter = limiter
        self.clock = clock
        self.on_change = on_change
        self.on_counted: Callable[[], None] | None = None
        """Called after every write attempt (the counters moved)."""
        self.counters = WriteCounters()
        self.journal_changes = False
        """Record each committed change in ``config_change_log`` (while the stream is on)."""
        self._chunk_size = max(1, chunk_size)

    # -- writes --------------------------------------------------------------------------------

    async def upsert(
        self,
        domain: str,
        room_id: str,
        config_data: Mapping[str, Any],
        *,
        mode: WriteMode = WriteMode.REPLACE,
        source: str = "service",
        context: Any = None,
    ) -> WriteResult:
        """Write one config; the same path as :meth:`bulk_upsert` with one item."""
        results = await self.bulk_upsert(
            [WriteRequest(domain, room_id, config_data, mode)], source=source, context=context
        )
        return results[0]

    async def bulk_upsert(
        self, requests: Sequence[WriteRequest], *, source: str = "bulk", context: Any = None
    ) -> list[WriteResult]:
        """Write many configs; one result per request, in order; never raises for one item."""
        results: list[WriteResult | None] = [None] * len(requests)
        for start in range(0, len(requests), self._chunk_size):
            chunk = _Chunk()
            for position in range(start, min(start + self._chunk_size, len(requests))):
                request = requests[position]
                refused = self._check(request)
                if refused is not None:
                    results[position] = refused
                else:
                    chunk.positions.append(position)
                    chunk.requests.append(request)
            if chunk.requests:
                written = await self._apply_chunk(chunk.requests, source, context)
                for position, result in zip(chunk.positions, written, strict=True):
                    results[position] = result
        final = [result for result in results if result is not None]
        for result in final:
            self.counters.count(result)
            self._log(result, source)
        if final and self.on_counted is not None:
            self.on_counted()
        return final

    def reject(self, result: WriteResult, *, source: str) -> WriteResult:
        """Count and log an item refused before it reached the store (e.g. not an object)."""
        self.counters.count(result)
        self._log(result, source)
        return result

    @staticmethod
    def _screen(mapping: AreaMapping, request: WriteRequest) -> WriteResult | None:
        """Validation, then admission against `mapping`; ``None`` = admitted."""
        invalid = validate_request(request)
        if invalid is not None:
            return invalid
        admission = admit(mapping, request.domain, request.room_id)
        if admission.denial is not None:
            return WriteResult(
                request.domain,
                request.room_id,
                WriteStatus.DENIED,
                error=ADMISSION_DENIED,
                message=admission.denial.message,
                denial=admission.denial,
            )
        return None

    def _check(self, request: WriteRequest) -> WriteResult | None:
        """Validation, admission and limiter, in that order; ``None`` = go ahead."""
        refused = self._screen(self._mapping(), request)
        if refused is not None:
            return refused
        wait = self.limiter.check((request.domain, request.room_id), self.clock())
        if wait is not None:
            return WriteResult(
                request.domain,
                request.room_id,
                WriteStatus.RETRY,
                error=WRITE_RATE_LIMIT,
                message=f"written less than {self.limiter.interval:g} s ago",
                retry_after=wait,
            )
        return None

    async def _apply_chunk(
        self, requests: list[WriteRequest], source: str, context: Any
    ) -> list[WriteResult]:
        try:
            async with self.database.transaction() as conn:
                rows = await self._lookup(conn, requests)
                results = self._plan(requests, rows, write=True)
                now = utc_now_iso()
                inserts = [
                    (domain, room_id, row.text, row.version, now, now)
                    for (domain, room_id), row in rows.items()
                    if row.changed and not row.in_database
                ]
                updates = [
                    (row.text, row.version, now, domain, room_id)
                    for (domain, room_id), row in rows.items()
                    if row.changed and row.in_database
                ]
                if inserts:
                    await conn.executemany(
                        "INSERT INTO room_configs (config_domain, room_id, config_data, version, "
                        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                        inserts,
                    )
                if updates:
                    await conn.executemany(
                        "UPDATE room_configs SET config_data = ?, version = ?, updated_at = ? "
                        "WHERE config_domain = ? AND room_id = ?",
                        updates,
                    )
                changes = await self._journal(
                    conn,
                    [
                        ConfigChange(result.domain, result.room_id, result.version, result.action)
                        for result in results
                        if result.version is not None
                        and (result.action is Action.CREATED or result.action is Action.UPDATED)
                    ],
                    now,
                )
        except (sqlite3.Error, DatabaseError) as err:
            _LOGGER.warning(
                "Writing %s room config(s) from %s failed: %s", len(requests), source, err
            )
            return [_database_failure(request, err) for request in requests]
        if changes and self.on_change is not None:
            self.on_change(changes, context)
        return results

    async def _journal(
        self, conn: Any, changes: list[ConfigChange], now: str
    ) -> list[ConfigChange]:
        """Record ``changes`` in the journal inside the caller's transaction; return them numbered.

        Ids are given here, not by SQLite one row at a time: the transaction holds the write lock,
        so the next ids after ``sqlite_sequence`` are ours.
        """
        if not self.journal_changes or not changes:
            return changes
        async with conn.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'config_change_log'"
        ) as cursor:
            row = await cursor.fetchone()
        base = int(row[0]) if row is not None else 0
        numbered = [
            replace(change, change_id=base + offset) for offset, change in enumerate(changes, 1)
        ]
        await conn.executemany(
            "INSERT INTO config_change_log (change_id, config_domain, room_id, version, action, "
            "changed_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(c.change_id, c.domain, c.room_id, c.version, c.action.value, now) for c in numbered],
        )
        return numbered

    @staticmethod
    async def _lookup(conn: Any, requests: Sequence[WriteRequest]) -> dict[tuple[str, str], _Row]:
        keys = list(dict.fromkeys((r.domain, r.room_id) for r in requests))
        # One constant statement for any number of keys: they travel as one JSON parameter and
        # each is looked up through the primary key.
        sql = (
            "SELECT r.config_domain, r.room_id, r.config_data, r.version "
            "FROM json_each(?) AS k JOIN room_configs AS r "
            "ON r.config_domain = json_extract(k.value, '$[0]') "
            "AND r.room_id = json_extract(k.value, '$[1]')"
        )
        params = (json.dumps(keys),)
        rows: dict[tuple[str, str], _Row] = {}
        async with conn.execute(sql, params) as cursor:
            for domain, room_id, text, version in await cursor.fetchall():
                rows[(domain, room_id)] = _Row(str(text), int(version), in_database=True)
        for key in keys:
            rows.setdefault(key, _Row(None, 0, in_database=False))
        return rows

    @staticmethod
    def _plan(
        requests: Sequence[WriteRequest], rows: dict[tuple[str, str], _Row], *, write: bool
    ) -> list[WriteResult]:
        """Apply the requests in order to ``rows`` (in memory) and report each outcome."""
        results: list[WriteResult] = []
        for request in requests:
            row = rows[(request.domain, request.room_id)]
            existing = None if row.text is None else _decode(row.text)
            merged = merge_config(existing, request.config_data, request.mode)
            try:
                # A patch or fill merge can outgrow the limits each part was within.
                text = encode_config(merged)
            except ConfigDataError as err:
                results.append(_invalid(request.domain, request.room_id, str(err)))
                continue
            if existing is not None and (text == row.text or text == canonical_json(existing)):
                action = Action.UNCHANGED
            else:
                action = Action.UPDATED if row.text is not None else Action.CREATED
                row.text = text
                row.version += 1
                row.changed = True
            results.append(
                WriteResult(
                    request.domain,
                    request.room_id,
                    WriteStatus.OK,
                    action=action,
                    version=row.version,
                    config_data=None if write else merged,
                )
            )
        return results

    async def delete(
        self, domain: str, room_id: str, *, source: str = "service", context: Any = None
    ) -> WriteResult:
        """Delete one config.

        An existing row may always be deleted, so rows of rooms or domains the mapping no longer
        allows can be cleaned up; deleting a missing row is ``ok`` (``missing``) for an allowed
        pair and ``denied`` for a pair the mapping does not know, which surfaces typos.
        """
        result = await self._delete(domain, room_id, source, context)
        self.counters.count(result)
        self._log(result, source)
        if self.on_counted is not None:
            self.on_counted()
        return result

    async def _delete(self, domain: str, room_id: str, source: str, context: Any) -> WriteResult:
        invalid = validate_request(WriteRequest(domain, room_id, {}))
        if invalid is not None:
            return invalid
        try:
            current = await self.get(domain, room_id)
        except (sqlite3.Error, DatabaseError) as err:
            return _database_failure(WriteRequest(domain, room_id, {}), err)
        if current is None:
            admission = admit(self._mapping(), domain, room_id)
            if admission.denial is not None:
                return WriteResult(
                    domain,
                    room_id,
                    WriteStatus.DENIED,
                    error=ADMISSION_DENIED,
                    message=admission.denial.message,
                    denial=admission.denial,
                )
            return WriteResult(domain, room_id, WriteStatus.OK, action=Action.MISSING)
        wait = self.limiter.check((domain, room_id), self.clock())
        if wait is not None:
            return WriteResult(
                domain,
                room_id,
                WriteStatus.RETRY,
                error=WRITE_RATE_LIMIT,
                message=f"written less than {self.limiter.interval:g} s ago",
                retry_after=wait,
            )
        try:
            async with self.database.transaction() as conn:
                cursor = await conn.execute(
                    "DELETE FROM room_configs WHERE config_domain = ? AND room_id = ? "
                    "RETURNING version",
                    (domain, room_id),
                )
                deleted = await cursor.fetchone()
                await cursor.close()
                changes = (
                    []
                    if deleted is None
                    else await self._journal(
                        conn,
                        [ConfigChange(domain, room_id, int(deleted[0]), Action.DELETED)],
                        utc_now_iso(),
                    )
                )
        except (sqlite3.Error, DatabaseError) as err:
            return _database_failure(WriteRequest(domain, room_id, {}), err)
        if deleted is None:
            return WriteResult(domain, room_id, WriteStatus.OK, action=Action.MISSING)
        version = int(deleted[0])
        if self.on_change is not None:
            self.on_change(changes, context)
        return WriteResult(domain, room_id, WriteStatus.OK, action=Action.DELETED, version=version)

    async def preview(self, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        """What :meth:`bulk_upsert` would do (validation, admission, merge), writing nothing.

        The limiter is neither consulted nor charged; counters are untouched. Results carry the
        ``config_data`` that would be stored.
        """
        results: list[WriteResult | None] = [None] * len(requests)
        admitted: list[tuple[int, WriteRequest]] = []
        mapping = self._mapping()
        for position, request in enumerate(requests):
            refused = self._screen(mapping, request)
            if refused is not None:
                results[position] = refused
                continue
            admitted.append((position, request))
        for start in range(0, len(admitted), self._chunk_size):
            part = admitted[start : start + self._chunk_size]
            chunk_requests = [request for _position, request in part]
            rows = await self._read_rows(chunk_requests)
            planned = self._plan(chunk_requests, rows, write=False)
            for (position, _request), result in zip(part, planned, strict=True):
                results[position] = result
        return [result for result in results if result is not None]

    async def _read_rows(self, requests: Sequence[WriteRequest]) -> dict[tuple[str, str], _Row]:
        rows: dict[tuple[str, str], _Row] = {}
        for request in requests:
            key = (request.domain, request.room_id)
            if key in rows:
                continue
            stored = await self.database.fetchone(
                "SELECT config_data, version FROM room_configs "
                "WHERE config_domain = ? AND room_id = ?",
                key,
            )
            rows[key] = (
                _Row(None, 0, in_database=False)
                if stored is None
                else _Row(str(stored[0]), int(stored[1]), in_database=True)
            )
        return rows

    # -- reads ---------------------------------------------------------------------------------

    async def get(self, domain: str, room_id: str) -> StoredConfig | None:
        """One stored config, or ``None``."""
        row = await self.database.fetchone(
            "SELECT config_domain, room_id, config_data, version, created_at, updated_at "
            "FROM room_configs WHERE config_domain = ? AND room_id = ?",
            (domain, room_id),
        )
        return None if row is None else _stored(row)

    async def get_domain(self, domain: str) -> dict[str, StoredConfig]:
        """Every stored config of one domain, by room id."""
        rows = await self.database.fetchall(
            "SELECT config_domain, room_id, config_data, version, created_at, updated_at "
            "FROM room_configs WHERE config_domain = ? ORDER BY room_id",
            (domain,),
        )
        return {str(row[1]): _stored(row) for row in rows}

    async def export_rows(self) -> list[ExportRow]:
        """Every row as the export document needs it (``build_export`` input)."""
        rows = await self.database.fetchall(
            "SELECT config_domain, room_id, config_data, version, updated_at FROM room_configs "
            "ORDER BY config_domain, room_id"
        )
        # ``sqlite3.Row`` indexes and unpacks like the tuple; converting 10,000 rows here would
        # cost the event loop milliseconds, so the consumers (in the executor) take them as is.
        return cast("list[ExportRow]", rows)

    # -- logging -------------------------------------------------------------------------------

    @staticmethod
    def _log(result: WriteResult, source: str) -> None:
        match result.status:
            case WriteStatus.OK:
                _LOGGER.debug(
                    "room_id=%s domain=%s source=%s: %s (version %s)",
                    result.room_id,
                    result.domain,
                    source,
                    result.action,
                    result.version,
                )
            case WriteStatus.DENIED:
                _LOGGER.info(
                    "room_id=%s domain=%s source=%s: admission denied (%s)",
                    result.room_id,
                    result.domain,
                    source,
                    result.message,
                )
            case WriteStatus.RETRY:
                _LOGGER.debug(
                    "room_id=%s domain=%s source=%s: rate limited, retry in %.2f s",
                    result.room_id,
                    result.domain,
                    source,
                    result.retry_after or 0.0,
                )
            case WriteStatus.ERROR:
                _LOGGER.warning(
                    "room_id=%s domain=%s source=%s: not written (%s: %s)",
                    result.room_id,
                    result.domain,
                    source,
                    result.error,
                    result.message,
                )


def _stored(row: sqlite3.Row) -> StoredConfig:
    return StoredConfig(
        domain=str(row[0]),
        room_id=str(row[1]),
        config_data=_decode(str(row[2])),
        version=int(row[3]),
        created_at=str(row[4]),
        updated_at=str(row[5]),
    )
