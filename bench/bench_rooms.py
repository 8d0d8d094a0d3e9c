"""Room database: bulk writes, 10,000-row export, single-write latency (domain layer, real files).

* bulk_update of 1,000 items through ``RoomConfigStore.bulk_upsert`` (per-item validation,
  admission and limiter; one transaction per 250-item chunk) vs the naive loop of one
  ``upsert`` — one transaction and commit — per item.
* Export of 10,000 rows: rows read through the one connection, document built and written
  atomically in the executor. Figures: the export time (target < 250 ms), the longest event-loop
  stall while it runs (a 1 ms heartbeat; the GIL switch interval of 5 ms is the floor) vs the
  naive build + ``json.dump`` in the loop, and a burst of 50 writes with the debounced export
  (one export) vs an export after every write.
* Single ``update_config`` (``store.upsert``) p50 vs a bare ``INSERT … ON CONFLICT`` + commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
import random
import statistics
import tempfile
import time
from typing import Any

import aiosqlite

from custom_components.roomdb.db.database import Database
from custom_components.roomdb.db.schema import SCHEMA_VERSION
from custom_components.roomdb.rooms.export import write_document
from custom_components.roomdb.rooms.export_doc import build_export, write_atomic
from custom_components.roomdb.rooms.limiter import WriteLimiter
from custom_components.roomdb.rooms.mapping import AreaMapping, Room
from custom_components.roomdb.rooms.store import RoomConfigStore, WriteRequest

DOMAINS = ("motion_lighting", "activity", "ml", "climate_schedule")


def _mapping(rooms: int) -> AreaMapping:
    return AreaMapping(
        rooms={f"room_{i:05d}": Room(f"room_{i:05d}", f"Room {i}", DOMAINS) for i in range(rooms)}
    )


async def _open(path: Path, mapping: AreaMapping) -> tuple[Database, RoomConfigStore]:
    database = Database(path)
    await database.open()
    store = RoomConfigStore(database, lambda: mapping, WriteLimiter(1.0, 0.2, random.Random(1)))
    return database, store


def _items(count: int, tag: str) -> list[WriteRequest]:
    return [
        WriteRequest(
            DOMAINS[i % 2], f"room_{i // 2:05d}", {"timeout": 300 + i, "enabled": True, "tag": tag}
        )
        for i in range(count)
    ]


async def _bulk(tmp: Path, count: int) -> tuple[float, float]:
    mapping = _mapping(count)
    database, store = await _open(tmp / "bulk.db", mapping)
    started = time.perf_counter()
    results = await store.bulk_upsert(_items(count, "bulk"))
    bulk = time.perf_counter() - started
    assert all(r.ok for r in results)
    await database.close()

    database, store = await _open(tmp / "naive.db", mapping)
    started = time.perf_counter()
    for request in _items(count, "naive"):
        result = await store.upsert(request.domain, request.room_id, request.config_data)
        assert result.ok
    naive = time.perf_counter() - started
    await database.close()
    return bulk, naive


async def _max_stall(work: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """Run ``work`` while a 1 ms heartbeat measures the longest loop stall; (duration, stall)."""
    stall = 0.0
    running = True

    async def heartbeat() -> None:
        nonlocal stall
        while running:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            stall = max(stall, time.perf_counter() - before - 0.001)

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.005)
    started = time.perf_counter()
    await work()
    duration = time.perf_counter() - started
    running = False
    await beat
    return duration, stall


async def _export(tmp: Path, rows: int, burst: int) -> dict[str, float]:
    mapping = _mapping(rows // len(DOMAINS))
    database, store = await _open(tmp / "export.db", mapping)
    requests = [
        WriteRequest(domain, room_id, {"timeout": 300, "enabled": True, "lux": [10, 20], "n": n})
        for n, (domain, room_id) in enumerate(
            (domain, room_id) for room_id in mapping.rooms for domain in DOMAINS
        )
    ]
    assert all(r.ok for r in await store.bulk_upsert(requests))
    loop = asyncio.get_running_loop()
    path = tmp / "room_db_export.json"

    async def export_in_executor() -> None:
        exported = await store.export_rows()
        await loop.run_in_executor(None, write_document, path, exported, datetime.now(UTC))

    async def export_in_loop() -> None:
        # The naive way: build the document and json.dump it (indent=2) in the event loop.
        exported = await store.export_rows()
        write_atomic(path, build_export(exported, SCHEMA_VERSION, datetime.now(UTC)))

    await export_in_executor()  # warm-up (page cache, imports)
    timings = [await _max_stall(export_in_executor) for _ in range(5)]
    in_loop = [await _max_stall(export_in_loop) for _ in range(3)]

    # A burst of writes: one debounced export vs an export after each write.
    store.limiter = WriteLimiter(0.0)
    started = time.perf_counter()
    for i in range(burst):
        await store.upsert("activity", f"room_{i:05d}", {"burst": i})
    await export_in_executor()
    debounced = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(burst):
        await store.upsert("activity", f"room_{i:05d}", {"burst": -i})
        await export_in_executor()
    per_write = time.perf_counter() - started
    await database.close()
    return {
        "export_s": statistics.median(t for t, _ in timings),
        "stall_executor_s": statistics.median(s for _, s in timings),
        "stall_loop_s": statistics.median(s for _, s in in_loop),
        "burst_debounced_s": debounced,
        "burst_per_write_s": per_write,
    }


async def _single(tmp: Path, count: int) -> tuple[float, float]:
    mapping = _mapping(count)
    database, store = await _open(tmp / "single.db", mapping)
    latencies = []
    for i in range(count):
        started = time.perf_counter()
        result = await store.upsert("motion_lighting", f"room_{i:05d}", {"timeout": i})
        latencies.append(time.perf_counter() - started)
        assert result.ok
    await database.close()

    bare = []
    async with aiosqlite.connect(tmp / "single.db", isolation_level=None) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        for i in range(count):
            started = time.perf_counter()
            await conn.execute("BEGIN IMMEDIATE")
            await conn.execute(
                "INSERT INTO room_configs VALUES (?, ?, ?, 1, 'now', 'now') "
                "ON CONFLICT (config_domain, room_id) DO UPDATE SET "
                "config_data = excluded.config_data, version = version + 1",
                ("activity", f"room_{i:05d}", f'{{"timeout":{i}}}'),
            )
            await conn.execute("COMMIT")
            bare.append(time.perf_counter() - started)
    return statistics.median(latencies), statistics.median(bare)


def _row(
    metric: str, roomdb: float, baseline: float, unit: str, *, target: str, met: bool
) -> dict[str, object]:
    return {
        "benchmark": "rooms",
        "metric": metric,
        "roomdb": roomdb,
        "baseline": baseline,
        "unit": unit,
        "ratio": baseline / roomdb if roomdb else float("inf"),
        "target": target,
        "met": met,
    }


def run(quick: bool) -> list[dict[str, object]]:
    bulk_items = 1000
    export_rows = 10_000
    burst = 10 if quick else 50
    singles = 200 if quick else 1000
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        bulk, naive = asyncio.run(_bulk(tmp, bulk_items))
        export = asyncio.run(_export(tmp, export_rows, burst))
        p50, bare_p50 = asyncio.run(_single(tmp, singles))
    bulk_rate, naive_rate = bulk_items / bulk, bulk_items / naive
    return [
        {
            **_row(
                "bulk_update 1,000 items (items/s, vs commit per item)",
                bulk_rate,
                naive_rate,
                "items/s",
                target=">= 5x",
                met=bulk_rate / naive_rate >= 5,
            ),
            "ratio": bulk_rate / naive_rate,
        },
        _row(
            "export 10,000 rows, in executor (s)",
            export["export_s"],
            0.250,
            "s",
            target="< 0.25 s",
            met=export["export_s"] < 0.250,
        ),
        _row(
            "longest event-loop stall in a 10k export (s, median of 5; vs naive in-loop)",
            max(export["stall_executor_s"], 1e-4),
            export["stall_loop_s"],
            "s",
            target="< 0.02 s",
            met=export["stall_executor_s"] < 0.020,
        ),
        _row(
            f"{burst} writes + export on 10k rows (s, debounced vs export per write)",
            export["burst_debounced_s"],
            export["burst_per_write_s"],
            "s",
            target=">= 5x",
            met=export["burst_per_write_s"] / export["burst_debounced_s"] >= 5,
        ),
        _row(
            "single update_config p50 (s, vs bare upsert+commit)",
            p50,
            bare_p50,
            "s",
            target="p50 < 5 ms",
            met=p50 < 0.005,
        ),
    ]
