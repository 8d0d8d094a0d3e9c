"""The one aiosqlite connection of RoomDB and its two write paths.

* Control-plane writes (room configs, model artifacts) go through `transaction()`: one short
  `BEGIN IMMEDIATE … COMMIT` each, acknowledged only after the commit.
* Hot-path rows (raw events, registry bulk upserts) go through `enqueue()`: they are grouped by
  statement and written with `executemany` in one transaction, flushed when `batch_size` rows are
  queued, `flush_interval` seconds after the first queued row, and on `close()`.

All statements run on aiosqlite's worker thread; an `asyncio.Lock` keeps one coroutine's transaction
from interleaving with another's on the shared connection. Nothing here blocks the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass, field
from pathlib import Path
import sqlite3
import time
from typing import Any, Final

import aiosqlite

from ..log import get_logger
from ..timestamps import utc_now_iso
from .compact import (
    DICTIONARY_STATEMENTS,
    MULTI_ROW_STATEMENTS,
    RAW_COPY_BATCH,
    CopyProgress,
    Dictionaries,
    async_legacy_tables,
    copy_feature_batch,
    copy_raw_batch,
    finish_copy,
    next_batch,
)
from .metadata import METADATA_RULES_TEXT, metadata_value_valid, parse_version
from .schema import (
    APPLICATION_ID,
    CONTRACT_VERSION,
    COUNTED_SOURCES,
    COUNTED_TABLES,
    META_CONTRACT_VERSION,
    META_SCHEMA_VERSION,
    MIGRATIONS,
    SCHEMA_VERSION,
)

_LOGGER = get_logger(__name__)

BUSY_TIMEOUT_MS: Final = 5000
AUTO_VACUUM_INCREMENTAL: Final = 2
VACUUM_STEP_PAGES: Final = 2000
"""Pages one incremental step gives back (8 MiB at 4 KiB pages, a few ms of the writer)."""
WORKER_EXIT_TIMEOUT_SECONDS: Final = 5.0
WAL_AUTOCHECKPOINT_PAGES: Final = 1000
"""SQLite's default: the commit that takes the WAL past this many pages copies it into the file."""

type Params = Sequence[Any]

_RAW_SPAN: Final = "SELECT MIN(ts_us) / 1000000.0, MAX(ts_us) / 1000000.0 FROM ml_raw_events"
_RAW_SPAN_WITH_LEGACY: Final = (
    "SELECT MIN(ts_us) / 1000000.0, MAX(ts_us) / 1000000.0 FROM ml_raw_events "
    "UNION ALL SELECT MIN(ts), MAX(ts) FROM raw_events_v4"
)


class DatabaseError(Exception):
    """The database cannot be used; `translation_key` names the reason for the user."""

    translation_key = "database_unavailable"

    def __init__(self, path: Path, reason: str) -> None:
        """Remember which file failed and why."""
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class DatabaseCorruptError(DatabaseError):
    """The file is not a readable SQLite database (or fails its integrity check)."""

    translation_key = "database_corrupt"


class DatabaseMigrationError(DatabaseError):
    """A migration failed and was rolled back; the file is intact at its old version."""

    translation_key = "database_migration_failed"


class DatabaseTooNewError(DatabaseError):
    """The file was written by a newer RoomDB; migrations only go forward."""

    translation_key = "database_too_new"


class DatabaseMetadataError(DatabaseError):
    """``metadata.schema_version`` is not a version number; nothing can be migrated safely."""

    translation_key = "database_metadata_invalid"


@dataclass(slots=True, frozen=True)
class DatabaseStats:
    """What the diagnostic database sensor shows."""

    size_bytes: int
    free_bytes: int
    """Bytes of pages SQLite keeps free for reuse (what a VACUUM gives back)."""
    raw_event_days: float
    """Days between the oldest and the newest raw event held."""
    schema_version: int
    row_counts: dict[str, int]
    last_write_at: str | None
    queued_rows: int
    flushed_batches: int
    dropped_rows: int


