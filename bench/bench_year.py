"""A synthetic year in the compact layout, and the in-place copy of a previous-schema database.

Year: `events` raw events (18M for a year of 200 entities at 50k state changes a day; set
ROOMDB_BENCH_YEAR_EVENTS to run another size, the figures say which size ran) of 200 entities in
20 rooms, spread evenly over 365 days, plus a year of feature windows (20 rooms and the home,
13 features, every 15 minutes) and 42 labelled nights, generated straight into the compact tables
with `executemany`. Measured: file size and bytes per raw event (dbstat: `ml_raw_events` and its
index), the oldest day purged through `retention.async_trim` on 10 days in a row (3 with
`--quick`) with the longest time one slice held the writer each day, the features of one day
computed and written as the pipeline does, and the contract views' query times over the last
6 weeks.

Copy: a database written by the previous schema (today's migrations up to the compact layout)
with 1M raw events in the old wide rows, opened by the current code: events copied per second,
with the batch the writer holds at once.
"""

from __future__ import annotations

import asyncio
from contextlib import closing
import hashlib
import os
from pathlib import Path
import random
import sqlite3
import statistics
import tempfile
import time
from typing import Any

from bench.bench_bus_ingest import stored_bytes
from custom_components.roomdb.db import compact
from custom_components.roomdb.db.database import Database
from custom_components.roomdb.db.schema import MIGRATIONS
from custom_components.roomdb.ml import store
from custom_components.roomdb.ml.features import (
    DEFAULT_WINDOW_SECONDS,
    FEATURE_NAMES,
    HOME_ROOM_ID,
    compute_features,
)
from custom_components.roomdb.ml.retention import async_trim
from custom_components.roomdb.timestamps import iso_from_timestamp
from tests.db.migrations import write_database_at_version

DAY = 86400
YEAR_DAYS = 365
END = 1_798_761_600  # 2027-01-01T00:00Z
START = END - YEAR_DAYS * DAY
ROOMS = [f"room_{i:02d}" for i in range(20)]
KINDS = (
    ("binary_sensor", "motion", ("on", "off")),
    ("light", None, ("on", "off")),
    ("switch", None, ("on", "off")),
    ("media_player", None, ("playing", "paused", "off")),
    ("binary_sensor", "door", ("on", "off")),
)
STATES = ("on", "off", "playing", "paused", "unavailable")
CONTRACT_QUERIES = {
    "vw_bocpd_feature_stream": "SELECT * FROM vw_bocpd_feature_stream WHERE window_start >= ?",
    "vw_clr_training_dataset": "SELECT * FROM vw_clr_training_dataset WHERE window_start >= ?",
    "vw_clr_training_dataset_v2": (
        "SELECT * FROM vw_clr_training_dataset_v2 WHERE window_start >= ?"
    ),
    "vw_latest_feature_snapshot": "SELECT * FROM vw_latest_feature_snapshot WHERE ? IS NOT NULL",
}
PREVIOUS_VERSION = next(v for v, _d, s in MIGRATIONS if "vw_sleep_episodes" in "".join(s))


def _entities() -> list[tuple[int, str, str, str | None, str]]:
    """(key, entity_id, domain, device_class, room) of the 200 entities."""
    rows = []
    for i in range(200):
        domain, device_class, _states = KINDS[i % len(KINDS)]
        rows.append((i + 1, f"{domain}.e{i:03d}", domain, device_class, ROOMS[i % len(ROOMS)]))
    return rows


def _raw_rows(events: int) -> object:
    """Compact rows in time order: each event a new state of a random entity."""
    rng = random.Random(17)
    step = YEAR_DAYS * DAY * 1_000_000 // events
    current = [0] * 200
    for i in range(events):
        entity = rng.randrange(200)
        states = KINDS[entity % len(KINDS)][2]
        old = current[entity]
        new = (old + 1) % len(states)
        current[entity] = new
        yield (
            START * 1_000_000 + i * step,
            entity + 1,
            STATES.index(states[new]) + 1,
            STATES.index(states[old]) + 1,
        )


