"""Batched writer vs one commit per row (HA recorder with `commit_interval: 0`), real files."""

from __future__ import annotations

import asyncio
from pathlib import Path
import tempfile
import time

from bench.baselines import per_row_commit
from custom_components.roomdb.db.database import Database

INSERT = (
    "INSERT INTO raw_events (dedupe_key, entity_id, domain, device_class, room_id, state, "
    "old_state, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _rows(count: int, prefix: str) -> list[tuple[object, ...]]:
    return [
        (
            f"{prefix}{i}",
            f"binary_sensor.motion_{i % 20}",
            "binary_sensor",
            "motion",
            f"room_{i % 8}",
            "on" if i % 2 else "off",
            "off" if i % 2 else "on",
            1.7e9 + i,
        )
        for i in range(count)
    ]


async def _batched(path: Path, rows: list[tuple[object, ...]]) -> float:
    database = Database(path, batch_size=1000, flush_interval=1.0)
    await database.open()
    started = time.perf_counter()
    for start in range(0, len(rows), 100):
        database.enqueue(INSERT, rows[start : start + 100])
        await asyncio.sleep(0)
    await database.close()
    return time.perf_counter() - started


def run(quick: bool) -> list[dict[str, object]]:
    count = 10_000 if quick else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        baseline = asyncio.run(per_row_commit(Path(tmp) / "per_row.db", INSERT, _rows(count, "p")))
        roomdb = asyncio.run(_batched(Path(tmp) / "batched.db", _rows(count, "b")))
    ratio = baseline / roomdb
    return [
        {
            "benchmark": "writer",
            "metric": f"insert {count:,} rows (s)",
            "roomdb": roomdb,
            "baseline": baseline,
            "unit": "s",
            "ratio": ratio,
            "target": ">= 15x",
            "met": ratio >= 15,
        },
        {
            "benchmark": "writer",
            "metric": "rows per second",
            "roomdb": count / roomdb,
            "baseline": count / baseline,
            "unit": "rows/s",
            "ratio": ratio,
            "target": "",
            "met": True,
        },
    ]