@dataclass(slots=True)
class _WriteQueue:
    """Hot-path rows waiting for the next batch, grouped by statement in arrival order."""

    rows: dict[str, list[Params]] = field(default_factory=dict)
    count: int = 0

    def take(self) -> dict[str, list[Params]]:
        taken, self.rows, self.count = self.rows, {}, 0
        return taken

    def put_back(self, batch: dict[str, list[Params]]) -> None:
        """Return a failed batch to the front of the queue so order is kept."""
        merged = {sql: list(rows) for sql, rows in batch.items()}
        for sql, rows in self.rows.items():
            merged.setdefault(sql, []).extend(rows)
        self.rows = merged
        self.count = sum(len(rows) for rows in merged.values())


def _row_groups(rows: Sequence[Params], size: int) -> Iterator[list[Any]]:
    """The parameters of `rows`, `size` rows at a time, flat (the last partial group is left out).

    Run lazily by the writer thread's `executemany`: the loop only hands the list over.
    """
    for start in range(0, len(rows) - size + 1, size):
        yield [value for row in rows[start : start + size] for value in row]


async def _write_rows(conn: aiosqlite.Connection, sql: str, rows: Sequence[Params]) -> None:
    """`executemany` of one statement's queued rows, in multi-row statements where it has one."""
    multi = MULTI_ROW_STATEMENTS.get(sql)
    if multi is not None and len(rows) >= multi[1]:
        statement, size = multi
        await conn.executemany(statement, _row_groups(rows, size))
        rows = rows[len(rows) - len(rows) % size :]
    if rows:
        await conn.executemany(sql, rows)


async def _worker_finished(conn: aiosqlite.Connection) -> None:
    """Wait, in the executor, until the connection's worker thread has ended.

    ``close()`` returns as soon as the worker hands back its last result, a moment before the
    thread itself ends; a caller that unloads RoomDB and then checks for leftover threads (Home
    Assistant's shutdown, its test harness) must not find it still running.
    """
    thread = getattr(conn, "_thread", None)
    if thread is None or not thread.is_alive():
        return
    try:
        await asyncio.get_running_loop().run_in_executor(
            None, thread.join, WORKER_EXIT_TIMEOUT_SECONDS
        )
    except RuntimeError:
        # The executor is already shut down (the very end of Home Assistant's stop).
        return


def _passive_checkpoint(path: Path) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


