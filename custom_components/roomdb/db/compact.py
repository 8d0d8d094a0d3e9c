"""Compact ML storage: dictionary keys for raw events, and the in-place copy of the old tables.

Dictionary keys of entities and states are handed out by one `Dictionaries` per database, in the
event loop, so the hot path builds a row of four integers without asking SQLite; every dictionary
row is written with `INSERT OR IGNORE` under its key before or in the same batch as the first row
that uses it (the hot path queues it on the batching writer, the copy writes it in its own
transaction), so a key is never given to two values.

The copy of a database written before the compact layout (schema 6) runs as a background task of
the database: each batch is one short transaction on the writer thread that copies the oldest
rows of `raw_events_v4` (then moves those of `features_v4`) into the compact tables and records
its progress in the same transaction, so a restart carries on where the last committed batch
ended; until the end the `raw_events` and `features` views read the rows not copied yet from the
old tables. The batch that finds nothing left drops the old tables and recreates the views over
the compact tables alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

import aiosqlite

from .schema import (
    COPIED_RAW_ID_KEY,
    COPIED_RAW_ID_SQL,
    FEATURES_LEGACY,
    RAW_EVENTS_LEGACY,
    VIEW_FEATURES,
    VIEW_LATEST_FEATURE_SNAPSHOT,
    VIEW_RAW_EVENTS,
)

INSERT_RAW_EVENT_COMPACT: Final = (
    "INSERT OR IGNORE INTO ml_raw_events (ts_us, entity_key, state_key, old_state_key) "
    "VALUES (?, ?, ?, ?)"
)
RAW_EVENTS_PER_STATEMENT: Final = 200
"""Raw events one multi-row `INSERT` writes (800 parameters, under the 999 of older SQLite builds).

