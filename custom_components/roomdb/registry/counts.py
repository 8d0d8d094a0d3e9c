"""The registry counts the coordinator snapshot carries, read from the mirror tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..db.database import Database

# Ignored config entries are discoveries the user dismissed, not integrations they use.
_COUNTS_SQL: Final = (
    "SELECT (SELECT COUNT(*) FROM devices), (SELECT COUNT(*) FROM entities), "
    "(SELECT COUNT(DISTINCT domain) FROM config_entries WHERE source IS NOT 'ignore')"
)


@dataclass(slots=True, frozen=True)
class RegistryCounts:
    """How many devices, entities and integrations (config entry domains) the mirror holds."""

    devices: int
    entities: int
    integrations: int


async def async_registry_counts(database: Database) -> RegistryCounts:
    """Count the mirrored devices, entities and distinct integration domains."""
    (row,) = await database.fetchall(_COUNTS_SQL)
    return RegistryCounts(devices=int(row[0]), entities=int(row[1]), integrations=int(row[2]))