class Database:
    """Owner of roomdb.db: opens and migrates it, serialises writes, batches hot rows."""

    def __init__(
        self,
        path: Path,
        *,
        batch_size: int = 1000,
        flush_interval: float = 1.0,
    ) -> None:
        """Prepare (but do not open) the database at `path`."""
        self.path = path
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._writes_allowed = asyncio.Event()
        self._writes_allowed.set()
        self._queue = _WriteQueue()
        self._flush_timer: asyncio.TimerHandle | None = None
        self._flush_tasks: set[asyncio.Task[int]] = set()
        self._last_write_at: str | None = None
        self.last_hold_seconds = 0.0
        """How long the last `execute_write` held the writer: from taking the lock to its result."""
        self._flushed_batches = 0
        self._dropped_rows = 0
        self.on_commit: Callable[[], None] | None = None
        """Called (in the event loop) after every committed transaction."""
        self.dictionaries = Dictionaries()
        """Keys of the raw events' entity and state dictionaries (see `compact`)."""
        self.legacy_pending = False
        """Whether tables of the layout before schema 6 still wait to be copied."""
        self._copy_task: asyncio.Task[None] | None = None
        self._flush_requested = False

    @property
    def connection(self) -> aiosqlite.Connection:
        """Return the open connection (only for code running under `transaction()`)."""
        if self._conn is None:
            raise DatabaseError(self.path, "database is not open")
        return self._conn

    @property
    def is_open(self) -> bool:
        """Return whether the connection is open (between ``open`` and ``close``)."""
        return self._conn is not None

    @property
    def queued_rows(self) -> int:
        """Return how many hot-path rows wait for the next batch."""
        return self._queue.count

    @property
    def writes_paused(self) -> bool:
        """Return True while a backup holds writes back."""
        return not self._writes_allowed.is_set()

    async def open(self) -> None:
        """Open, configure and migrate the database; raise `DatabaseError` if unusable."""
        try:
            self._conn = await aiosqlite.connect(self.path, isolation_level=None)
            await self._configure(self._conn)
            await self._check_integrity(self._conn)
        except sqlite3.DatabaseError as err:
            await self._discard_connection()
            raise DatabaseCorruptError(self.path, str(err)) from err
        except DatabaseError:
            await self._discard_connection()
            raise
        try:
            await self._migrate(self._conn)
            await self._conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            await self._repair_metadata(self._conn)
            await self.dictionaries.async_load(self._conn)
            self.legacy_pending = bool(await async_legacy_tables(self._conn))
        except sqlite3.Error as err:
            await self._discard_connection()
            raise DatabaseMigrationError(self.path, str(err)) from err
        except DatabaseError:
            await self._discard_connection()
            raise
        if self.legacy_pending and not (await self.copy_batch(RAW_COPY_BATCH)).finished:
            _LOGGER.info("Copying %s into the compact layout in the background", self.path.name)
            self._copy_task = asyncio.get_running_loop().create_task(
                self._copy_legacy(), name="roomdb compact copy"
            )

    async def _copy_legacy(self) -> None:
        """Copy the old tables batch by batch; other writes get the lock between batches."""
        try:
            batch, finished = RAW_COPY_BATCH, False
            while not finished:
                # Yield between batches, so queued writes take the lock in between.
                await asyncio.sleep(0)
                started = time.perf_counter()
                finished = (await self.copy_batch(batch)).finished
                batch = next_batch(batch, time.perf_counter() - started)
        except sqlite3.Error:
            _LOGGER.exception("Copying %s into the compact layout stopped", self.path.name)

    async def copy_batch(self, batch: int) -> CopyProgress:
        """Move up to `batch` old raw events, else hours of old feature windows; or finish.

        One transaction; the batch that finds nothing left drops the old tables.
        """
        async with self.transaction() as conn:
            raw = await copy_raw_batch(conn, self.dictionaries, batch)
            features = 0 if raw else await copy_feature_batch(conn)
            if raw or features:
                return CopyProgress(raw, features, finished=False)
            await finish_copy(conn)
        self.legacy_pending = False
        _LOGGER.info("Database %s: ML tables are in the compact layout now", self.path.name)
        return CopyProgress(0, 0, finished=True)

    async def wait_for_compact_copy(self) -> None:
        """Return once the old tables have been copied (at once when there were none)."""
        if self._copy_task is not None:
            await asyncio.shield(self._copy_task)

    async def _discard_connection(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await conn.close()
            except sqlite3.Error:
                _LOGGER.debug("Closing a broken connection to %s failed", self.path)
            await _worker_finished(conn)

    @staticmethod
    async def _configure(conn: aiosqlite.Connection) -> None:
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA foreign_keys=ON")

    async def _check_integrity(self, conn: aiosqlite.Connection) -> None:
        async with conn.execute("PRAGMA quick_check") as cursor:
            rows = await cursor.fetchall()
        findings = [str(row[0]) for row in rows]
        if findings != ["ok"]:
            raise DatabaseCorruptError(self.path, "; ".join(findings[:5]))

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        current = await self._schema_version(conn)
        if current > SCHEMA_VERSION:
            raise DatabaseTooNewError(
                self.path, f"schema version {current} is newer than {SCHEMA_VERSION}"
            )
        for version, description, statements in MIGRATIONS:
            if version <= current:
                continue
            _LOGGER.info("Migrating %s to schema version %s", self.path.name, version)
            await conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in statements:
                    await conn.execute(statement)
                now = utc_now_iso()
                await conn.execute(
                    "INSERT INTO schema_migrations (version, description, applied_at) "
                    "VALUES (?, ?, ?)",
                    (version, description, now),
                )
                await conn.executemany(
                    "INSERT INTO metadata (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [
                        (META_SCHEMA_VERSION, str(version)),
                        (META_CONTRACT_VERSION, str(CONTRACT_VERSION)),
                    ],
                )
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise

    async def _schema_version(self, conn: aiosqlite.Connection) -> int:
        async with conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'metadata'"
        ) as cursor:
            if await cursor.fetchone() is None:
                return 0
        async with conn.execute(
            "SELECT value FROM metadata WHERE key = ?", (META_SCHEMA_VERSION,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return 0
        version = parse_version(row[0])
        if version is None:
            raise DatabaseMetadataError(
                self.path, f"{META_SCHEMA_VERSION} is {row[0]!r}, not a whole number"
            )
        return version

    async def _repair_metadata(self, conn: aiosqlite.Connection) -> None:
        """Drop metadata values that make no sense (logged), then restore the contract version.

        RoomDB writes every value it needs again (stamps at the next run, the contract version
        here), so a hand-edited or damaged value costs a warning, never a failed setup.
        """
        async with conn.execute("SELECT key, value FROM metadata") as cursor:
            rows = [(str(row[0]), row[1]) for row in await cursor.fetchall()]
        invalid = [(key, value) for key, value in rows if not metadata_value_valid(key, value)]
        for key, value in invalid:
            _LOGGER.warning(
                "Database %s: metadata %s = %r is not valid (%s); removed, RoomDB writes it again",
                self.path.name,
                key,
                value,
                METADATA_RULES_TEXT,
            )
        if not invalid:
            return
        await conn.execute("BEGIN IMMEDIATE")
        try:
            await conn.executemany(
                "DELETE FROM metadata WHERE key = ?", [(key,) for key, _ in invalid]
            )
            await conn.execute(
                "INSERT INTO metadata (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (META_CONTRACT_VERSION, str(CONTRACT_VERSION)),
            )
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the body as one immediate transaction; commit on success, roll back on error."""
        await self._writes_allowed.wait()
        async with self._lock:
            conn = self.connection
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")
            self._last_write_at = utc_now_iso()
        if self.on_commit is not None:
            self.on_commit()

    async def execute_write(self, sql: str, params: Params = ()) -> int:
        """Run one write statement as its own transaction; return the changed row count.

        SQLite wraps a lone statement in a transaction of its own, so this is one trip to the
        writer thread: the writer is held for the statement alone (`last_hold_seconds`).
        """
        await self._writes_allowed.wait()
        async with self._lock:
            taken = time.perf_counter()
            cursor = await self.connection.execute(sql, params)
            self.last_hold_seconds = time.perf_counter() - taken
            self._last_write_at = utc_now_iso()
        count = cursor.rowcount
        await cursor.close()
        if self.on_commit is not None:
            self.on_commit()
        return count

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Run a query and return all rows."""
        async with self._lock, self.connection.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """Run a query and return the first row, if any."""
        async with self._lock, self.connection.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def get_metadata(self, key: str) -> str | None:
        """Return one `metadata` value."""
        row = await self.fetchone("SELECT value FROM metadata WHERE key = ?", (key,))
        return str(row[0]) if row is not None else None

    async def set_metadata(self, items: dict[str, str]) -> None:
        """Upsert `metadata` values in one transaction."""
        async with self.transaction() as conn:
            await conn.executemany(
                "INSERT INTO metadata (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                list(items.items()),
            )

    def enqueue_one(self, sql: str, row: Params) -> None:
        """Queue one hot-path row (`enqueue` without building a sequence per row)."""
        queue = self._queue
        queued = queue.rows.get(sql)
        if queued is None:
            queued = queue.rows[sql] = []
        queued.append(row)
        queue.count += 1
        if queue.count >= self._batch_size:
            self._start_flush()
        elif self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(
                self._flush_interval, self._start_flush
            )

    def enqueue(self, sql: str, rows: Iterable[Params]) -> None:
        """Queue hot-path rows for the next batch (must be called from the event loop)."""
        queued = self._queue.rows.setdefault(sql, [])
        before = len(queued)
        queued.extend(rows)
        self._queue.count += len(queued) - before
        if self._queue.count >= self._batch_size:
            self._start_flush()
        elif self._queue.count and self._flush_timer is None:
            loop = asyncio.get_running_loop()
            self._flush_timer = loop.call_later(self._flush_interval, self._start_flush)

    def _start_flush(self) -> None:
        if self._flush_requested:
            # A flush task is started but has not taken the queue yet: it takes these rows too.
            return
        self._flush_requested = True
        task = asyncio.get_running_loop().create_task(self.flush(), name="roomdb flush")
        self._flush_tasks.add(task)
        task.add_done_callback(self._flush_tasks.discard)

    async def flush(self) -> int:
        """Write every queued row now, in one transaction; return how many were written."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        self._flush_requested = False
        batch = self._queue.take()
        if not batch:
            return 0
        written = sum(len(rows) for rows in batch.values())
        try:
            async with self.transaction() as conn:
                for sql, rows in batch.items():
                    await _write_rows(conn, sql, rows)
        except sqlite3.OperationalError as err:
            # Busy, locked or full: keep the rows and try again on the next timer tick.
            _LOGGER.warning("Batch of %s rows not written yet (%s); will retry", written, err)
            self._queue.put_back(batch)
            self._arm_retry_timer()
            return 0
        except sqlite3.DatabaseError:
            kept = {sql: rows for sql, rows in batch.items() if sql in DICTIONARY_STATEMENTS}
            dropped = written - sum(len(rows) for rows in kept.values())
            _LOGGER.exception("Dropping a batch of %s rows that SQLite rejected", dropped)
            self._dropped_rows += dropped
            if kept:
                # Rows queued later use these keys: write them with the next batch.
                self._queue.put_back(kept)
                self._arm_retry_timer()
            return 0
        self._flushed_batches += 1
        return written

    def _arm_retry_timer(self) -> None:
        if self._flush_timer is None and self._conn is not None:
            loop = asyncio.get_running_loop()
            self._flush_timer = loop.call_later(self._flush_interval, self._start_flush)

    async def pause_writes(self) -> None:
        """Flush, checkpoint the WAL into the main file and hold further writes (for backups)."""
        await self.flush()
        await self.checkpoint()
        self._writes_allowed.clear()

    def resume_writes(self) -> None:
        """Let writes held by `pause_writes` proceed."""
        self._writes_allowed.set()

    async def checkpoint(self) -> None:
        """Move the WAL into the main database file and truncate it."""
        async with self._lock:
            await self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @asynccontextmanager
    async def checkpoints_aside(self) -> AsyncIterator[None]:
        """Keep WAL checkpoints out of the writer's commits for the body (a run of many writes).

        The commit that takes the WAL past `WAL_AUTOCHECKPOINT_PAGES` copies it into the file and
        syncs both, inside the writer's hold: tens to hundreds of ms on a busy disk. In the body
        that is off; `checkpoint_aside` does it from a second connection instead.
        """
        async with self._lock:
            await self.connection.execute("PRAGMA wal_autocheckpoint=0")
        try:
            yield
        finally:
            async with self._lock:
                if self._conn is not None:
                    await self._conn.execute(
                        f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}"
                    )

    async def checkpoint_aside(self) -> None:
        """Copy the committed WAL into the file from a second connection in a worker thread.

        A passive checkpoint neither waits for nor blocks the writer: writes go on meanwhile.
        """
        await asyncio.to_thread(_passive_checkpoint, self.path)

    async def _size(self) -> int:
        async with self.connection.execute(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row is not None else 0

    async def vacuum(self, *, incremental: bool) -> int:
        """Give free pages back to the file system; return by how many bytes the file shrank.

        Incremental: the file is switched to `auto_vacuum=INCREMENTAL` once (which takes one
        full VACUUM), after that free pages go in steps of `VACUUM_STEP_PAGES`, each a short
        hold of the writer. Otherwise one full VACUUM rewrites the file (the writer waits).
        """
        await self.flush()
        async with self._lock:
            before = await self._size()
            async with self.connection.execute("PRAGMA auto_vacuum") as cursor:
                row = await cursor.fetchone()
            switched = row is not None and int(row[0]) == AUTO_VACUUM_INCREMENTAL
            if not (incremental and switched):
                if incremental:
                    await self.connection.execute(f"PRAGMA auto_vacuum={AUTO_VACUUM_INCREMENTAL}")
                await self.connection.execute("VACUUM")
                return before - await self._size()
        while True:
            async with self._lock:
                async with self.connection.execute("PRAGMA freelist_count") as cursor:
                    free = await cursor.fetchone()
                if free is None or int(free[0]) == 0:
                    return before - await self._size()
                # The pragma frees one page per step: fetching its rows runs it to the end.
                async with self.connection.execute(
                    f"PRAGMA incremental_vacuum({VACUUM_STEP_PAGES})"
                ) as cursor:
                    await cursor.fetchall()
            await asyncio.sleep(0)

    async def backup_to(self, target: Path) -> None:
        """Copy the live database into `target` with SQLite's online backup API."""
        await self.flush()
        async with aiosqlite.connect(target) as dest, self._lock:
            await self.connection.backup(dest)

    async def raw_event_span(self) -> tuple[float | None, float | None]:
        """UTC epoch seconds of the oldest and the newest raw event held (`None` without any)."""
        async with self._lock:
            return await self._raw_event_span(self.connection)

    async def _raw_event_span(
        self, conn: aiosqlite.Connection
    ) -> tuple[float | None, float | None]:
        # Both ends from the compact table's key (and the old table's index while it is copied).
        sql = _RAW_SPAN_WITH_LEGACY if self.legacy_pending else _RAW_SPAN
        async with conn.execute(sql) as cursor:
            ends = [v for row in await cursor.fetchall() for v in row if v is not None]
        return (float(min(ends)), float(max(ends))) if ends else (None, None)

    async def stats(self) -> DatabaseStats:
        """Return size, row counts and writer counters."""
        async with self._lock:
            conn = self.connection
            counts: dict[str, int] = {}
            legacy = self.legacy_pending
            for table in COUNTED_TABLES:
                # The ML tables are views now: count their compact tables (and the old ones).
                queries = COUNTED_SOURCES.get(table, (f"SELECT COUNT(*) FROM {table}",))  # noqa: S608
                counts[table] = 0
                for query in queries[: 2 if legacy else 1]:
                    async with conn.execute(query) as cursor:
                        row = await cursor.fetchone()
                    counts[table] += int(row[0]) if row is not None else 0
            async with conn.execute(
                "SELECT page_count * page_size, freelist_count * page_size "
                "FROM pragma_page_count(), pragma_page_size(), pragma_freelist_count()"
            ) as cursor:
                size_row = await cursor.fetchone()
            first, last = await self._raw_event_span(conn)
            async with conn.execute(
                "SELECT value FROM metadata WHERE key = ?", (META_SCHEMA_VERSION,)
            ) as cursor:
                version_row = await cursor.fetchone()
        return DatabaseStats(
            size_bytes=int(size_row[0]) if size_row is not None else 0,
            free_bytes=int(size_row[1]) if size_row is not None else 0,
            raw_event_days=(
                round((last - first) / 86400, 2) if first is not None and last is not None else 0.0
            ),
            schema_version=(parse_version(version_row[0]) or 0) if version_row is not None else 0,
            row_counts=counts,
            last_write_at=self._last_write_at,
            queued_rows=self._queue.count,
            flushed_batches=self._flushed_batches,
            dropped_rows=self._dropped_rows,
        )

    async def close(self) -> None:
        """Flush what is queued, wait for running flushes and close the connection."""
        self._writes_allowed.set()
        if self._conn is None:
            return
        if self._copy_task is not None:
            # The copy resumes at the next start from the last committed batch.
            self._copy_task.cancel()
            await asyncio.gather(self._copy_task, return_exceptions=True)
            self._copy_task = None
        if self._flush_tasks:
            await asyncio.gather(*self._flush_tasks, return_exceptions=True)
        await self.flush()
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        async with self._lock:
            await self._discard_connection()