def _feature_rows() -> object:
    keys = len([HOME_ROOM_ID, *ROOMS]) * len(FEATURE_NAMES)
    for w in range(YEAR_DAYS * DAY // DEFAULT_WINDOW_SECONDS):
        start = float(START + w * DEFAULT_WINDOW_SECONDS)
        run = w // 96 + 1
        for key in range(1, keys + 1):
            yield (start, key, 2, start + DEFAULT_WINDOW_SECONDS, (w * key) % 17 / 8.0, run)


def generate(path: Path, events: int) -> float:
    """Write the year into a migrated database; return the seconds it took."""
    asyncio.run(_create(path))
    started = time.perf_counter()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        with conn:
            conn.executemany(compact.INSERT_ENTITY, _entities())
            conn.executemany(compact.INSERT_STATE, list(enumerate(STATES, 1)))
            conn.executemany(compact.INSERT_RAW_EVENT_COMPACT, _raw_rows(events))
            conn.executemany(
                "INSERT INTO ml_feature_keys (feature_key, room_id, feature_name) VALUES (?,?,?)",
                [
                    (i + 1, room, name)
                    for i, (room, name) in enumerate(
                        (r, n) for r in [HOME_ROOM_ID, *ROOMS] for n in FEATURE_NAMES
                    )
                ],
            )
            conn.executemany(
                "INSERT INTO ml_feature_runs (run_key, computed_at) VALUES (?, ?)",
                [(d + 1, iso_from_timestamp(START + (d + 1) * DAY)) for d in range(YEAR_DAYS)],
            )
            conn.executemany("INSERT INTO ml_features VALUES (?, ?, ?, ?, ?, ?)", _feature_rows())
            conn.executemany(
                "INSERT INTO labels VALUES (?, 'UTC', ?, ?, 'bench', 'then', ?)",
                [
                    (
                        iso_from_timestamp(END - d * DAY)[:10],
                        END - d * DAY - 2 * 3600,
                        END - d * DAY + 6 * 3600,
                        END - d * DAY + 12 * 3600,
                    )
                    for d in range(43, 1, -1)
                ],
            )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # Written without syncs for speed: flush the file now, so that the first commit measured
    # below does not pay for the generator's gigabyte of unsynced pages.
    with path.open("rb+") as file:
        os.fsync(file.fileno())
    return time.perf_counter() - started


async def _create(path: Path) -> None:
    database = Database(path)
    await database.open()
    await database.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _measure(path: Path, repeats: int, purge_days: int) -> dict[str, Any]:
    database = Database(path, batch_size=10_000)
    await database.open()
    figures: dict[str, Any] = {}
    try:
        # Day after day, as the nightly trim would: each trim deletes the oldest day left.
        holds: list[float] = []
        slices, rows, seconds = 0, 0, 0.0
        for later in range(purge_days):
            started = time.perf_counter()
            trim = await async_trim(
                database,
                now=END + later * DAY,
                raw_days=YEAR_DAYS - 1,
                feature_days=YEAR_DAYS - 1,
            )
            seconds += time.perf_counter() - started
            holds.append(trim.longest_slice_seconds * 1000)
            slices += trim.slices
            rows += trim.raw_events + trim.features
        figures["purge_day_s"] = seconds / purge_days
        figures["purge_day_rows"] = rows / purge_days
        figures["purge_day_slices"] = slices / purge_days
        figures["purge_longest_ms"] = max(holds)
        figures["purge_holds_ms"] = holds

        day = END - 2 * DAY
        started = time.perf_counter()
        carry = await store.async_carry_in(database, day)
        events = await store.async_events_between(database, day, day + DAY)
        read = time.perf_counter()
        rows = await asyncio.get_running_loop().run_in_executor(
            None,
            lambda: compute_features((*carry, *events), day, day + DAY, rooms=ROOMS),
        )
        computed = time.perf_counter()
        await store.async_write_features(database, rows)
        figures["feature_day_s"] = time.perf_counter() - started
        figures["feature_day_read_s"] = read - started
        figures["feature_day_compute_s"] = computed - read
        figures["feature_day_events"] = len(events)

        since = END - 42 * DAY
        for view, sql in CONTRACT_QUERIES.items():
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                await database.fetchall(sql, (since,))
                times.append(time.perf_counter() - started)
            figures[f"{view}_p50_ms"] = statistics.median(times) * 1000
            figures[f"{view}_p99_ms"] = _percentile(times, 0.99) * 1000
    finally:
        await database.close()
    return figures


def _old_rows(events: int) -> object:
    entities = _entities()
    for ts_us, entity, state, old in _raw_rows(events):
        _key, entity_id, domain, device_class, room = entities[entity - 1]
        ts = ts_us / 1_000_000
        new_state, old_state = STATES[state - 1], STATES[old - 1]
        yield (
            hashlib.sha1(
                f"{entity_id}\x1f{ts:.6f}\x1f{new_state}".encode(), usedforsecurity=False
            ).hexdigest(),
            entity_id,
            domain,
            device_class,
            room,
            new_state,
            old_state,
            ts,
        )


async def _copy(path: Path, events: int) -> tuple[float, int]:
    await write_database_at_version(path, PREVIOUS_VERSION, [])
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executemany(
            "INSERT INTO raw_events (dedupe_key, entity_id, domain, device_class, room_id, "
            "state, old_state, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            _old_rows(events),
        )
    size_before = path.stat().st_size
    database = Database(path)
    started = time.perf_counter()
    await database.open()
    await database.wait_for_compact_copy()
    elapsed = time.perf_counter() - started
    row = await database.fetchone("SELECT COUNT(*) FROM ml_raw_events")
    await database.close()
    assert row is not None
    assert row[0] == events, row
    return elapsed, size_before


def run(quick: bool) -> list[dict[str, object]]:
    default = "1000000" if quick else "18000000"
    events = int(os.environ.get("ROOMDB_BENCH_YEAR_EVENTS", default))
    copied = 100_000 if quick else 1_000_000
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "copy.db"
        copy_s, _ = asyncio.run(_copy(path, copied))
        rows.append(
            {
                "benchmark": "compact copy",
                "metric": f"previous-schema database, {copied:,} raw events copied in place "
                f"(batches sized to {compact.COPY_TARGET_SECONDS * 1000:.0f} ms)",
                "roomdb": copied / copy_s,
                "baseline": "",
                "unit": "ev/s",
                "ratio": "",
                "target": "< 60 s per 1M",
                "met": copy_s * 1_000_000 / copied < 60,
            }
        )
        path.unlink()
        path = Path(tmp) / "year.db"
        generate_s = generate(path, events)
        size = path.stat().st_size
        per_event = stored_bytes(path, ("ml_raw_events",), vacuum=False) / events
        figures = asyncio.run(_measure(path, 3 if quick else 5, 3 if quick else 10))
    scale = f"{events / 1e6:g}M events"
    rows += [
        {
            "benchmark": "year",
            "metric": f"{scale}: file size (generated in {generate_s:.0f} s); extrapolated to 18M",
            "roomdb": f"{size / 2**20:,.0f} MiB",
            "baseline": f"{size / 2**20 * 18e6 / events:,.0f} MiB",
            "unit": "",
            "ratio": "",
            "target": "(report)",
            "met": True,
        },
        {
            "benchmark": "year",
            "metric": f"{scale}: bytes per raw event (ml_raw_events + index)",
            "roomdb": per_event,
            "baseline": "",
            "unit": "B",
            "ratio": "",
            "target": "<= 50 B",
            "met": per_event <= 50,
        },
        {
            "benchmark": "year",
            "metric": f"{scale}: purge of one day ({figures['purge_day_rows']:,.0f} rows, "
            f"{figures['purge_day_slices']:.0f} slices), {len(figures['purge_holds_ms'])} days "
            "in a row; longest hold of the writer per day: "
            + ", ".join(f"{ms:.0f}" for ms in figures["purge_holds_ms"])
            + " ms",
            "roomdb": f"{figures['purge_day_s']:.2f} s per day",
            "baseline": figures["purge_longest_ms"],
            "unit": "ms",
            "ratio": "",
            "target": "every slice < 100 ms",
            "met": figures["purge_longest_ms"] < 100,
        },
        {
            "benchmark": "year",
            "metric": f"{scale}: features of one day ({figures['feature_day_events']:,.0f} "
            "events, 96 windows x 21 rooms) read, computed, written "
            f"(read {figures['feature_day_read_s']:.2f} s, "
            f"compute {figures['feature_day_compute_s']:.2f} s)",
            "roomdb": figures["feature_day_s"],
            "baseline": "",
            "unit": "s",
            "ratio": "",
            "target": "(report)",
            "met": True,
        },
    ]
    for view in CONTRACT_QUERIES:
        rows.append(
            {
                "benchmark": "year",
                "metric": f"{scale}: {view}, last 6 weeks, p50 / p99",
                "roomdb": figures[f"{view}_p50_ms"],
                "baseline": figures[f"{view}_p99_ms"],
                "unit": "ms",
                "ratio": "",
                "target": "(report)",
                "met": True,
            }
        )
    return rows


if __name__ == "__main__":
    for row in run(quick=True):
        print(row)
