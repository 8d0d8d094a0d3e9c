"""The database layer against real SQLite files: migrations, both write paths, close."""

from __future__ import annotations

import asyncio
from contextlib import closing
from pathlib import Path
import sqlite3
import time

import pytest

from custom_components.roomdb.db.database import (
    Database,
    DatabaseCorruptError,
    DatabaseError,
    DatabaseMigrationError,
    DatabaseTooNewError,
)
from custom_components.roomdb.db.schema import MIGRATIONS, SCHEMA_VERSION
from custom_components.roomdb.ml import store
from custom_components.roomdb.ml.contracts import ML_CONTRACT_VIEWS
from custom_components.roomdb.ml.features import RawEvent
from custom_components.roomdb.ml.ingest import RawEventWriter
from tests.db.migrations import write_database_at_version

INSERT_META = "INSERT INTO metadata (key, value) VALUES (?, ?)"


@pytest.fixture
async def database(tmp_path: Path) -> Database:
    db = Database(tmp_path / "roomdb.db", batch_size=50, flush_interval=0.05)
    await db.open()
    yield db
    await db.close()


def _count_filler(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM filler").fetchone()
    return int(count)


def _count_metadata(path: Path, prefix: str) -> int:
    with closing(sqlite3.connect(path)) as conn:
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM metadata WHERE key LIKE ?", (f"{prefix}%",)
        ).fetchone()
    return int(count)


async def test_fresh_file_is_migrated_with_pragmas(database: Database) -> None:
    rows = await database.fetchall("SELECT version, description FROM schema_migrations")
    assert [row["version"] for row in rows] == [version for version, _, _ in MIGRATIONS]
    assert await database.get_metadata("schema_version") == str(SCHEMA_VERSION)
    assert await database.get_metadata("contract_version") == "2"
    journal = await database.fetchone("PRAGMA journal_mode")
    synchronous = await database.fetchone("PRAGMA synchronous")
    foreign_keys = await database.fetchone("PRAGMA foreign_keys")
    busy = await database.fetchone("PRAGMA busy_timeout")
    assert journal is not None and journal[0] == "wal"
    assert synchronous is not None and synchronous[0] == 1  # NORMAL
    assert foreign_keys is not None and foreign_keys[0] == 1
    assert busy is not None and busy[0] == 5000
    views = await database.fetchall("SELECT name FROM sqlite_master WHERE type = 'view'")
    # The compact layout keeps `raw_events` and `features` as views with their old columns.
    assert {row["name"] for row in views} == {
        *ML_CONTRACT_VIEWS,
        "vw_entity_areas",
        "raw_events",
        "features",
    }


async def test_reopen_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "roomdb.db"
    for _ in range(3):
        db = Database(path)
        await db.open()
        await db.execute_write(INSERT_META + " ON CONFLICT DO NOTHING", ("kept", "1"))
        await db.close()
    db = Database(path)
    await db.open()
    migrations = await db.fetchall("SELECT version FROM schema_migrations")
    assert len(migrations) == len(MIGRATIONS)
    assert await db.get_metadata("kept") == "1"
    await db.close()


async def test_garbage_file_raises_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "roomdb.db"
    path.write_bytes(b"\x00garbage" * 512)
    db = Database(path)
    with pytest.raises(DatabaseCorruptError) as info:
        await db.open()
    assert info.value.translation_key == "database_corrupt"
    assert path.read_bytes() == b"\x00garbage" * 512
    with pytest.raises(DatabaseError):
        _ = db.connection


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "roomdb.db"
    db = Database(path)
    await db.open()
    await db.set_metadata({"schema_version": str(SCHEMA_VERSION + 1)})
    await db.close()
    with pytest.raises(DatabaseTooNewError):
        await Database(path).open()


async def test_failed_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = ((1, "broken", ("CREATE TABLE metadata (key TEXT)", "THIS IS NOT SQL")),)
    monkeypatch.setattr("custom_components.roomdb.db.database.MIGRATIONS", broken)
    path = tmp_path / "roomdb.db"
    with pytest.raises(DatabaseMigrationError) as info:
        await Database(path).open()
    assert info.value.translation_key == "database_migration_failed"
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


