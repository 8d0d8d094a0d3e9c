"""Constants shared across RoomDB: the domain, option keys and their defaults."""

from __future__ import annotations

from typing import Final

from .log import get_logger

DOMAIN: Final = "roomdb"
LOGGER: Final = get_logger(__package__)

DATABASE_FILENAME: Final = "roomdb.db"
BACKUP_DIRNAME: Final = "roomdb_backups"

# Options (entry.options). File locations are relative to the HA config directory.
CONF_MAPPING_PATH: Final = "mapping_path"
CONF_EXPORT_PATH: Final = "export_path"

DEFAULT_MAPPING_PATH: Final = "roomdb/area_mapping.yaml"
DEFAULT_EXPORT_PATH: Final = "room_db_export.json"

# Batching writer: flush when this many rows are queued or this many seconds passed.
CONF_BATCH_SIZE: Final = "batch_size"
CONF_FLUSH_INTERVAL: Final = "flush_interval"
DEFAULT_BATCH_SIZE: Final = 1000
DEFAULT_FLUSH_INTERVAL: Final = 1.0

ISSUE_DATABASE_CORRUPT: Final = "database_corrupt"

# --- Room database (issue 3) -------------------------------------------------------------------

EVENT_CONFIG_CHANGED: Final = "roomdb_config_changed"
"""Fired after every committed room-config change: {domain, room_id, version, action}."""

# Bus events the event stream forwards (issue 4); the alarm and ML parts fire these.
EVENT_ALARM_TRANSITION: Final = "roomdb_alarm_transition"
EVENT_ML_RESULT: Final = "roomdb_ml_result"

ISSUE_MAPPING_INVALID: Final = "mapping_invalid"
ISSUE_MAPPING_ROOMS: Final = "mapping_rooms"

# Write limiter per (domain, room_id): one write per interval, each window stretched by ±jitter.
CONF_WRITE_INTERVAL: Final = "write_interval"
CONF_WRITE_JITTER: Final = "write_jitter"
DEFAULT_WRITE_INTERVAL: Final = 1.0
DEFAULT_WRITE_JITTER: Final = 0.2

# Pipelines.
CONF_ACTIVITY_ENABLED: Final = "activity_enabled"
CONF_VACUUM_ENABLED: Final = "vacuum_enabled"
CONF_VACUUM_DRY_RUN: Final = "vacuum_dry_run"
CONF_VACUUM_OPTIMISTIC_WRITEBACK: Final = "vacuum_optimistic_writeback"
DEFAULT_ACTIVITY_ENABLED: Final = True
DEFAULT_VACUUM_ENABLED: Final = True
DEFAULT_VACUUM_DRY_RUN: Final = False
DEFAULT_VACUUM_OPTIMISTIC_WRITEBACK: Final = False

# Options flow "generate_mapping" step (an action, not a stored option).
CONF_OVERWRITE: Final = "overwrite"

# What seed_from_mapping writes per domain; vacuum_control also gets the room's segment_id.
# Seeding fills missing keys only: values a user already changed are kept.
SEED_DEFAULTS: Final[dict[str, dict[str, object]]] = {
    "motion_lighting": {"enabled": True, "timeout": 300},
    "vacuum_control": {"enabled": True},
    "activity": {},
    "climate_schedule": {},
    "ml": {},
}
