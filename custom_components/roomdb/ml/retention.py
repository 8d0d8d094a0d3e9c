"""Retention: raw events and feature windows older than the configured days are deleted.

Recording gaps go with the feature windows they mark. Labels, sleep episodes, training runs,
model artifacts and BOCPD state are kept: they are small and are what the models and other
integrations build on. The contract views are plain views over the tables, so they
stay valid (and simply see fewer rows) after a trim.

A year-long database holds tens of millions of rows, so old rows go in slices: each slice is one
`DELETE` on the database writer (a transaction of its own, one trip to the writer thread) of the
oldest rows up to a bound found through the table's time key. Each table's slices are sized on
their own (a feature row costs a fraction of a raw event with its index): the first is small, and
each next one is sized from the time the writer was held for the last one
(`Database.last_hold_seconds`, from taking the lock to the statement's end) to take about
`SLICE_TARGET_SECONDS`, growing at most twofold, so a slice overshoots the target only if the cost
per row jumps between two slices. WAL checkpoints, whose syncs dominate a commit that triggers
one, run beside the writer every few slices (`Database.checkpoint_aside`). Between slices the
lock is free for the ingest batches.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Final

from ..db.database import Database
from ..timestamps import epoch_us
from .options import VACUUM_INCREMENTAL, VACUUM_WEEKLY

DAY_SECONDS: Final = 86400.0
WEEKLY_VACUUM_WEEKDAY: Final = 6
"""Sunday: the weekly VACUUM runs with the nightly trim of Sunday morning."""
SLICE_TARGET_SECONDS: Final = 0.01
"""Aim of one slice's hold of the writer, a tenth of the bound (100 ms) it must stay under: on a
loaded machine a slice's wall time is a multiple of its work (it waits for a CPU)."""
CHECKPOINT_AFTER_SECONDS: Final = 0.05
"""Writer time of slices after which a checkpoint runs beside the writer (and after each table)."""
FIRST_SLICE_ROWS: Final = 100
MIN_SLICE_ROWS: Final = 10
MAX_SLICE_ROWS: Final = 20_000

# (table, indexed time column) pairs; `features_v4` exists only while an old database is copied.
# Old raw events not copied yet are trimmed once they are (the copy goes oldest first).
_FEATURE_TABLES: Final = (("ml_features", "window_start"), ("features_v4", "window_start"))


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """How many rows a trim deleted, the cutoffs it used (UTC epoch seconds) and its slices.

    `longest_slice_seconds` is the longest time one slice held the writer.
    """

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


def _slice_sql(table: str, column: str) -> str:
    """Delete the `?2` oldest rows with `column < ?1` (with the last one's ties).

    One statement, one range of the time key: the bound is the `:rows`-th oldest value, else
    (fewer rows left) the newest value below the cutoff.
    """
    return (
        f"DELETE FROM {table} WHERE {column} <= COALESCE("  # noqa: S608
        f"(SELECT {column} FROM {table} WHERE {column} < ?1 "
        f"ORDER BY {column} LIMIT 1 OFFSET ?2 - 1), "
        f"(SELECT MAX({column}) FROM {table} WHERE {column} < ?1))"
    )


def next_slice_rows(rows: int, held: float) -> int:
    """Rows for the next slice after `rows` held the writer `held` seconds."""
    scaled = int(rows * SLICE_TARGET_SECONDS / max(held, 1e-4))
    return max(MIN_SLICE_ROWS, min(MAX_SLICE_ROWS, scaled, rows * 2))


@dataclass(slots=True)
class _Slicer:
    """Deletes in slices and keeps the figures of all slices of one trim."""

    database: Database
    slices: int = 0
    longest: float = 0.0
    unchecked: float = 0.0
    """Writer time of the slices since the last checkpoint."""

    async def purge(self, table: str, column: str, cutoff: float) -> int:
        """Delete the rows of `table` with `column < cutoff`, oldest first, slice by slice."""
        sql = _slice_sql(table, column)
        rows, deleted = FIRST_SLICE_ROWS, 0
        while True:
            count = await self.database.execute_write(sql, (cutoff, rows))
            held = self.database.last_hold_seconds
            deleted += count
            self.slices += 1
            self.longest = max(self.longest, held)
            self.unchecked += held
            # A bound found `rows` rows (and their ties); fewer means none are left.
            if count < rows or self.unchecked >= CHECKPOINT_AFTER_SECONDS:
                # Opening a connection and syncing costs more than a slice: not after each one.
                await self.database.checkpoint_aside()
                self.unchecked = 0.0
            if count < rows:
                return deleted
            rows = next_slice_rows(rows, held)
            await asyncio.sleep(0)  # let queued writes take the lock


async def async_trim(
    database: Database, *, now: float, raw_days: int, feature_days: int
) -> RetentionResult:
    """Delete raw events older than `raw_days` and windows older than `feature_days` days."""
    if raw_days < 1 or feature_days < 1:
        raise ValueError("retention must keep at least one day")
    raw_cutoff = now - raw_days * DAY_SECONDS
    feature_cutoff = now - feature_days * DAY_SECONDS
    slicer = _Slicer(database)
    async with database.checkpoints_aside():
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
