"""Schema of roomdb.db: forward-only migrations, contract views and metadata keys.

Every migration is a list of statements applied in one transaction together with its row in
`schema_migrations` and the new `metadata.schema_version`, so a database is always at exactly one
version. Migrations are never edited once released: a change is a new migration appended to
`MIGRATIONS`.

Time columns: `*_at` stamps are ISO 8601 UTC text; ML time axes (`ts`, `window_start`, `window_end`,
`start_utc`, `end_utc`) are UTC epoch seconds (REAL) so windows compare and join numerically; the
compact raw events (schema 5) store UTC epoch microseconds as integers (`ts_us`).
"""

from __future__ import annotations

from typing import Final

META_SCHEMA_VERSION: Final = "schema_version"
META_CONTRACT_VERSION: Final = "contract_version"
META_FEATURE_SET_VERSION: Final = "feature_set_version"

CONTRACT_VERSION: Final = 2

APPLICATION_ID: Final = 0x526D4442
"""SQLite header `application_id` ("RmDB"): marks roomdb.db and, through page 1, its backups, so a
file RoomDB wrote is recognised by its first 100 bytes without opening it with SQLite."""

_V1_TABLES: Final[tuple[str, ...]] = (
    """CREATE TABLE metadata (
        key TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE schema_migrations (
        version INTEGER PRIMARY KEY NOT NULL,
        description TEXT NOT NULL,
        applied_at TEXT NOT NULL
    )""",
    """CREATE TABLE room_configs (
        config_domain TEXT NOT NULL,
        room_id TEXT NOT NULL,
        config_data TEXT NOT NULL CHECK (json_valid(config_data)),
        version INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (config_domain, room_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE floors (
        floor_id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        level INTEGER,
        icon TEXT,
        aliases TEXT NOT NULL DEFAULT '[]',
        created_at TEXT,
        modified_at TEXT
    )""",
    """CREATE TABLE areas (
        area_id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        floor_id TEXT,
        icon TEXT,
        aliases TEXT NOT NULL DEFAULT '[]',
        labels TEXT NOT NULL DEFAULT '[]',
        created_at TEXT,
        modified_at TEXT
    )""",
    """CREATE TABLE devices (
        id TEXT PRIMARY KEY NOT NULL,
        name TEXT,
        name_by_user TEXT,
        manufacturer TEXT,
        model TEXT,
        area_id TEXT,
        via_device_id TEXT,
        disabled_by TEXT,
        config_entries TEXT NOT NULL DEFAULT '[]',
        created_at TEXT,
        modified_at TEXT
    )""",
    """CREATE TABLE entities (
        id TEXT PRIMARY KEY NOT NULL,
        entity_id TEXT NOT NULL,
        unique_id TEXT,
        platform TEXT NOT NULL,
        device_id TEXT,
        area_id TEXT,
        config_entry_id TEXT,
        name TEXT,
        original_name TEXT,
        device_class TEXT,
        original_device_class TEXT,
        disabled_by TEXT,
        hidden_by TEXT,
        created_at TEXT,
        modified_at TEXT
    )""",
    "CREATE INDEX ix_entities_entity_id ON entities (entity_id)",
    """CREATE TABLE config_entries (
        entry_id TEXT PRIMARY KEY NOT NULL,
        domain TEXT NOT NULL,
        title TEXT NOT NULL,
        source TEXT,
        state TEXT,
        disabled_by TEXT
    )""",
    """CREATE TABLE raw_events (
        id INTEGER PRIMARY KEY,
        dedupe_key TEXT NOT NULL UNIQUE,
        entity_id TEXT NOT NULL,
        domain TEXT NOT NULL,
        device_class TEXT,
        room_id TEXT,
        state TEXT NOT NULL,
        old_state TEXT,
        ts REAL NOT NULL
    )""",
    "CREATE INDEX ix_raw_events_ts ON raw_events (ts)",
    """CREATE TABLE features (
        room_id TEXT NOT NULL,
        window_start REAL NOT NULL,
        window_end REAL NOT NULL,
        feature_name TEXT NOT NULL,
        value REAL NOT NULL,
        feature_set_version INTEGER NOT NULL,
        computed_at TEXT NOT NULL,
        PRIMARY KEY (room_id, window_start, feature_name, feature_set_version)
    ) WITHOUT ROWID""",
    "CREATE INDEX ix_features_window ON features (window_start)",
    """CREATE TABLE labels (
        night_date TEXT PRIMARY KEY NOT NULL,
        tz TEXT NOT NULL,
        start_utc REAL NOT NULL,
        end_utc REAL NOT NULL CHECK (end_utc > start_utc),
        source TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE clr_training_runs (
        run_id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL,
        reason TEXT,
        n_rows INTEGER NOT NULL DEFAULT 0,
        n_nights INTEGER NOT NULL DEFAULT 0,
        feature_set_version INTEGER NOT NULL,
        metrics TEXT NOT NULL DEFAULT '{}'
    )""",
    """CREATE TABLE clr_model_artifacts (
        artifact_id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES clr_training_runs (run_id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        feature_set_version INTEGER NOT NULL,
        artifact TEXT NOT NULL CHECK (json_valid(artifact))
    )""",
    """CREATE TABLE bocpd_training_runs (
        run_id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL,
        steps INTEGER NOT NULL DEFAULT 0,
        changepoints TEXT NOT NULL DEFAULT '[]',
        feature_set_version INTEGER NOT NULL
    )""",
    """CREATE TABLE bocpd_model_state (
        model_key TEXT PRIMARY KEY NOT NULL,
        feature_set_version INTEGER NOT NULL,
        last_window_end REAL,
        changepoint_probability REAL,
        run_length INTEGER,
        state TEXT NOT NULL CHECK (json_valid(state)),
        updated_at TEXT NOT NULL
    )""",
)

