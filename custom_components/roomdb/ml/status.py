"""The ML data layer's state as the entities see it: one immutable value per change.

Values a model has not produced yet are None (the entities show "unknown"); nothing is invented.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final

READINESS_TRAINED: Final = "trained"
READINESS_ERROR: Final = "error"
READINESS_STATES: Final = (
    READINESS_TRAINED,
    "not_enough_nights",
    "not_enough_rows",
    "not_enough_class_rows",
    "single_class_split",
    READINESS_ERROR,
)
"""Options of the readiness sensor: trained, a training gate that holds, or a failed training."""

IMPORT_IDLE: Final = "idle"
IMPORT_RUNNING: Final = "running"
IMPORT_DONE: Final = "done"
IMPORT_RECORDER_UNAVAILABLE: Final = "recorder_unavailable"
IMPORT_EXCLUDED: Final = "entities_excluded"
IMPORT_FAILED: Final = "failed"
IMPORT_STATES: Final = (
    IMPORT_IDLE,
    IMPORT_RUNNING,
    IMPORT_DONE,
    IMPORT_RECORDER_UNAVAILABLE,
    IMPORT_EXCLUDED,
    IMPORT_FAILED,
)
"""Options of the history import sensor."""

TIMESTAMP_KEYS: Final = (
    "last_ingest_at",
    "last_feature_at",
    "last_label_at",
    "last_train_at",
    "last_bocpd_at",
)

_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class MlStatus:
    """Sleep inference, routine changes, readiness and health of the ML data layer."""

    sleep_probability: float | None = None
    asleep: bool | None = None
    asleep_threshold: float = 0.5
    inference_window_end: datetime | None = None
    inference_observed: bool | None = None
    inference_away: bool | None = None
    last_bedtime: datetime | None = None
    last_bedtime_night: str | None = None
    last_wake: datetime | None = None
    last_wake_night: str | None = None
    expected_bedtime: datetime | None = None
    expected_wake: datetime | None = None
    expected_night: str | None = None
    model_run_id: int | None = None
    changepoint_probability: float | None = None
    run_length: int | None = None
    bocpd_nights: int = 0
    top_streams: tuple[tuple[str, float], ...] = ()
    recent_changepoints: tuple[tuple[str, str], ...] = ()
    readiness: str | None = None
    readiness_detail: str | None = None
    labeled_nights: int = 0
    paired_rows: int = 0
    paired_nights: int = 0
    min_nights: int = 0
    min_rows: int = 0
    last_training: datetime | None = None
    training_metrics: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    timestamps: Mapping[str, str | None] = field(default_factory=lambda: _EMPTY)
    degraded: tuple[str, ...] = ()
    last_label_rejection: str | None = None
    suggestions: tuple[Mapping[str, Any], ...] = ()
    """Recent suggested nights nobody confirmed yet, newest last."""
    history_import_state: str = IMPORT_IDLE
    history_import: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    @property
    def nights_needed(self) -> int:
        """Labelled nights still missing before the sleep model can train."""
        return max(0, self.min_nights - self.labeled_nights)

    def suggestion_attributes(self) -> dict[str, Any]:
        """Attributes of the suggested-night sensor: the newest and every pending night."""
        newest = self.suggestions[-1] if self.suggestions else {}
        return {
            "night": newest.get("night_date"),
            "bedtime": newest.get("bedtime"),
            "wake": newest.get("wake"),
            "confidence": newest.get("confidence"),
            "pending": [dict(item) for item in self.suggestions],
            "labeled_nights": self.labeled_nights,
            "nights_needed": self.nights_needed,
        }

    def readiness_attributes(self) -> dict[str, Any]:
        """Attributes of the readiness sensor."""
        return {
            "labeled_nights": self.labeled_nights,
            "nights_needed": self.nights_needed,
            "paired_rows": self.paired_rows,
            "paired_nights": self.paired_nights,
            "min_nights": self.min_nights,
            "min_rows": self.min_rows,
            "detail": self.readiness_detail,
            "bocpd_nights": self.bocpd_nights,
            "degraded": list(self.degraded),
            "last_label_rejection": self.last_label_rejection,
            **{key: self.timestamps.get(key) for key in TIMESTAMP_KEYS},
        }

    def training_attributes(self) -> dict[str, Any]:
        """Attributes of the last-training sensor (the held-out metrics)."""
        return {
            "run_id": self.model_run_id,
            "paired_rows": self.paired_rows,
            "paired_nights": self.paired_nights,
            **self.training_metrics,
        }

    def changepoint_attributes(self) -> dict[str, Any]:
        """Attributes of the changepoint sensor: days seen, signals, recent changes.

        The signals are those that moved most on the newest day, in standard deviations from
        their weekday's reference.
        """
        return {
            "nights": self.bocpd_nights,
            "top_streams": {name: round(score, 2) for name, score in self.top_streams},
            "recent_changepoints": [
                {"stream": name, "night": night} for name, night in self.recent_changepoints
            ],
        }
