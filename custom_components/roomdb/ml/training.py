"""CLR training and inference from stored feature rows (pure; runs in the executor).

The design matrix uses the home-wide features plus every room that has rows in nearly all of the
training windows (`ROOM_COVERAGE`): a room that appeared recently would otherwise remove every
older window from training. The artifact's feature names record the rooms, so inference builds the
same columns for the newest windows.

Recency: every labelled night is weighted by its age, halving every `HALF_LIFE_NIGHTS` nights, and
nights before the latest routine change the detector found count `OLD_ROUTINE_WEIGHT` as much, so
a few nights of a new routine outweigh weeks of the old one while the old nights still help
where the two agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np

from .clr import ClrArtifact, ClrConfig, NotReady, predict_proba, train_clr
from .features import FEATURE_SET_VERSION, HOME_ROOM_ID, feature_rows_from_long
from .labels import SleepLabel
from .pairing import (
    Design,
    FloatArray,
    LabelConflict,
    build_design,
    pair_windows,
    rooms_of_columns,
    screen_labels,
)
from .store import FeatureRecord

ROOM_COVERAGE: Final = 0.9
HALF_LIFE_NIGHTS: Final = 60.0
OLD_ROUTINE_WEIGHT: Final = 0.1
VALIDATION_SHARE: Final = 0.2
MIN_VALIDATION_NIGHTS: Final = 2
MAX_VALIDATION_NIGHTS: Final = 14


def clr_config(min_nights: int, min_rows: int, n_labels: int) -> ClrConfig:
    """Gates from the options; the last ~20 % of the nights (2..14) are held out for metrics.

    Two held-out nights are too few to compare the CLR with the naive-Bayes baseline reliably;
    a share of the nights keeps the comparison meaningful as labels accumulate.
    """
    validation = min(
        MAX_VALIDATION_NIGHTS, max(MIN_VALIDATION_NIGHTS, round(n_labels * VALIDATION_SHARE))
    )
    return ClrConfig(
        min_nights=max(min_nights, validation + 2),
        min_rows=min_rows,
        validation_nights=validation,
    )


@dataclass(frozen=True, slots=True)
class TrainingOutcome:
    """A trained artifact or why not, with what the training saw."""

    result: ClrArtifact | NotReady
    rooms: tuple[str, ...]
    n_rows: int
    n_nights: int
    conflicts: tuple[LabelConflict, ...]


def select_rooms(room_windows: Iterable[tuple[str, float]]) -> tuple[str, ...]:
    """The home, then (sorted) each room present in >= ROOM_COVERAGE of the home's windows."""
    counts = Counter(room for room, _ in set(room_windows))
    total = counts.get(HOME_ROOM_ID, 0)
    if total == 0:
        return (HOME_ROOM_ID,)
    rooms = sorted(
        room for room, n in counts.items() if room != HOME_ROOM_ID and n >= ROOM_COVERAGE * total
    )
    return (HOME_ROOM_ID, *rooms)


def night_weights(nights: Sequence[date], changed: date | None) -> list[float]:
    """Recency weight of each night (see the module docstring)."""
    if not nights:
        return []
    newest = max(nights)
    return [
        0.5 ** ((newest - night).days / HALF_LIFE_NIGHTS)
        * (OLD_ROUTINE_WEIGHT if changed is not None and night < changed else 1.0)
        for night in nights
    ]


def train_from_records(
    records: Sequence[FeatureRecord],
    labels: Sequence[SleepLabel],
    config: ClrConfig,
    changed: date | None = None,
) -> TrainingOutcome:
    """Screen the labels, pair the whole day and train under the gates, recency-weighted.

    `changed` is the first night of the latest routine change the detector found (if any).
    """
    rows = [
        r for r in feature_rows_from_long(records) if r.feature_set_version == FEATURE_SET_VERSION
    ]
    kept, conflicts = screen_labels(labels)
    rooms = select_rooms((row.room_id, row.window_start) for row in rows)
    dataset = pair_windows(rows, kept, rooms=rooms)
    # A non-finite value (a corrupt row) fails the fit with a clear FloatingPointError instead
    # of spreading NaN through the model.
    with np.errstate(invalid="raise"):
        result = train_clr(dataset, config, night_weights(dataset.night_dates, changed))
    return TrainingOutcome(
        result=result,
        rooms=rooms,
        n_rows=dataset.n_rows,
        n_nights=dataset.n_nights,
        conflicts=tuple(conflicts),
    )


def rooms_of(artifact: ClrArtifact) -> tuple[str, ...] | None:
    """The rooms an artifact was trained on, or None if its columns are not RoomDB's design."""
    return rooms_of_columns(artifact.feature_names)


def usable_rooms(artifact: ClrArtifact) -> tuple[str, ...] | NotReady:
    """The rooms of an artifact the current features and design can feed, or why it cannot be used.

    An artifact of another feature set or other columns (an update changed them) is replaced at
    the next training.
    """
    if artifact.feature_set_version != FEATURE_SET_VERSION:
        return NotReady(
            "feature_set_changed",
            f"the model uses feature set {artifact.feature_set_version}, "
            f"features are now {FEATURE_SET_VERSION}; it is replaced at the next training",
        )
    rooms = rooms_of(artifact)
    if rooms is None:
        return NotReady("unknown_design", "the model's columns are not RoomDB's design")
    return rooms


@dataclass(frozen=True, slots=True)
class Inference:
    """P(asleep) for the newest window, and for the windows before it (same model)."""

    probability: float
    window_start: float
    window_end: float
    observed: bool  # False: a sensor was unavailable or RoomDB was not recording
    away: bool  # someone away for most of the window: awake by rule
    starts: FloatArray  # every window with a design row, oldest first
    probabilities: FloatArray


def sleep_probabilities(artifact: ClrArtifact, design: Design) -> FloatArray:
    """Calibrated P(asleep) of every design row, for the rooms `usable_rooms` gave.

    A room's columns over a stretch it was not observed in read as the training mean, so the room
    says nothing either way instead of looking empty. A window in which someone was away
    (presence) for most of the time is awake: P = 0.
    """
    x = np.where(design.blind, np.asarray(artifact.scaler_mean), design.x)
    probabilities: FloatArray = np.where(design.away, 0.0, predict_proba(artifact, x))
    return probabilities


def infer_latest(artifact: ClrArtifact, records: Sequence[FeatureRecord]) -> Inference | NotReady:
    """Calibrated P(asleep) (`sleep_probabilities`) of the windows in `records`, newest reported."""
    rooms = usable_rooms(artifact)
    if isinstance(rooms, NotReady):
        return rooms
    design = build_design(feature_rows_from_long(records), rooms)
    if design.n_rows == 0:
        return NotReady("no_window", "no feature window has every room the model uses")
    probabilities = sleep_probabilities(artifact, design)
    return Inference(
        probability=float(probabilities[-1]),
        window_start=float(design.window_start[-1]),
        window_end=float(design.window_end[-1]),
        observed=bool(design.observed[-1]),
        away=bool(design.away[-1]),
        starts=design.window_start,
        probabilities=probabilities,
    )