# Views over `features`, named so that the compact layout (v5) recreates them word for word.
_VW_CLR_TRAINING_DATASET: Final = """CREATE VIEW vw_clr_training_dataset AS
    SELECT f.room_id, f.window_start, f.window_end, f.feature_name, f.value,
           f.feature_set_version, l.night_date,
           CASE WHEN f.window_start >= l.start_utc AND f.window_end <= l.end_utc
                THEN 1 ELSE 0 END AS asleep
    FROM features AS f
    JOIN labels AS l
      ON f.window_end <= l.end_utc AND f.window_start >= l.end_utc - 43200"""
_VW_BOCPD_FEATURE_STREAM: Final = """CREATE VIEW vw_bocpd_feature_stream AS
    SELECT room_id, feature_name, window_start, window_end, value, feature_set_version
    FROM features"""
_VW_LATEST_FEATURE_SNAPSHOT: Final = """CREATE VIEW vw_latest_feature_snapshot AS
    SELECT f.room_id, f.window_start, f.window_end, f.feature_name, f.value, f.feature_set_version,
           f.computed_at
    FROM features AS f
    WHERE f.window_start = (SELECT MAX(window_start) FROM features)"""

_V1_VIEWS: Final[tuple[str, ...]] = (
    # One row per (window, feature) inside the 12 h before a labelled night's end, with the label:
    # only windows that end no later than the label's end are paired (no leakage from the future).
    _VW_CLR_TRAINING_DATASET,
    """CREATE VIEW vw_clr_latest_model_artifact AS
    SELECT a.artifact_id, a.run_id, a.created_at, a.feature_set_version, a.artifact,
           r.metrics, r.n_rows, r.n_nights
    FROM clr_model_artifacts AS a
    JOIN clr_training_runs AS r USING (run_id)
    WHERE a.artifact_id = (SELECT MAX(artifact_id) FROM clr_model_artifacts)""",
    _VW_BOCPD_FEATURE_STREAM,
    """CREATE VIEW vw_bocpd_latest_state AS
    SELECT model_key, feature_set_version, last_window_end, changepoint_probability, run_length,
           updated_at
    FROM bocpd_model_state""",
    _VW_LATEST_FEATURE_SNAPSHOT,
)