async def test_transaction_commits_or_rolls_back(database: Database) -> None:
    commits: list[None] = []
    database.on_commit = lambda: commits.append(None)
    async with database.transaction() as conn:
        await conn.execute(INSERT_META, ("a", "1"))
    with pytest.raises(sqlite3.IntegrityError):
        async with database.transaction() as conn:
            await conn.execute(INSERT_META, ("b", "2"))
            await conn.execute(INSERT_META, ("a", "duplicate"))
    assert await database.get_metadata("a") == "1"
    assert await database.get_metadata("b") is None
    assert len(commits) == 1
    assert (await database.stats()).last_write_at is not None


async def test_a_lone_write_reports_how_long_it_held_the_writer(database: Database) -> None:
    def pause() -> int:
        time.sleep(0.03)
        return 1

    await database.connection.create_function("roomdb_test_pause", 0, pause)
    assert await database.execute_write(INSERT_META, ("slow", "x")) == 1
    assert (
        await database.execute_write(
            "UPDATE metadata SET value = roomdb_test_pause() WHERE key = 'slow'"
        )
        == 1
    )
    assert 0.03 <= database.last_hold_seconds < 1.0
    assert await database.get_metadata("slow") == "1"


async def test_checkpoints_run_beside_the_writer(database: Database) -> None:
    """In `checkpoints_aside` no commit copies the WAL into the file; `checkpoint_aside` does."""
    path = database.path
    await database.execute_write("CREATE TABLE filler (blob BLOB)")
    await database.checkpoint()
    size = path.stat().st_size
    async with database.checkpoints_aside():
        # 30 commits of 100 pages each: three times SQLite's automatic checkpoint threshold.
        for _ in range(30):
            await database.execute_write("INSERT INTO filler VALUES (randomblob(400000))")
        assert path.stat().st_size == size
        await database.checkpoint_aside()
        assert path.stat().st_size > size + 30 * 400_000
        # Writes go on while a checkpoint runs beside them.
        await asyncio.gather(
            database.checkpoint_aside(),
            database.execute_write("INSERT INTO filler VALUES (randomblob(400000))"),
        )
    row = await database.fetchone("PRAGMA wal_autocheckpoint")
    assert row is not None
    assert row[0] == 1000
    count = await database.fetchone("SELECT COUNT(*) FROM filler")
    assert count is not None
    assert count[0] == 31


async def test_batch_flushes_on_size(database: Database) -> None:
    database.enqueue(INSERT_META, [(f"size{i}", "x") for i in range(49)])
    await asyncio.sleep(0)
    assert _count_metadata(database.path, "size") == 0
    database.enqueue(INSERT_META, [("size49", "x")])
    await asyncio.sleep(0.01)
    for _ in range(50):
        if database.queued_rows == 0 and _count_metadata(database.path, "size") == 50:
            break
        await asyncio.sleep(0.01)
    assert _count_metadata(database.path, "size") == 50


async def test_batch_flushes_on_timer(database: Database) -> None:
    database.enqueue(INSERT_META, [("timer", "x")])
    assert database.queued_rows == 1
    assert _count_metadata(database.path, "timer") == 0
    await asyncio.sleep(0.2)
    assert database.queued_rows == 0
    assert _count_metadata(database.path, "timer") == 1
    assert (await database.stats()).flushed_batches == 1


async def test_close_flushes_everything(tmp_path: Path) -> None:
    path = tmp_path / "roomdb.db"
    db = Database(path, batch_size=10_000, flush_interval=60)
    await db.open()
    db.enqueue(INSERT_META, [(f"close{i}", "x") for i in range(2500)])
    await db.close()
    assert _count_metadata(path, "close") == 2500
    await db.close()  # closing twice is harmless


