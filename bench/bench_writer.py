"""Batched writer vs one commit per row (HA recorder with `commit_interval: 0`), real files."""

from __future__ import annotations

import asyncio
from pathlib import Path
import tempfile
import time

from bench.baselines import per_row_commit
from custom_components.roomdb.db.compact import INSERT_RAW_EVENT_COMPACT as INSERT
from custom_components.roomdb.db.database import Database


def _rows(count: int, offset: int) -> list[tuple[object, ...]]:
    """Compact raw-event rows: time in µs, entity key, state key, old state key."""
    return [
        (1_700_000_000_000_000 + (offset + i) * 1_000_000, i % 20 + 1, 1 + i % 2, 2 - i % 2)
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
        baseline = asyncio.run(per_row_commit(Path(tmp) / "per_row.db", INSERT, _rows(count, 0)))
        roomdb = asyncio.run(_batched(Path(tmp) / "batched.db", _rows(count, count)))
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
