"""The compact ML layout: a database of the previous schema is copied in place, unchanged."""

from __future__ import annotations

from contextlib import closing
from dataclasses import replace
import hashlib
from pathlib import Path
import sqlite3
from typing import Any

import pytest

from custom_components.roomdb.db import compact, database as database_module
from custom_components.roomdb.db.database import Database
from custom_components.roomdb.db.schema import MIGRATIONS
from custom_components.roomdb.ml import store
from custom_components.roomdb.ml.contracts import ML_CONTRACT_VIEWS
from custom_components.roomdb.ml.features import FEATURE_NAMES, FeatureRow, RawEvent
from custom_components.roomdb.ml.ingest import RawEventWriter
from custom_components.roomdb.ml.retention import DAY_SECONDS, async_trim

from .migrations import write_database_at_version

CONTRACT_VIEWS = (*ML_CONTRACT_VIEWS, "vw_entity_areas")
"""The views consumers read: the ML layer's pinned ones and the registry mirror's."""

PREVIOUS = MIGRATIONS.index(
    next(m for m in MIGRATIONS if m[2][-1].startswith("CREATE VIEW vw_sleep"))
)
"""Index of the last migration before the compact layout (its tables are what is copied)."""

START = 1_772_400_000.0  # 2026-03-01T21:20Z
ROOMS = ("kitchen", "hall", None)
EVENTS = 2600
WINDOWS = 200


def _old_raw_rows() -> list[tuple[Any, ...]]:
    """Rows as the previous ingest wrote them: sha1 dedupe key, µs-rounded REAL time."""
    rows = []
    for i in range(EVENTS):
        room = ROOMS[i % 3]
        entity, domain, device_class = (
            (f"binary_sensor.motion_{i % 7}", "binary_sensor", "motion")
            if i % 2
            else (f"light.lamp_{i % 5}", "light", None)
        )
        state = ("on", "off", "unavailable")[i % 3]
        old = None if i % 11 == 0 else ("off", "on", "unknown")[i % 3]
        ts = round(START + i * 13.000271, 6)
        key = hashlib.sha1(
            f"{entity}\x1f{ts:.6f}\x1f{state}".encode(), usedforsecurity=False
        ).hexdigest()
        rows.append((key, entity, domain, device_class, room, state, old, ts))
    return rows


def _old_feature_rows() -> list[tuple[Any, ...]]:
    start = START - START % 900
    return [
        (
            room,
            start + w * 900.0,
            start + (w + 1) * 900.0,
            name,
            (w * 7 + len(name)) % 13 / 4.0,
            2,
            f"2026-03-0{1 + w // 100}T00:00:00.{w:06d}+00:00",
        )
        for w in range(WINDOWS)
        for room in ("__home__", "kitchen")
        for name in ("motion_count", "light_on_fraction", "tod_sin")
    ]


async def _write_previous(path: Path) -> None:
    await write_database_at_version(path, PREVIOUS + 1, [])
    start = START - START % 900
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executemany(
            "INSERT OR IGNORE INTO raw_events (dedupe_key, entity_id, domain, device_class, "
            "room_id, state, old_state, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            _old_raw_rows(),
        )
        conn.executemany("INSERT INTO features VALUES (?, ?, ?, ?, ?, ?, ?)", _old_feature_rows())
        conn.executemany(
            "INSERT INTO labels VALUES (?, 'Europe/Berlin', ?, ?, 'helpers', 'then', ?)",
            [
                ("2026-03-01", start + 3600, start + 30 * 3600, start + 40 * 3600),
                ("2026-03-02", start + 50 * 3600, start + 150 * 3600, None),
            ],
        )


_READS = {
    "raw_events": "SELECT entity_id, domain, device_class, room_id, state, old_state, ts "
    "FROM raw_events",
    "features": "SELECT room_id, window_start, window_end, feature_name, value, "
    "feature_set_version, computed_at FROM features",
    **{view: f"SELECT * FROM {view}" for view in CONTRACT_VIEWS},
}


