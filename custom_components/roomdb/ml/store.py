"""SQL of the ML data layer: every read and write of its tables goes through here.

Reads use the database's shared connection; writes are short transactions (features are written
per chunk with `executemany`). Times are UTC epoch seconds, `*_at` stamps ISO 8601 UTC text; raw
events are filtered on their integer µs time (`ts_us`, the compact table's key) so time ranges
use the index.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
import json
from typing import Any, Final

from ..db.database import Database
from ..timestamps import epoch_us, utc_now_iso
from .clr import ClrArtifact
from .episodes import Episode
from .features import FEATURE_NAMES, FeatureRow, RawEvent, Span, noon
from .labels import SleepLabel
from .nights import Suggestion

type FeatureRecord = tuple[str, float, float, str, float, int]
"""One `features` row as `feature_rows_from_long` takes it."""

INSERT_FEATURE: Final = (
    "INSERT OR REPLACE INTO ml_features (window_start, feature_key, feature_set_version, "
    "window_end, value, run_key) VALUES (?, ?, ?, ?, ?, ?)"
)
UPSERT_LABEL: Final = (
    "INSERT INTO labels (night_date, tz, start_utc, end_utc, source, updated_at, noon_after_utc) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (night_date) DO UPDATE SET "
    "tz = excluded.tz, start_utc = excluded.start_utc, end_utc = excluded.end_utc, "
    "source = excluded.source, updated_at = excluded.updated_at, "
    "noon_after_utc = excluded.noon_after_utc "
    "WHERE labels.tz IS NOT excluded.tz OR labels.start_utc IS NOT excluded.start_utc "
    "OR labels.end_utc IS NOT excluded.end_utc"
)


def _event(row: Any) -> RawEvent:
    return RawEvent(
        entity_id=str(row[0]),
        domain=str(row[1]),
        device_class=row[2],
        room_id=row[3],
        state=str(row[4]),
        old_state=row[5],
        ts=float(row[6]),
    )


def _record(row: Any) -> FeatureRecord:
    return (str(row[0]), float(row[1]), float(row[2]), str(row[3]), float(row[4]), int(row[5]))


# --- raw events ----------------------------------------------------------------------------------


async def async_event_span(database: Database) -> tuple[float | None, float | None]:
    """Time of the first and the last raw event."""
    return await database.raw_event_span()


async def async_events_between(database: Database, start: float, end: float) -> list[RawEvent]:
    """Raw events with `start <= ts < end`, oldest first."""
    rows = await database.fetchall(
        "SELECT entity_id, domain, device_class, room_id, state, old_state, ts "
        "FROM raw_events WHERE ts_us >= ? AND ts_us < ? ORDER BY ts_us",
        (epoch_us(start), epoch_us(end)),
    )
    # A day holds tens of thousands of events: they are built in a worker thread, where the
    # event loop waits at most the interpreter's switch interval for them, not for the whole day.
    return await asyncio.get_running_loop().run_in_executor(None, _events, rows)


def _events(rows: list[Any]) -> list[RawEvent]:
    return [_event(row) for row in rows]


async def async_carry_in(database: Database, before: float) -> list[RawEvent]:
    """The last event before `before` of every entity (the state it carries into a window)."""
    # One index lookup per entity key (ix_ml_raw_events_entity), then one key lookup per entity;
    # materialised first, so that the planner cannot turn it into a scan of every event.
    rows = await database.fetchall(
        "WITH last AS MATERIALIZED (SELECT entity_key, (SELECT MAX(ts_us) FROM ml_raw_events "
        "WHERE entity_key = e.entity_key AND ts_us < ?) AS ts_us FROM ml_entities AS e) "
        "SELECT e.entity_id, e.domain, e.device_class, e.room_id, s.state, o.state, "
        "r.ts_us / 1000000.0 "
        "FROM last CROSS JOIN ml_raw_events AS r "
        "ON r.ts_us = last.ts_us AND r.entity_key = last.entity_key "
        "JOIN ml_entities AS e ON e.entity_key = r.entity_key "
        "JOIN ml_states AS s ON s.state_key = r.state_key "
        "LEFT JOIN ml_states AS o ON o.state_key = r.old_state_key",
        (epoch_us(before),),
    )
    if database.legacy_pending:
        rows += await database.fetchall(
            "SELECT r.entity_id, r.domain, r.device_class, r.room_id, r.state, r.old_state, r.ts "
            "FROM (SELECT DISTINCT entity_id FROM raw_events_v4) AS e "
            "JOIN raw_events_v4 AS r ON r.id = ("
            "SELECT id FROM raw_events_v4 WHERE entity_id = e.entity_id AND ts < ? "
            "ORDER BY ts DESC LIMIT 1)",
            (before,),
        )
    latest: dict[str, RawEvent] = {}
    for event in map(_event, rows):
        known = latest.get(event.entity_id)
        if known is None or event.ts > known.ts:
            latest[event.entity_id] = event
    return list(latest.values())


async def async_add_gap(database: Database, start: float, end: float) -> None:
    """Record that RoomDB was not recording from `start` to `end`."""
    await database.execute_write(
        "INSERT OR REPLACE INTO ml_recording_gaps (start_ts, end_ts) VALUES (?, ?)", (start, end)
    )


async def async_gaps(database: Database, start: float, end: float) -> list[Span]:
    """Recording gaps that overlap [start, end)."""
    rows = await database.fetchall(
        "SELECT start_ts, end_ts FROM ml_recording_gaps WHERE end_ts > ? AND start_ts < ?",
        (start, end),
    )
    return [(float(row[0]), float(row[1])) for row in rows]


# --- features ------------------------------------------------------------------------------------


async def async_feature_watermark(database: Database, version: int) -> float | None:
    """Start of the newest computed window of this feature set version."""
    row = await database.fetchone(
        "SELECT window_start FROM features WHERE feature_set_version = ? "
        "ORDER BY window_start DESC LIMIT 1",
        (version,),
    )
    return float(row[0]) if row is not None else None


async def async_rooms_at(database: Database, window_start: float, version: int) -> set[str]:
    """Rooms that have rows in one window."""
    rows = await database.fetchall(
        "SELECT DISTINCT room_id FROM features WHERE window_start = ? AND feature_set_version = ?",
        (window_start, version),
    )
    return {str(row[0]) for row in rows}


async def async_write_features(database: Database, rows: Sequence[FeatureRow]) -> int:
    """Insert or replace the rows (long format); return how many values were written."""
    if not rows:
        return 0
    computed_at = utc_now_iso()
    pairs = {(row.room_id, name) for row in rows for name in FEATURE_NAMES}
    async with database.transaction() as conn:
        await conn.execute(
            "INSERT OR IGNORE INTO ml_feature_runs (computed_at) VALUES (?)", (computed_at,)
        )
        await conn.executemany(
            "INSERT OR IGNORE INTO ml_feature_keys (room_id, feature_name) VALUES (?, ?)", pairs
        )
        async with conn.execute(
            "SELECT feature_key, room_id, feature_name FROM ml_feature_keys"
        ) as cursor:
            keys = {(str(r[1]), str(r[2])): int(r[0]) for r in await cursor.fetchall()}
        async with conn.execute(
            "SELECT run_key FROM ml_feature_runs WHERE computed_at = ?", (computed_at,)
        ) as cursor:
            run = await cursor.fetchone()
        assert run is not None
        values = [
            (
                row.window_start,
                keys[row.room_id, name],
                row.feature_set_version,
                row.window_end,
                value,
                run[0],
            )
            for row in rows
            for name, value in zip(FEATURE_NAMES, row.values, strict=True)
        ]
        await conn.executemany(INSERT_FEATURE, values)
        if database.legacy_pending:
            # The old table's rows of these windows would show next to the new ones.
            await conn.executemany(
                "DELETE FROM features_v4 WHERE room_id = ? AND window_start = ? "
                "AND feature_set_version = ?",
                [(row.room_id, row.window_start, row.feature_set_version) for row in rows],
            )
    return len(values)


async def async_delete_features_since(database: Database, since: float) -> int:
    """Drop the feature windows from `since` on (recomputed after older events arrived)."""
    async with database.transaction() as conn:
        before = conn.total_changes
        await conn.execute("DELETE FROM ml_features WHERE window_start >= ?", (since,))
        if database.legacy_pending:
            await conn.execute("DELETE FROM features_v4 WHERE window_start >= ?", (since,))
        return conn.total_changes - before


async def async_feature_records(
    database: Database, version: int, since: float | None = None, room: str | None = None
) -> list[FeatureRecord]:
    """All feature values of a version (from `since` on; of one room when given)."""
    rows = await database.fetchall(
        "SELECT room_id, window_start, window_end, feature_name, value, feature_set_version "
        "FROM features "
        "WHERE feature_set_version = ? AND window_start >= ? AND (? IS NULL OR room_id = ?)",
        (version, since if since is not None else float("-inf"), room, room),
    )
    return [_record(row) for row in rows]


async def async_training_records(
    database: Database, version: int, labels: Sequence[SleepLabel], context_seconds: float
) -> list[FeatureRecord]:
    """Feature values from `context_seconds` before the first label's start on.

    That is what training pairs, with the look-back its first windows need.
    """
    if not labels:
        return []
    since = min(label.start_utc for label in labels) - context_seconds
    return await async_feature_records(database, version, since)


# --- labels --------------------------------------------------------------------------------------


async def async_upsert_label(database: Database, label: SleepLabel, source: str) -> bool:
    """Store the night's label (replacing that night's); return whether anything changed."""
    changed = await database.execute_write(UPSERT_LABEL, label_row(label, source, utc_now_iso()))
    return changed > 0


def label_row(label: SleepLabel, source: str, updated_at: str) -> tuple[Any, ...]:
    """The parameters of `UPSERT_LABEL` for one label."""
    return (
        label.night_date.isoformat(),
        label.tz,
        label.start_utc,
        label.end_utc,
        source,
        updated_at,
        noon(label.night_date + timedelta(days=1), label.tz),
    )


async def async_fill_label_noons(database: Database) -> int:
    """Give labels stored before the whole-day view their local noon (the view needs it)."""
    rows = await database.fetchall("SELECT night_date, tz FROM labels WHERE noon_after_utc IS NULL")
    filled = [
        (noon(date.fromisoformat(str(row[0])) + timedelta(days=1), str(row[1])), str(row[0]))
        for row in rows
    ]
    if filled:
        async with database.transaction() as conn:
            await conn.executemany(
                "UPDATE labels SET noon_after_utc = ? WHERE night_date = ?", filled
            )
    return len(filled)


async def async_labels(database: Database, until: float | None = None) -> list[SleepLabel]:
    """Labels whose night ended by `until` (all by default), oldest first."""
    rows = await database.fetchall(
        "SELECT night_date, tz, start_utc, end_utc FROM labels WHERE end_utc <= ? "
        "ORDER BY start_utc",
        (until if until is not None else float("inf"),),
    )
    return [
        SleepLabel(
            night_date=date.fromisoformat(str(row[0])),
            tz=str(row[1]),
            start_utc=float(row[2]),
            end_utc=float(row[3]),
        )
        for row in rows
    ]


async def async_label_count(database: Database) -> int:
    """Number of labelled nights."""
    row = await database.fetchone("SELECT COUNT(*) FROM labels")
    return int(row[0]) if row is not None else 0


# --- sleep episodes ------------------------------------------------------------------------------


async def async_upsert_episode(database: Database, episode: Episode) -> bool:
    """Store a finished night's bedtime and wake time; return whether anything changed."""
    if episode.wake is None:
        raise ValueError("only a finished episode is stored")
    changed = await database.execute_write(
        "INSERT INTO sleep_episodes (night_date, bedtime_utc, wake_utc, updated_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (night_date) DO UPDATE SET "
        "bedtime_utc = excluded.bedtime_utc, wake_utc = excluded.wake_utc, "
        "updated_at = excluded.updated_at "
        "WHERE sleep_episodes.bedtime_utc IS NOT excluded.bedtime_utc "
        "OR sleep_episodes.wake_utc IS NOT excluded.wake_utc",
        (episode.night_date.isoformat(), episode.bedtime, episode.wake, utc_now_iso()),
    )
    return changed > 0