async def test_busy_database_keeps_rows_and_retries(database: Database) -> None:
    blocker = sqlite3.connect(database.path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    await database.fetchone("PRAGMA busy_timeout = 10")
    database.enqueue(INSERT_META, [("busy", "x")])
    written = await database.flush()
    assert written == 0
    assert database.queued_rows == 1
    blocker.rollback()
    blocker.close()
    await asyncio.sleep(0.2)
    assert database.queued_rows == 0
    assert _count_metadata(database.path, "busy") == 1


async def test_rejected_batch_is_dropped_and_counted(database: Database) -> None:
    database.enqueue(INSERT_META, [("dup", "1"), ("dup", "2")])
    assert await database.flush() == 0
    stats = await database.stats()
    assert stats.dropped_rows == 2
    assert stats.queued_rows == 0
    assert await database.get_metadata("dup") is None


INSERT_FILLER = "INSERT INTO filler (value) VALUES (?)"
CREATE_FILLER = "CREATE TABLE filler (id INTEGER PRIMARY KEY, value TEXT)"


async def test_a_failure_mid_batch_rolls_everything_back_and_retries_in_order(
    database: Database,
) -> None:
    failures = ["a60"]

    def check(value: str) -> int:
        if value in failures:
            failures.remove(value)
            raise ValueError(value)  # SQLite reports it as an OperationalError: kept, retried
        return 0

    await database.execute_write(CREATE_FILLER)
    await database.connection.create_function("roomdb_test_check", 1, check)
    await database.execute_write(
        "CREATE TEMP TRIGGER filler_checked AFTER INSERT ON filler "
        "BEGIN SELECT roomdb_test_check(NEW.value); END"
    )
    values = [f"a{i}" for i in range(120)]
    for value in values:  # more than two batches' worth, written in one transaction
        database.enqueue_one(INSERT_FILLER, (value,))
    assert await database.flush() == 0
    assert _count_filler(database.path) == 0  # the 60 rows before the failure are rolled back
    assert database.queued_rows == 120
    for _ in range(100):
        if database.queued_rows == 0:
            break
        await asyncio.sleep(0.01)
    rows = await database.fetchall("SELECT value FROM filler ORDER BY id")
    assert [row[0] for row in rows] == values


async def test_a_batch_whose_begin_is_refused_writes_no_row(database: Database) -> None:
    """No row of a batch commits on its own (autocommit) when its transaction cannot begin."""

    def deny_begin(action: int, arg1: str | None, *_args: object) -> int:
        if action == sqlite3.SQLITE_TRANSACTION and arg1 == "BEGIN":
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    await database.execute_write(CREATE_FILLER)
    await database.connection.set_authorizer(deny_begin)
    database.enqueue(INSERT_FILLER, [(f"x{i}",) for i in range(10)])
    assert await database.flush() == 0
    await database.connection.set_authorizer(None)
    assert _count_filler(database.path) == 0
    assert (await database.stats()).dropped_rows == 10


async def test_pause_holds_writes_until_resume(database: Database) -> None:
    database.enqueue(INSERT_META, [("before", "x")])
    await database.pause_writes()
    assert database.writes_paused
    assert _count_metadata(database.path, "before") == 1
    assert not Path(f"{database.path}-wal").stat().st_size
    write = asyncio.create_task(database.execute_write(INSERT_META, ("during", "x")))
    await asyncio.sleep(0.05)
    assert not write.done()
    database.resume_writes()
    await write
    assert await database.get_metadata("during") == "x"


async def test_backup_copy_is_a_complete_database(database: Database, tmp_path: Path) -> None:
    await database.execute_write(INSERT_META, ("backed", "up"))
    database.enqueue(INSERT_META, [("queued", "too")])
    target = tmp_path / "copy.db"
    await database.backup_to(target)
    with closing(sqlite3.connect(target)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = dict(conn.execute("SELECT key, value FROM metadata").fetchall())
    assert rows["backed"] == "up"
    assert rows["queued"] == "too"


async def test_stats_report_counts_and_size(database: Database) -> None:
    await database.execute_write(
        "INSERT INTO room_configs VALUES ('activity', 'kitchen', '{}', 1, 'now', 'now')"
    )
    stats = await database.stats()
    assert stats.row_counts["room_configs"] == 1
    assert stats.row_counts["raw_events"] == 0
    assert stats.raw_event_days == 0.0
    assert stats.schema_version == SCHEMA_VERSION
    assert stats.size_bytes > 0


async def test_stats_report_raw_events_held_and_free_pages(database: Database) -> None:
    writer = RawEventWriter(database)
    start = 1_772_400_000.0
    for i in range(3000):
        writer.write(
            RawEvent("light.a", "light", None, "hall", ("on", "off")[i % 2], None, start + i * 86.4)
        )
    await database.flush()
    stats = await database.stats()
    assert stats.row_counts["raw_events"] == 3000
    assert stats.raw_event_days == pytest.approx(2999 * 86.4 / 86400, abs=0.01)
    assert stats.free_bytes == 0
    await database.execute_write(
        "DELETE FROM ml_raw_events WHERE ts_us < ?", (round((start + 86400) * 1e6),)
    )
    stats = await database.stats()
    assert stats.row_counts["raw_events"] == 2000
    assert stats.raw_event_days == pytest.approx(1999 * 86.4 / 86400, abs=0.01)
    assert stats.free_bytes > 0  # what a VACUUM would give back


async def test_room_configs_reject_invalid_json(database: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        await database.execute_write(
            "INSERT INTO room_configs VALUES ('activity', 'kitchen', '{nope', 1, 'now', 'now')"
        )


async def test_version_2_file_gains_the_change_journal_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "roomdb.db"
    row = "INSERT INTO room_configs VALUES ('activity', 'den', '{}', 4, 'then', 'then')"
    await write_database_at_version(path, 2, [(row, ())])

    database = Database(path)
    await database.open()
    try:
        assert await database.get_metadata("schema_version") == str(SCHEMA_VERSION)
        rows = await database.fetchall("SELECT * FROM room_configs")
        assert [tuple(row) for row in rows] == [("activity", "den", "{}", 4, "then", "then")]
        assert await database.fetchall("SELECT * FROM config_change_log") == []
    finally:
        await database.close()


async def test_version_3_file_gains_whole_day_labels_and_keeps_the_old_view(tmp_path: Path) -> None:
    path = tmp_path / "roomdb.db"
    # A Berlin night 2026-03-02 23:00 to 07:00 (UTC+1) and one window inside it, one the morning
    # after: the old view pairs only the first, the whole-day view both (awake after 07:00).
    label = "INSERT INTO labels VALUES ('2026-03-02', 'Europe/Berlin', ?, ?, 'helpers', 'then')"
    start, end = 1772488800.0, 1772517600.0  # 22:00Z, 06:00Z
    feature = "INSERT INTO features VALUES ('__home__', ?, ?, 'motion_count', 0.0, 1, 'then')"
    await write_database_at_version(
        path,
        3,
        [
            (label, (start, end)),
            (feature, (start + 900, start + 1800)),
            (feature, (end, end + 900)),
        ],
    )
    database = Database(path)
    await database.open()
    try:
        assert await database.get_metadata("schema_version") == str(SCHEMA_VERSION)
        assert await database.get_metadata("contract_version") == "2"
        old = await database.fetchall("SELECT window_start, asleep FROM vw_clr_training_dataset")
        assert [tuple(row) for row in old] == [(start + 900, 1)]
        assert await store.async_fill_label_noons(database) == 1
        assert await store.async_fill_label_noons(database) == 0
        new = await database.fetchall(
            "SELECT window_start, asleep FROM vw_clr_training_dataset_v2 ORDER BY window_start"
        )
        assert [tuple(row) for row in new] == [(start + 900, 1), (end, 0)]
        assert await database.fetchall("SELECT * FROM vw_sleep_episodes") == []
    finally:
        await database.close()
