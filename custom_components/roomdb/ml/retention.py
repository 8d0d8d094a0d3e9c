"""Retention: raw events and feature windows older than the configured days are deleted.

Recording gaps go with the feature windows they mark. Labels, sleep episodes, training runs,
model artifacts and BOCPD state are kept: they are small and are what the models and other
integrations build on. The contract views are plain views over the tables, so they
stay valid (and simply see fewer rows) after a trim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ..db.database import Database

DAY_SECONDS: Final = 86400.0


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """How many rows a trim deleted and the cutoffs it used (UTC epoch seconds)."""

    raw_events: int
    features: int
    raw_cutoff: float
    feature_cutoff: float

    def as_dict(self) -> dict[str, Any]:
        """The pipeline stage's result fields."""
        return {
            "raw_events_deleted": self.raw_events,
            "features_deleted": self.features,
            "raw_cutoff": self.raw_cutoff,
            "feature_cutoff": self.feature_cutoff,
        }


async def async_trim(
    database: Database, *, now: float, raw_days: int, feature_days: int
) -> RetentionResult:
    """Delete raw events older than `raw_days` and windows older than `feature_days` days."""
    if raw_days < 1 or feature_days < 1:
        raise ValueError("retention must keep at least one day")
    raw_cutoff = now - raw_days * DAY_SECONDS
    feature_cutoff = now - feature_days * DAY_SECONDS
    async with database.transaction() as conn:
        async with conn.execute("DELETE FROM raw_events WHERE ts < ?", (raw_cutoff,)) as cursor:
            raw = cursor.rowcount
        async with conn.execute(
            "DELETE FROM features WHERE window_start < ?", (feature_cutoff,)
        ) as cursor:
            features = cursor.rowcount
        await conn.execute("DELETE FROM ml_recording_gaps WHERE end_ts < ?", (feature_cutoff,))
    return RetentionResult(raw, features, raw_cutoff, feature_cutoff)