# Since HA 2026.x a device belongs to one config entry (`config_entry_id`; the `config_entries` list
# stays for compatibility) and a child device names its `parent_device_id`. The view resolves an
# entity's effective area as HA does: its own area, else its device's, else the parent device's.
_V2_REGISTRY: Final[tuple[str, ...]] = (
    "ALTER TABLE devices ADD COLUMN config_entry_id TEXT",
    "ALTER TABLE devices ADD COLUMN parent_device_id TEXT",
    """CREATE VIEW vw_entity_areas AS
    SELECT e.id, e.entity_id, e.device_id,
           COALESCE(e.area_id, d.area_id, p.area_id) AS area_id, a.floor_id
    FROM entities AS e
    LEFT JOIN devices AS d ON d.id = e.device_id
    LEFT JOIN devices AS p ON p.id = d.parent_device_id
    LEFT JOIN areas AS a ON a.area_id = COALESCE(e.area_id, d.area_id, p.area_id)""",
)

# The outbox of room-config changes for the event stream: written in the same transaction as the
# change, so a change committed just before a hard stop still gets its event after the restart.
# AUTOINCREMENT keeps ids rising even after the journal was emptied.
_V3_CHANGE_JOURNAL: Final[tuple[str, ...]] = (
    """CREATE TABLE config_change_log (
        change_id INTEGER PRIMARY KEY AUTOINCREMENT,
        config_domain TEXT NOT NULL,
        room_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        action TEXT NOT NULL,
        changed_at TEXT NOT NULL
    )""",
)

_VW_CLR_TRAINING_DATASET_V2: Final = """CREATE VIEW vw_clr_training_dataset_v2 AS
    WITH stretches AS (
        SELECT l.night_date, l.start_utc, l.end_utc,
               COALESCE(n.start_utc, MAX(l.end_utc, COALESCE(l.noon_after_utc, l.end_utc)))
                   AS known_until
        FROM labels AS l
        LEFT JOIN labels AS n ON n.night_date = date(l.night_date, '+1 day')
    )
    SELECT f.room_id, f.window_start, f.window_end, f.feature_name, f.value,
           f.feature_set_version, s.night_date,
           CASE WHEN MIN(f.window_end, s.end_utc) - MAX(f.window_start, s.start_utc)
                     >= (f.window_end - f.window_start) / 2.0
                THEN 1 ELSE 0 END AS asleep
    FROM features AS f
    JOIN stretches AS s ON f.window_start >= s.start_utc AND f.window_end <= s.known_until"""

# Sleep learning over the whole day. The v1 training view pairs only the 12 h before each night's
# end and stays as it was for its readers; v2 pairs every window the labels make known, which
# needs local noon after a night (stored with the label: SQLite knows no time zones). Recording
# gaps mark time RoomDB did not observe; sleep episodes hold each night's estimated bedtime and
# wake time; the index finds an entity's last state before a window without a scan.
_V4_SLEEP: Final[tuple[str, ...]] = (
    "ALTER TABLE labels ADD COLUMN noon_after_utc REAL",
    "CREATE INDEX ix_raw_events_entity_ts ON raw_events (entity_id, ts)",
    """CREATE TABLE ml_recording_gaps (
        start_ts REAL PRIMARY KEY NOT NULL,
        end_ts REAL NOT NULL CHECK (end_ts > start_ts)
    ) WITHOUT ROWID""",
    """CREATE TABLE sleep_episodes (
        night_date TEXT PRIMARY KEY NOT NULL,
        bedtime_utc REAL NOT NULL,
        wake_utc REAL NOT NULL CHECK (wake_utc > bedtime_utc),
        updated_at TEXT NOT NULL
    )""",
    # A labelled night is known from its start: asleep to its end (a window counts as asleep
    # when at least half of it is), then awake up to the next night's start when that night is
    # labelled too, else up to local noon after the night.
    _VW_CLR_TRAINING_DATASET_V2,
    """CREATE VIEW vw_sleep_episodes AS
    SELECT night_date, bedtime_utc, wake_utc, updated_at FROM sleep_episodes""",
)

# Suggested nights: each night's rest period the detector found in the raw events, kept apart
# from `labels` so that nothing trains on a suggestion nobody confirmed. A confirmed (or
# corrected) suggestion is written to `labels` like any other label, with its own source.
_V5_SUGGESTIONS: Final[tuple[str, ...]] = (
    """CREATE TABLE sleep_suggestions (
        night_date TEXT PRIMARY KEY NOT NULL,
        bedtime_utc REAL NOT NULL,
        wake_utc REAL NOT NULL CHECK (wake_utc > bedtime_utc),
        confidence REAL NOT NULL CHECK (confidence BETWEEN 0 AND 1),
        updated_at TEXT NOT NULL
    )""",
)