async def async_episodes(database: Database, since: date) -> list[Episode]:
    """Stored episodes from night `since` on, oldest first."""
    rows = await database.fetchall(
        "SELECT night_date, bedtime_utc, wake_utc FROM sleep_episodes WHERE night_date >= ? "
        "ORDER BY night_date",
        (since.isoformat(),),
    )
    return [Episode(date.fromisoformat(str(r[0])), float(r[1]), float(r[2])) for r in rows]


# --- suggested nights ---------------------------------------------------------------------------


async def async_write_suggestions(database: Database, suggestions: Sequence[Suggestion]) -> int:
    """Store (or replace) the nights' suggestions; return how many changed."""
    if not suggestions:
        return 0
    now = utc_now_iso()
    async with database.transaction() as conn:
        before = conn.total_changes
        await conn.executemany(
            "INSERT INTO sleep_suggestions (night_date, bedtime_utc, wake_utc, confidence, "
            "updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (night_date) DO UPDATE SET "
            "bedtime_utc = excluded.bedtime_utc, wake_utc = excluded.wake_utc, "
            "confidence = excluded.confidence, updated_at = excluded.updated_at "
            "WHERE sleep_suggestions.bedtime_utc IS NOT excluded.bedtime_utc "
            "OR sleep_suggestions.wake_utc IS NOT excluded.wake_utc "
            "OR sleep_suggestions.confidence IS NOT excluded.confidence",
            [(s.night_date.isoformat(), s.bedtime, s.wake, s.confidence, now) for s in suggestions],
        )
        return conn.total_changes - before


