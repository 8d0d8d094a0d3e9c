"""Constants shared across RoomDB: the domain, option keys and their defaults."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "roomdb"
LOGGER: Final = logging.getLogger(__package__)

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
