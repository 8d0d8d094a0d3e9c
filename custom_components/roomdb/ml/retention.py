"""Retention: raw events and feature windows older than the configured days are deleted.

Recording gaps go with the feature windows they mark. Labels, sleep episodes, training runs,
model artifacts and BOCPD state are kept: they are small and are what the models and other
integrations build on. The contract views are plain views over the tables, so they
stay valid (and simply see fewer rows) after a trim.

A year-long database holds tens of millions of rows, so old rows go in slices: each slice is one
short transaction on the database writer that deletes the oldest rows up to a bound found through
the table's time key, sized so that a slice takes about `SLICE_TARGET_SECONDS` (adapting to the
time the last slice took, growing at most twofold); between slices the lock is free for the ingest
batches.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import time
from typing import Any, Final

from ..db.database import Database
from ..timestamps import epoch_us
from .options import VACUUM_INCREMENTAL, VACUUM_WEEKLY

DAY_SECONDS: Final = 86400.0
WEEKLY_VACUUM_WEEKDAY: Final = 6
"""Sunday: the weekly VACUUM runs with the nightly trim of Sunday morning."""
SLICE_TARGET_SECONDS: Final = 0.02
"""Aim of one slice's transaction; the writer is never held much longer (the goal is < 100 ms)."""
FIRST_SLICE_ROWS: Final = 2000
MIN_SLICE_ROWS: Final = 200
MAX_SLICE_ROWS: Final = 20_000

# (table, indexed time column) pairs; `features_v4` exists only while an old database is copied.
# Old raw events not copied yet are trimmed once they are (the copy goes oldest first).
_FEATURE_TABLES: Final = (("ml_features", "window_start"), ("features_v4", "window_start"))


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """How many rows a trim deleted, the cutoffs it used (UTC epoch seconds) and its slices."""

    raw_events: int
    features: int
    raw_cutoff: float
    feature_cutoff: float
    slices: int = 0
    longest_slice_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The pipeline stage's result fields."""
        return {
            "raw_events_deleted": self.raw_events,
            "features_deleted": self.features,
            "raw_cutoff": self.raw_cutoff,
            "feature_cutoff": self.feature_cutoff,
            "slices": self.slices,
            "longest_slice_ms": round(self.longest_slice_seconds * 1000, 1),
        }


@dataclass(slots=True)
class _Slicer:
    """Deletes in slices and keeps the figures of all slices of one trim."""

    database: Database
    rows: int
    slices: int = 0
    longest: float = 0.0

    async def purge(self, table: str, column: str, cutoff: float) -> int:
        """Delete the rows of `table` with `column < cutoff`, oldest first, slice by slice."""
        deleted = 0
        while True:
            started = time.perf_counter()
            async with self.database.transaction() as conn:
                # The newest value of the next `rows` old rows bounds this slice (ties go with it).
                async with conn.execute(
                    f"SELECT {column} FROM {table} WHERE {column} < ? "  # noqa: S608
                    f"ORDER BY {column} LIMIT 1 OFFSET ?",
                    (cutoff, self.rows - 1),
                ) as cursor:
                    bound = await cursor.fetchone()
                if bound is None:
                    sql, param = f"DELETE FROM {table} WHERE {column} < ?", cutoff  # noqa: S608
                else:
                    sql, param = f"DELETE FROM {table} WHERE {column} <= ?", bound[0]  # noqa: S608
                async with conn.execute(sql, (param,)) as cursor:
                    deleted += cursor.rowcount
            elapsed = time.perf_counter() - started
            self.slices += 1
            self.longest = max(self.longest, elapsed)
            scaled = int(self.rows * SLICE_TARGET_SECONDS / max(elapsed, 1e-4))
            self.rows = max(MIN_SLICE_ROWS, min(MAX_SLICE_ROWS, scaled, self.rows * 2))
            if bound is None:
                return deleted
            await asyncio.sleep(0)  # let queued writes take the lock


async def async_trim(
    database: Database, *, now: float, raw_days: int, feature_days: int
) -> RetentionResult:
    """Delete raw events older than `raw_days` and windows older than `feature_days` days."""
    if raw_days < 1 or feature_days < 1:
        raise ValueError("retention must keep at least one day")
    raw_cutoff = now - raw_days * DAY_SECONDS
    feature_cutoff = now - feature_days * DAY_SECONDS
    slicer = _Slicer(database, FIRST_SLICE_ROWS)
    raw = await slicer.purge("ml_raw_events", "ts_us", epoch_us(raw_cutoff))
    features = 0
    for table, column in _FEATURE_TABLES[: 2 if database.legacy_pending else 1]:
        features += await slicer.purge(table, column, feature_cutoff)
    await database.execute_write(
        "DELETE FROM ml_recording_gaps WHERE end_ts < ?", (feature_cutoff,)
    )
    return RetentionResult(raw, features, raw_cutoff, feature_cutoff, slicer.slices, slicer.longest)


async def async_vacuum(database: Database, mode: str, weekday: int) -> dict[str, Any]:
    """Give the space of deleted rows back as the `db_vacuum` option says (after a trim).

    `weekday` is today's local weekday (0 = Monday); the weekly VACUUM runs on Sundays.
    """
    if mode == VACUUM_INCREMENTAL:
        freed = await database.vacuum(incremental=True)
    elif mode == VACUUM_WEEKLY and weekday == WEEKLY_VACUUM_WEEKDAY:
        freed = await database.vacuum(incremental=False)
    else:
        return {"vacuum": "skipped"}
    return {"vacuum": mode, "freed_bytes": freed}