@dataclass(frozen=True, slots=True)
class StoredSuggestion:
    """A suggested night and the source of its label (None: not confirmed yet)."""

    suggestion: Suggestion
    label_source: str | None


async def async_suggestions(
    database: Database, first: date, last: date | None = None
) -> list[StoredSuggestion]:
    """Suggestions of nights `first`..`last`, oldest first, with their label's source."""
    rows = await database.fetchall(
        "SELECT s.night_date, s.bedtime_utc, s.wake_utc, s.confidence, l.source "
        "FROM sleep_suggestions AS s LEFT JOIN labels AS l USING (night_date) "
        "WHERE s.night_date >= ? AND s.night_date <= ? ORDER BY s.night_date",
        (first.isoformat(), (last or date.max).isoformat()),
    )
    return [
        StoredSuggestion(
            Suggestion(date.fromisoformat(str(r[0])), float(r[1]), float(r[2]), float(r[3])),
            None if r[4] is None else str(r[4]),
        )
        for r in rows
    ]


# --- CLR runs and artifacts ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClrRun:
    """One row of `clr_training_runs`."""

    run_id: int
    started_at: str
    finished_at: str | None
    status: str
    reason: str | None
    n_rows: int
    n_nights: int
    feature_set_version: int
    metrics: dict[str, Any]