# Compact storage of the ML tables. Entities (with their domain, device class and room as of the
# event) and state strings live once in dictionaries; a raw event is four integers keyed by
# (time, entity, state), which is also what makes a replayed event add no row; time is UTC epoch
# microseconds (integer). A feature value is keyed by its window start (UTC epoch seconds), a
# (room, feature name) dictionary key and the feature set version; the computation stamp is a
# dictionary key too. REAL columns holding whole numbers are stored as integers by SQLite, so the
# window bounds cost 4 bytes while the views still declare them REAL.
# `raw_events` and `features` become views with their old columns (less the raw event's rowid and
# text dedupe key; `raw_events` adds `ts_us`, the indexed time to filter on). The old tables are
# renamed `*_v4` and stay readable through these views while the database writer copies them over
# in bounded batches (db/compact.py); the last batch drops them and recreates the views over the
# compact tables alone.
RAW_EVENTS_LEGACY: Final = "raw_events_v4"
FEATURES_LEGACY: Final = "features_v4"
COPIED_RAW_ID_KEY: Final = "ml_compact_copied_raw_id"
"""`metadata` key: the highest `raw_events_v4.id` already copied into `ml_raw_events`."""
COPIED_RAW_ID_SQL: Final = (
    "COALESCE((SELECT CAST(value AS INTEGER) FROM metadata "
    "WHERE key = 'ml_compact_copied_raw_id'), 0)"
)

_RAW_EVENTS_COMPACT_SELECT: Final = """SELECT e.entity_id AS entity_id, e.domain AS domain,
           e.device_class AS device_class, e.room_id AS room_id, s.state AS state,
           o.state AS old_state, r.ts_us / 1000000.0 AS ts, r.ts_us AS ts_us
    FROM ml_raw_events AS r
    JOIN ml_entities AS e ON e.entity_key = r.entity_key
    JOIN ml_states AS s ON s.state_key = r.state_key
    LEFT JOIN ml_states AS o ON o.state_key = r.old_state_key"""
_FEATURES_COMPACT_SELECT: Final = """SELECT k.room_id, f.window_start, f.window_end,
           k.feature_name, f.value, f.feature_set_version, c.computed_at
    FROM ml_features AS f
    JOIN ml_feature_keys AS k ON k.feature_key = f.feature_key
    JOIN ml_feature_runs AS c ON c.run_key = f.run_key"""

VIEW_RAW_EVENTS: Final = "CREATE VIEW raw_events AS\n    " + _RAW_EVENTS_COMPACT_SELECT
VIEW_FEATURES: Final = "CREATE VIEW features AS\n    " + _FEATURES_COMPACT_SELECT
VIEW_LATEST_FEATURE_SNAPSHOT: Final = """CREATE VIEW vw_latest_feature_snapshot AS
    SELECT f.room_id, f.window_start, f.window_end, f.feature_name, f.value, f.feature_set_version,
           f.computed_at
    FROM features AS f
    WHERE f.window_start = (SELECT MAX(window_start) FROM ml_features)"""
"""The snapshot view once the old tables are gone: the newest window read from the table's key."""

