"""ML ingest: raw events through RoomDB's ingest path (dictionary keys, batching writer) vs row
commits.

Both sides write the same compact rows with the same `INSERT OR IGNORE`; RoomDB turns each event
into its row through `RawEventWriter.write` (dictionary lookups, µs time) and queues it on the
batching writer as the state listener does, the baseline commits every prebuilt row on its own.
A replay of the same events through RoomDB adds no row.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
import tempfile
import time

import aiosqlite

from bench.baselines import per_row_commit
from custom_components.roomdb.db.compact import INSERT_RAW_EVENT_COMPACT
from custom_components.roomdb.db.database import Database
from custom_components.roomdb.ml.features import RawEvent
from custom_components.roomdb.ml.ingest import RawEventWriter

ROOMS = ("bathroom", "bedroom", "hallway", "kitchen", "living_room", "office", "hall", "attic")


def _events(count: int, start: float) -> list[RawEvent]:
    events = []
    for i in range(count):
        room = ROOMS[i % len(ROOMS)]
        if i % 3:
            entity_id, domain, device_class = (
                f"binary_sensor.{room}_motion",
                "binary_sensor",
                "motion",
            )
        else:
            entity_id, domain, device_class = f"light.{room}", "light", None
        state, old = ("on", "off") if i % 2 else ("off", "on")
        events.append(RawEvent(entity_id, domain, device_class, room, state, old, start + i * 0.25))
    return events


async def _ingest(path: Path, events: list[RawEvent]) -> tuple[float, int]:
    """Seconds to ingest everything (closing flushes the queue), and rows added by a replay."""
    database = Database(path, batch_size=1000, flush_interval=1.0)
    await database.open()
    writer = RawEventWriter(database)
    started = time.perf_counter()
    for i, event in enumerate(events):
        writer.write(event)
        if i % 100 == 99:
            await asyncio.sleep(0)  # state changes arrive as separate loop callbacks
    await database.flush()
    elapsed = time.perf_counter() - started
    for event in events[: len(events) // 10]:
        writer.write(event)
    await database.close()
    async with (
        aiosqlite.connect(path) as conn,
        conn.execute("SELECT COUNT(*) FROM ml_raw_events") as cur,
    ):
        row = await cur.fetchone()
    assert row is not None
    return elapsed, int(row[0]) - len(events)


def run(quick: bool) -> list[dict[str, object]]:
    count = 10_000 if quick else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        baseline = asyncio.run(
            per_row_commit(
                Path(tmp) / "per_row.db",
                INSERT_RAW_EVENT_COMPACT,
                [
                    (round(e.ts * 1e6), i % 16 + 1, 1 + i % 2, 2 - i % 2)
                    for i, e in enumerate(_events(count, 1.7e9))
                ],
            )
        )
        roomdb, replayed = asyncio.run(_ingest(Path(tmp) / "ingest.db", _events(count, 1.7e9)))
    ratio = baseline / roomdb
    return [
        {
            "benchmark": "ml ingest",
            "metric": f"ingest {count:,} state changes (rows/s)",
            "roomdb": count / roomdb,
            "baseline": count / baseline,
            "unit": "rows/s",
            "ratio": ratio,
            "target": ">= 15x",
            "met": ratio >= 15,
        },
        {
            "benchmark": "ml ingest",
            "metric": f"rows added by replaying {count // 10:,} events",
            "roomdb": replayed,
            "baseline": 0,
            "unit": "rows",
            "ratio": 1.0,
            "target": "0",
            "met": replayed == 0,
        },
    ]