async def async_record_clr_run(
    database: Database,
    *,
    started_at: str,
    status: str,
    reason: str | None,
    n_rows: int,
    n_nights: int,
    feature_set_version: int,
    metrics: dict[str, Any],
    artifact: ClrArtifact | None,
) -> int:
    """Insert the run (and its artifact) in one transaction; return the run id."""
    finished_at = utc_now_iso()
    async with database.transaction() as conn:
        async with conn.execute(
            "INSERT INTO clr_training_runs (started_at, finished_at, status, reason, n_rows, "
            "n_nights, feature_set_version, metrics) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                started_at,
                finished_at,
                status,
                reason,
                n_rows,
                n_nights,
                feature_set_version,
                json.dumps(metrics, allow_nan=False, sort_keys=True),
            ),
        ) as cursor:
            run_id = int(cursor.lastrowid or 0)
        if artifact is not None:
            await conn.execute(
                "INSERT INTO clr_model_artifacts (run_id, created_at, feature_set_version, "
                "artifact) VALUES (?, ?, ?, ?)",
                (run_id, finished_at, artifact.feature_set_version, artifact.to_json()),
            )
    return run_id


def _run(row: Any) -> ClrRun:
    return ClrRun(
        run_id=int(row[0]),
        started_at=str(row[1]),
        finished_at=row[2],
        status=str(row[3]),
        reason=row[4],
        n_rows=int(row[5]),
        n_nights=int(row[6]),
        feature_set_version=int(row[7]),
        metrics=json.loads(row[8]),
    )