_V6_COMPACT: Final[tuple[str, ...]] = (
    "DROP VIEW vw_clr_training_dataset",
    "DROP VIEW vw_clr_training_dataset_v2",
    "DROP VIEW vw_bocpd_feature_stream",
    "DROP VIEW vw_latest_feature_snapshot",
    "ALTER TABLE raw_events RENAME TO raw_events_v4",
    "ALTER TABLE features RENAME TO features_v4",
    """CREATE TABLE ml_entities (
        entity_key INTEGER PRIMARY KEY,
        entity_id TEXT NOT NULL,
        domain TEXT NOT NULL,
        device_class TEXT,
        room_id TEXT
    )""",
    "CREATE INDEX ix_ml_entities_entity_id ON ml_entities (entity_id)",
    """CREATE TABLE ml_states (
        state_key INTEGER PRIMARY KEY,
        state TEXT NOT NULL UNIQUE
    )""",
    """CREATE TABLE ml_raw_events (
        ts_us INTEGER NOT NULL,
        entity_key INTEGER NOT NULL,
        state_key INTEGER NOT NULL,
        old_state_key INTEGER,
        PRIMARY KEY (ts_us, entity_key, state_key)
    ) WITHOUT ROWID""",
    "CREATE INDEX ix_ml_raw_events_entity ON ml_raw_events (entity_key, ts_us)",
    """CREATE TABLE ml_feature_keys (
        feature_key INTEGER PRIMARY KEY,
        room_id TEXT NOT NULL,
        feature_name TEXT NOT NULL,
        UNIQUE (room_id, feature_name)
    )""",
    """CREATE TABLE ml_feature_runs (
        run_key INTEGER PRIMARY KEY,
        computed_at TEXT NOT NULL UNIQUE
    )""",
    """CREATE TABLE ml_features (
        window_start REAL NOT NULL,
        feature_key INTEGER NOT NULL,
        feature_set_version INTEGER NOT NULL,
        window_end REAL NOT NULL,
        value REAL NOT NULL,
        run_key INTEGER NOT NULL,
        PRIMARY KEY (window_start, feature_key, feature_set_version)
    ) WITHOUT ROWID""",
    VIEW_RAW_EVENTS  # noqa: S608 - constant SQL
    + """
    UNION ALL
    SELECT entity_id, domain, device_class, room_id, state, old_state, ts,
           CAST(round(ts * 1000000.0) AS INTEGER)
    FROM raw_events_v4
    WHERE id > """
    + COPIED_RAW_ID_SQL,
    VIEW_FEATURES  # noqa: S608 - constant SQL
    + """
    UNION ALL
    SELECT room_id, window_start, window_end, feature_name, value, feature_set_version, computed_at
    FROM features_v4""",
    _VW_CLR_TRAINING_DATASET,
    # Same rows; the nights' stretches are computed once per query instead of once per window
    # (the last 6 weeks of a year of windows: 14 s instead of 30 s on the development machine).
    _VW_CLR_TRAINING_DATASET_V2.replace("WITH stretches AS (", "WITH stretches AS MATERIALIZED ("),
    _VW_BOCPD_FEATURE_STREAM,
    _VW_LATEST_FEATURE_SNAPSHOT,
)

type Migration = tuple[int, str, tuple[str, ...]]

MIGRATIONS: Final[tuple[Migration, ...]] = (
    (
        1,
        "initial schema: room configs, registry mirror, ML tables, contract views",
        _V1_TABLES + _V1_VIEWS,
    ),
    (2, "registry mirror: device config entry and parent, entity area view", _V2_REGISTRY),
    (3, "event stream: journal of room-config changes awaiting their event", _V3_CHANGE_JOURNAL),
    (4, "sleep learning: whole-day training view, recording gaps, sleep episodes", _V4_SLEEP),
    (5, "suggested nights awaiting confirmation", _V5_SUGGESTIONS),
    (
        6,
        "compact ML storage: entity and state dictionaries, integer time, feature keys",
        _V6_COMPACT,
    ),
)

SCHEMA_VERSION: Final = MIGRATIONS[-1][0]

COUNTED_TABLES: Final = (
    "room_configs",
    "areas",
    "floors",
    "devices",
    "entities",
    "config_entries",
    "raw_events",
    "features",
    "labels",
    "clr_training_runs",
    "clr_model_artifacts",
    "bocpd_training_runs",
    "bocpd_model_state",
    "sleep_episodes",
    "sleep_suggestions",
)

COUNTED_SOURCES: Final = {
    "raw_events": (
        "SELECT COUNT(*) FROM ml_raw_events",
        "SELECT COUNT(*) FROM raw_events_v4 WHERE id > " + COPIED_RAW_ID_SQL,  # noqa: S608
    ),
    "features": ("SELECT COUNT(*) FROM ml_features", "SELECT COUNT(*) FROM features_v4"),
}
"""Row counts of the counted views: the compact table's, then the old table's rows not yet
copied (only while an old database is converted)."""