def _answers(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the raw events, the features and each contract view, in a fixed order."""
    with closing(sqlite3.connect(path)) as conn:
        return {
            name: sorted(
                (tuple(row) for row in conn.execute(sql)), key=lambda row: [repr(v) for v in row]
            )
            for name, sql in _READS.items()
        }


def _types(path: Path, name: str) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT name, type FROM pragma_table_info(?)", (name,))
        return [(str(row[0]), str(row[1])) for row in rows]


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Copy in many batches, so a copy can be interrupted and resumed."""
    monkeypatch.setattr("custom_components.roomdb.db.database.RAW_COPY_BATCH", 300)
    monkeypatch.setattr(compact, "MAX_RAW_COPY_BATCH", 300)
    monkeypatch.setattr(compact, "FEATURE_COPY_WINDOWS_SECONDS", 20 * 900.0)


async def test_previous_schema_is_copied_with_every_row_and_view_answer_unchanged(
    tmp_path: Path, small_batches: None
) -> None:
    path = tmp_path / "roomdb.db"
    await _write_previous(path)
    before = _answers(path)
    types_before = {view: _types(path, view) for view in CONTRACT_VIEWS}
    assert len(before["raw_events"]) == EVENTS
    assert len(before["features"]) == WINDOWS * 6
    assert before["vw_clr_training_dataset"] and before["vw_clr_training_dataset_v2"]

    database = Database(path)
    await database.open()
    # The copy runs in the background: the old rows are all readable meanwhile.
    assert database.legacy_pending
    row = await database.fetchone("SELECT COUNT(*) FROM raw_events")
    assert row is not None and row[0] == EVENTS
    stats = await database.stats()
    assert stats.row_counts["raw_events"] == EVENTS
    assert stats.row_counts["features"] == WINDOWS * 6
    assert stats.raw_event_days == pytest.approx((EVENTS - 1) * 13.000271 / 86400, abs=0.01)
    # Stopped midway, it resumes from the last committed batch at the next start.
    await database.close()
    with closing(sqlite3.connect(path)) as conn:
        copied = conn.execute(
            "SELECT value FROM metadata WHERE key = 'ml_compact_copied_raw_id'"
        ).fetchone()[0]
        compact_rows = conn.execute("SELECT COUNT(*) FROM ml_raw_events").fetchone()[0]
    assert 0 < compact_rows == int(copied) < EVENTS
    assert _answers(path) == before

    database = Database(path)
    await database.open()
    await database.wait_for_compact_copy()
    assert not database.legacy_pending
    await database.close()

    with closing(sqlite3.connect(path)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        stored = conn.execute("SELECT COUNT(*) FROM ml_raw_events").fetchone()[0]
    assert "raw_events_v4" not in tables and "features_v4" not in tables
    assert stored == EVENTS
    assert _answers(path) == before
    assert {view: _types(path, view) for view in CONTRACT_VIEWS} == types_before


async def test_replay_after_the_copy_adds_no_row(tmp_path: Path) -> None:
    path = tmp_path / "roomdb.db"
    await _write_previous(path)
    database = Database(path)
    await database.open()
    await database.wait_for_compact_copy()
    writer = RawEventWriter(database)
    for _key, *fields in _old_raw_rows()[:500]:
        writer.write(RawEvent(*fields))
    await database.flush()
    row = await database.fetchone("SELECT COUNT(*) FROM ml_raw_events")
    assert row is not None and row[0] == EVENTS
    # The dictionaries were read back at open: a replay reuses the copied keys.
    entities = await database.fetchone("SELECT COUNT(*) FROM ml_entities")
    assert entities is not None and entities[0] == len(database.dictionaries.entities)
    await database.close()


async def test_a_batch_of_several_multi_row_statements_stores_every_event_once(
    tmp_path: Path,
) -> None:
    """Raw events go in statements of `RAW_EVENTS_PER_STATEMENT` rows, the rest one by one."""
    database = Database(tmp_path / "roomdb.db", batch_size=10_000, flush_interval=60)
    await database.open()
    writer = RawEventWriter(database)
    per_statement = compact.RAW_EVENTS_PER_STATEMENT
    events = [
        RawEvent(f"light.l{i % 7}", "light", None, "hall", ("on", "off")[i % 2], None, START + i)
        for i in range(2 * per_statement + 37)
    ]
    # Replays inside the batch: in the same statement, in the next one and in the leftover rows.
    replayed = [events[0], events[per_statement - 1], events[per_statement + 3], events[-1]]
    for event in [*events[:per_statement], *replayed, *events[per_statement:], *replayed]:
        writer.write(event)
    assert await database.flush() == len(events) + 2 * len(replayed) + 7 + 2
    # A batch of whole statements, no row left over.
    more = [replace(event, ts=event.ts + 10_000) for event in events[: 2 * per_statement]]
    for event in more:
        writer.write(event)
    assert await database.flush() == 2 * per_statement
    stored = await database.fetchall(
        "SELECT entity_id, domain, device_class, room_id, state, old_state, ts "
        "FROM raw_events ORDER BY ts_us"
    )
    assert [RawEvent(*row) for row in stored] == events + more
    await database.close()


async def test_a_rejected_batch_keeps_its_dictionary_rows(tmp_path: Path) -> None:
    database = Database(tmp_path / "roomdb.db")
    await database.open()
    writer = RawEventWriter(database)
    writer.write(RawEvent("light.a", "light", None, "hall", "on", "off", START))
    database.enqueue_one("INSERT INTO metadata (key, value) VALUES (?, NULL)", ("x",))
    assert await database.flush() == 0
    assert database.queued_rows == 3  # the entity and both states
    assert await database.flush() == 3
    row = await database.fetchone("SELECT COUNT(*) FROM ml_states")
    assert row is not None and row[0] == 2
    await database.close()


async def test_reads_writes_and_trims_see_the_old_rows_while_they_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "roomdb.db"
    await _write_previous(path)

    async def hold(_database: Database) -> None:
        """The background copy does not start: the old tables stay as they are."""

    monkeypatch.setattr(Database, "_copy_legacy", hold)
    monkeypatch.setattr("custom_components.roomdb.db.database.RAW_COPY_BATCH", 100)
    database = Database(path)
    await database.open()
    try:
        assert database.legacy_pending  # one batch of 100 was copied at open, the rest waits
        old = _old_raw_rows()
        first, last = await store.async_event_span(database)
        assert (first, last) == (old[0][7], old[-1][7])
        # Events from both tables, in time order; each entity's last state before a moment.
        events = await store.async_events_between(database, old[50][7], old[150][7])
        assert [e.ts for e in events] == [row[7] for row in old[50:150]]
        carry = {e.entity_id: e.ts for e in await store.async_carry_in(database, old[150][7])}
        expected: dict[str, float] = {}
        for row in old[:150]:
            expected[row[1]] = row[7]
        assert carry == expected

        # A window written again replaces the old table's rows of that window (no duplicates).
        window = _old_feature_rows()[-1][1]
        row = FeatureRow("kitchen", window, window + 900, tuple(0.5 for _ in FEATURE_NAMES))
        assert await store.async_write_features(database, [row]) == len(FEATURE_NAMES)
        stored = await database.fetchall(
            "SELECT feature_name, value FROM features WHERE room_id = 'kitchen' "
            "AND window_start = ? AND feature_set_version = 2",
            (window,),
        )
        assert sorted(tuple(r) for r in stored) == sorted((n, 0.5) for n in FEATURE_NAMES)

        # Retention trims the copied raw events (the others once they are copied) and both
        # feature tables.
        now = old[1000][7] + 2 * DAY_SECONDS
        result = await async_trim(database, now=now, raw_days=2, feature_days=2)
        assert result.raw_events == 100  # the batch copied at open
        count = await database.fetchone("SELECT COUNT(*) FROM raw_events")
        assert count is not None
        assert count[0] == EVENTS - 100
        first = _old_feature_rows()[0][1]
        assert result.features == sum(
            1 for f in _old_feature_rows() if f[1] < now - 2 * DAY_SECONDS
        )
        assert result.features > 0 and first < now - 2 * DAY_SECONDS
    finally:
        await database.close()


async def test_a_failing_copy_stops_and_leaves_the_old_rows_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "roomdb.db"
    await _write_previous(path)
    before = _answers(path)
    batches = 0

    async def fail_after_the_first(*args: Any) -> int:
        nonlocal batches
        batches += 1
        if batches > 1:
            raise sqlite3.OperationalError("disk I/O error")
        return await real(*args)

    real = database_module.copy_raw_batch
    monkeypatch.setattr(database_module, "copy_raw_batch", fail_after_the_first)
    database = Database(path)
    await database.open()
    await database.wait_for_compact_copy()
    assert database.legacy_pending
    assert "Copying roomdb.db into the compact layout stopped" in caplog.text
    await database.close()
    assert _answers(path) == before