async def async_latest_clr_run(database: Database) -> ClrRun | None:
    """The newest training run, whatever its outcome."""
    row = await database.fetchone(
        "SELECT run_id, started_at, finished_at, status, reason, n_rows, n_nights, "
        "feature_set_version, metrics FROM clr_training_runs ORDER BY run_id DESC LIMIT 1"
    )
    return _run(row) if row is not None else None


async def async_latest_artifact(database: Database) -> tuple[ClrRun, ClrArtifact] | None:
    """The newest artifact (through the contract view) with its run."""
    row = await database.fetchone("SELECT run_id, artifact FROM vw_clr_latest_model_artifact")
    if row is None:
        return None
    run_row = await database.fetchone(
        "SELECT run_id, started_at, finished_at, status, reason, n_rows, n_nights, "
        "feature_set_version, metrics FROM clr_training_runs WHERE run_id = ?",
        (int(row[0]),),
    )
    if run_row is None:  # pragma: no cover - the foreign key forbids it
        return None
    return _run(run_row), ClrArtifact.from_json(str(row[1]))


# --- BOCPD state and runs ------------------------------------------------------------------------


async def async_load_bocpd_state(database: Database, model_key: str) -> str | None:
    """The stored state JSON of a model, if any."""
    row = await database.fetchone(
        "SELECT state FROM bocpd_model_state WHERE model_key = ?", (model_key,)
    )
    return str(row[0]) if row is not None else None


async def async_save_bocpd(
    database: Database,
    *,
    model_key: str,
    feature_set_version: int,
    last_window_end: float,
    changepoint_probability: float,
    run_length: int,
    state: str,
    started_at: str,
    steps: int,
    new_changepoints: Sequence[dict[str, str]],
) -> int:
    """Replace the model's row (and per-stream rows of earlier releases) and record the run."""
    now = utc_now_iso()
    upsert = (
        "INSERT OR REPLACE INTO bocpd_model_state (model_key, feature_set_version, "
        "last_window_end, changepoint_probability, run_length, state, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    async with database.transaction() as conn:
        await conn.execute(
            "DELETE FROM bocpd_model_state WHERE model_key LIKE ? ESCAPE '\\'",
            (_like_prefix(f"{model_key}/"),),
        )
        await conn.execute(
            upsert,
            (
                model_key,
                feature_set_version,
                last_window_end,
                changepoint_probability,
                run_length,
                state,
                now,
            ),
        )
        async with conn.execute(
            "INSERT INTO bocpd_training_runs (started_at, finished_at, status, steps, "
            "changepoints, feature_set_version) VALUES (?, ?, ?, ?, ?, ?)",
            (started_at, now, "ok", steps, json.dumps(list(new_changepoints)), feature_set_version),
        ) as cursor:
            return int(cursor.lastrowid or 0)


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


async def async_record_bocpd_run(
    database: Database, *, started_at: str, status: str, feature_set_version: int
) -> int:
    """Record a run that changed no state (not ready, or failed)."""
    async with (
        database.transaction() as conn,
        conn.execute(
            "INSERT INTO bocpd_training_runs (started_at, finished_at, status, steps, "
            "changepoints, feature_set_version) VALUES (?, ?, ?, 0, '[]', ?)",
            (started_at, utc_now_iso(), status, feature_set_version),
        ) as cursor,
    ):
        return int(cursor.lastrowid or 0)