SQLite inserts all of them in one step, where `executemany` of the one-row statement binds, steps
and resets once per row: on the development machine 1.2 µs of the writer thread per row instead of
2.0 µs (two b-trees written either way)."""
INSERT_RAW_EVENTS_MULTI: Final = (
    "INSERT OR IGNORE INTO ml_raw_events (ts_us, entity_key, state_key, old_state_key) VALUES "  # noqa: S608 - constant SQL
    + ", ".join(("(?, ?, ?, ?)",) * RAW_EVENTS_PER_STATEMENT)
)
MULTI_ROW_STATEMENTS: Final[dict[str, tuple[str, int]]] = {
    INSERT_RAW_EVENT_COMPACT: (INSERT_RAW_EVENTS_MULTI, RAW_EVENTS_PER_STATEMENT)
}
"""Queued one-row statements that the batching writer runs as (multi-row form, rows per form)."""
INSERT_ENTITY: Final = (
    "INSERT OR IGNORE INTO ml_entities (entity_key, entity_id, domain, device_class, room_id) "
    "VALUES (?, ?, ?, ?, ?)"
)
INSERT_STATE: Final = "INSERT OR IGNORE INTO ml_states (state_key, state) VALUES (?, ?)"
DICTIONARY_STATEMENTS: Final = frozenset({INSERT_ENTITY, INSERT_STATE})
"""Rows of these statements are never dropped with a rejected batch: later rows use their keys."""

RAW_COPY_BATCH: Final = 2000
"""Old raw events copied by the first transaction; later ones are sized to take about
`COPY_TARGET_SECONDS`."""
COPY_TARGET_SECONDS: Final = 0.04
MAX_RAW_COPY_BATCH: Final = 20_000
FEATURE_COPY_WINDOWS_SECONDS: Final = 4 * 3600
"""Old feature windows moved per transaction: 16 windows of every room and feature."""

type EntityToken = tuple[str, str, str | None, str | None]
"""(entity_id, domain, device_class, room_id) of an entity as of an event."""


@dataclass(slots=True)
class Dictionaries:
    """Keys of the entity and state dictionaries, as stored plus those handed out since."""

    entities: dict[EntityToken, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    _next_entity: int = 1
    _next_state: int = 1

    async def async_load(self, conn: aiosqlite.Connection) -> None:
        """Read both dictionaries (a few hundred rows) after the schema is current."""
        async with conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ml_entities'"
        ) as cursor:
            if await cursor.fetchone() is None:
                return  # a file left at an earlier version (only migration tests do that)
        async with conn.execute(
            "SELECT entity_key, entity_id, domain, device_class, room_id FROM ml_entities"
        ) as cursor:
            self.entities = {
                (str(r[1]), str(r[2]), r[3], r[4]): int(r[0]) for r in await cursor.fetchall()
            }
        async with conn.execute("SELECT state_key, state FROM ml_states") as cursor:
            self.states = {str(r[1]): int(r[0]) for r in await cursor.fetchall()}
        async with conn.execute(
            "SELECT (SELECT IFNULL(MAX(entity_key), 0) FROM ml_entities), "
            "(SELECT IFNULL(MAX(state_key), 0) FROM ml_states)"
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        self._next_entity = int(row[0]) + 1
        self._next_state = int(row[1]) + 1

    def new_entity(self, token: EntityToken) -> int:
        """Hand out the key of an entity not seen before (the caller writes its row)."""
        key = self.entities[token] = self._next_entity
        self._next_entity += 1
        return key

    def new_state(self, state: str) -> int:
        """Hand out the key of a state not seen before (the caller writes its row)."""
        key = self.states[state] = self._next_state
        self._next_state += 1
        return key

    def entity_rows(self, tokens: Iterable[EntityToken]) -> list[tuple[object, ...]]:
        """`INSERT_ENTITY` rows of these entities, giving keys to the new ones."""
        entities = self.entities
        return [(entities.get(t) or self.new_entity(t), *t) for t in tokens]

    def state_rows(self, states: Iterable[str]) -> list[tuple[int, str]]:
        """`INSERT_STATE` rows of these states, giving keys to the new ones."""
        known = self.states
        return [(known.get(s) or self.new_state(s), s) for s in states]


async def async_legacy_tables(conn: aiosqlite.Connection) -> tuple[str, ...]:
    """The old tables still waiting to be copied."""
    async with conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?) ORDER BY name",
        (RAW_EVENTS_LEGACY, FEATURES_LEGACY),
    ) as cursor:
        return tuple(str(row[0]) for row in await cursor.fetchall())


@dataclass(frozen=True, slots=True)
class CopyProgress:
    """What one batch of the copy did."""

    raw_events: int
    features: int
    finished: bool


async def copy_raw_batch(conn: aiosqlite.Connection, dictionaries: Dictionaries, batch: int) -> int:
    """Copy up to `batch` of the oldest old raw events not copied yet; return how many.

    The old rows stay where they are (deleting them would rewrite a page of the old text-key
    index per row); `metadata.ml_compact_copied_raw_id` marks how far the copy got, and the
    `raw_events` view reads the old table only above it. The old table goes as a whole at the end.
    """
    async with conn.execute(
        "SELECT MIN(id) FROM raw_events_v4 WHERE id > " + COPIED_RAW_ID_SQL  # noqa: S608
    ) as cursor:
        row = await cursor.fetchone()
    if row is None or row[0] is None:
        return 0
    first = int(row[0])
    upto = first + batch
    span = (first, upto)
    async with conn.execute(
        "SELECT DISTINCT entity_id, domain, device_class, room_id FROM raw_events_v4 "
        "WHERE id >= ? AND id < ?",
        span,
    ) as cursor:
        tokens = [(str(r[0]), str(r[1]), r[2], r[3]) for r in await cursor.fetchall()]
    async with conn.execute(
        "SELECT state FROM raw_events_v4 WHERE id >= ? AND id < ? UNION SELECT old_state "
        "FROM raw_events_v4 WHERE id >= ? AND id < ? AND old_state IS NOT NULL",
        span + span,
    ) as cursor:
        states = [str(r[0]) for r in await cursor.fetchall()]
    await conn.executemany(INSERT_ENTITY, dictionaries.entity_rows(tokens))
    await conn.executemany(INSERT_STATE, dictionaries.state_rows(states))
    await conn.execute(
        "INSERT OR IGNORE INTO ml_raw_events (ts_us, entity_key, state_key, old_state_key) "
        "SELECT CAST(round(l.ts * 1000000.0) AS INTEGER), e.entity_key, s.state_key, o.state_key "
        "FROM raw_events_v4 AS l "
        "JOIN ml_entities AS e ON e.entity_id = l.entity_id AND e.domain = l.domain "
        "AND e.device_class IS l.device_class AND e.room_id IS l.room_id "
        "JOIN ml_states AS s ON s.state = l.state "
        "LEFT JOIN ml_states AS o ON o.state = l.old_state "
        "WHERE l.id >= ? AND l.id < ?",
        span,
    )
    await conn.execute(
        "INSERT INTO metadata (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (COPIED_RAW_ID_KEY, str(upto - 1)),
    )
    async with conn.execute(
        "SELECT COUNT(*) FROM raw_events_v4 WHERE id >= ? AND id < ?", span
    ) as cursor:
        counted = await cursor.fetchone()
    return int(counted[0]) if counted is not None else 0


async def copy_feature_batch(conn: aiosqlite.Connection) -> int:
    """Move the oldest hours of old feature windows; return how many rows were moved."""
    async with conn.execute("SELECT MIN(window_start) FROM features_v4") as cursor:
        row = await cursor.fetchone()
    if row is None or row[0] is None:
        return 0
    upto = float(row[0]) + FEATURE_COPY_WINDOWS_SECONDS
    statements = (
        (
            "INSERT OR IGNORE INTO ml_feature_keys (room_id, feature_name) "
            "SELECT DISTINCT room_id, feature_name FROM features_v4 WHERE window_start < ?"
        ),
        (
            "INSERT OR IGNORE INTO ml_feature_runs (computed_at) "
            "SELECT DISTINCT computed_at FROM features_v4 WHERE window_start < ?"
        ),
        # A window the pipeline wrote again since the layout changed keeps its new value.
        (
            "INSERT OR IGNORE INTO ml_features (window_start, feature_key, feature_set_version, "
            "window_end, value, run_key) "
            "SELECT f.window_start, k.feature_key, f.feature_set_version, f.window_end, f.value, "
            "c.run_key FROM features_v4 AS f "
            "JOIN ml_feature_keys AS k "
            "ON k.room_id = f.room_id AND k.feature_name = f.feature_name "
            "JOIN ml_feature_runs AS c ON c.computed_at = f.computed_at "
            "WHERE f.window_start < ?"
        ),
    )
    for statement in statements:
        await conn.execute(statement, (upto,))
    # Deleting windows costs little here (no text-key index): the old table is its own marker.
    async with conn.execute("DELETE FROM features_v4 WHERE window_start < ?", (upto,)) as cursor:
        return cursor.rowcount


async def finish_copy(conn: aiosqlite.Connection) -> None:
    """Drop the emptied old tables and read the views from the compact tables alone."""
    await conn.execute("DELETE FROM metadata WHERE key = ?", (COPIED_RAW_ID_KEY,))
    for statement in (
        "DROP TABLE raw_events_v4",
        "DROP TABLE features_v4",
        "DROP VIEW raw_events",
        VIEW_RAW_EVENTS,
        "DROP VIEW features",
        VIEW_FEATURES,
        "DROP VIEW vw_latest_feature_snapshot",
        VIEW_LATEST_FEATURE_SNAPSHOT,
    ):
        await conn.execute(statement)


def next_batch(batch: int, elapsed: float) -> int:
    """The size of the next raw-event batch after one of `batch` rows took `elapsed` seconds."""
    scaled = int(batch * COPY_TARGET_SECONDS / max(elapsed, 1e-4))
    return max(100, min(MAX_RAW_COPY_BATCH, scaled, batch * 2))
