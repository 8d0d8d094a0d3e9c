"""Baselines shared by several benchmarks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
import time

import aiosqlite

from custom_components.roomdb.db.database import Database


async def per_row_commit(path: Path, sql: str, rows: Sequence[Sequence[object]]) -> float:
    """Insert `rows` into a migrated database with one transaction each, as HA's recorder does
    with `commit_interval: 0`; return the seconds it took."""
    database = Database(path)
    await database.open()
    await database.close()
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        started = time.perf_counter()
        for row in rows:
            await conn.execute("BEGIN")
            await conn.execute(sql, row)
            await conn.execute("COMMIT")
        return time.perf_counter() - started
