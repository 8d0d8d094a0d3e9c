"""Pair feature windows with sleep labels without leaking the future, and split by night.

Rules (the same as the `vw_clr_training_dataset` view):

- a window pairs with a label only if `window_end <= label.end_utc` and
  `window_start >= label.end_utc - context_seconds` (default 12 h); a window after a night's end
  never sees that night's label;
- `y = 1` when the window lies wholly inside `[start_utc, end_utc)`, else 0 (the straddling
  window at bedtime counts as awake);
- a night's span is also clipped at the previous night's end, so no window pairs twice;
- labels that share a night date or overlap in time are refused (`LabelConflictError`);
  `screen_labels` drops them ahead of time with reasons to log.

Nights are groups: every split keeps a night's windows together and is time-ordered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import numpy.typing as npt

from .features import (
    ACTIVITY_FEATURES,
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    HOME_ROOM_ID,
    TIME_FEATURES,
    FeatureRow,
)
from .labels import SleepLabel

DEFAULT_CONTEXT_SECONDS: Final = 43200.0

type IntArray = npt.NDArray[np.int64]
type FloatArray = npt.NDArray[np.float64]
type Fold = tuple[IntArray, IntArray]


@dataclass(frozen=True, slots=True)
class LabelConflict:
    """Two labels that cannot both be used: `duplicate_night` or `overlap`."""

    night_date: date
    other_night_date: date
    reason: str


class LabelConflictError(ValueError):
    """Raised by `pair_windows` when labels share a night or overlap."""

    def __init__(self, conflicts: Sequence[LabelConflict]) -> None:
        """Keep the conflicts for the caller to report."""
        self.conflicts = tuple(conflicts)
        super().__init__(
            "; ".join(f"{c.reason}: {c.night_date} / {c.other_night_date}" for c in conflicts)
        )


def find_label_conflicts(labels: Iterable[SleepLabel]) -> list[LabelConflict]:
    """List pairs of labels with the same night date or overlapping [start, end) ranges."""
    ordered = sorted(labels, key=lambda lab: (lab.start_utc, lab.end_utc, lab.night_date))
    conflicts: list[LabelConflict] = []
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if second.night_date == first.night_date:
                conflicts.append(
                    LabelConflict(first.night_date, second.night_date, "duplicate_night")
                )
            elif second.start_utc < first.end_utc:
                conflicts.append(LabelConflict(first.night_date, second.night_date, "overlap"))
    return conflicts


def screen_labels(labels: Iterable[SleepLabel]) -> tuple[list[SleepLabel], list[LabelConflict]]:
    """Split labels into usable ones and conflicts; every label in a conflict is dropped."""
    items = list(labels)
    conflicts = find_label_conflicts(items)
    bad = {c.night_date for c in conflicts} | {c.other_night_date for c in conflicts}
    kept = sorted((lab for lab in items if lab.night_date not in bad), key=lambda x: x.start_utc)
    return kept, conflicts


def design_columns(rooms: Sequence[str] = (HOME_ROOM_ID,)) -> tuple[str, ...]:
    """Column names of the design matrix: time of day once, then each room's activity features."""
    return TIME_FEATURES + tuple(f"{room}.{name}" for room in rooms for name in ACTIVITY_FEATURES)


def build_design(
    rows: Iterable[FeatureRow],
    rooms: Sequence[str] = (HOME_ROOM_ID,),
    feature_set_version: int = FEATURE_SET_VERSION,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return (window_start, window_end, x) for windows that have a row for every room in `rooms`.

    Use the same call for training and for inference on the latest window so the columns agree.
    """
    time_idx = [FEATURE_NAMES.index(n) for n in TIME_FEATURES]
    act_idx = [FEATURE_NAMES.index(n) for n in ACTIVITY_FEATURES]
    wanted = set(rooms)
    by_window: dict[tuple[float, float], dict[str, FeatureRow]] = {}
    for row in rows:
        if row.room_id in wanted and row.feature_set_version == feature_set_version:
            by_window.setdefault((row.window_start, row.window_end), {})[row.room_id] = row
    starts: list[float] = []
    ends: list[float] = []
    matrix: list[list[float]] = []
    for (window_start, window_end), per_room in sorted(by_window.items()):
        if len(per_room) != len(wanted):
            continue
        first = per_room[rooms[0]]
        vector = [first.values[i] for i in time_idx]
        for room in rooms:
            vector.extend(per_room[room].values[i] for i in act_idx)
        starts.append(window_start)
        ends.append(window_end)
        matrix.append(vector)
    width = len(design_columns(rooms))
    return (
        np.asarray(starts, dtype=np.float64),
        np.asarray(ends, dtype=np.float64),
        np.asarray(matrix, dtype=np.float64).reshape(len(matrix), width),
    )


@dataclass(frozen=True, slots=True)
class PairedDataset:
    """Training rows: features `x`, label `y`, night group per row (time-ordered)."""

    feature_names: tuple[str, ...]
    feature_set_version: int
    x: FloatArray
    y: IntArray
    groups: IntArray  # index into night_dates
    window_start: FloatArray
    night_dates: tuple[date, ...]

    @property
    def n_rows(self) -> int:
        """Number of paired windows."""
        return int(self.y.shape[0])

    @property
    def n_nights(self) -> int:
        """Number of nights with at least one paired window."""
        return len(self.night_dates)

    def subset(self, index: IntArray) -> PairedDataset:
        """Rows at `index` (nights renumbered, order kept)."""
        kept_groups = np.unique(self.groups[index])
        remap = np.full(len(self.night_dates), -1, dtype=np.int64)
        remap[kept_groups] = np.arange(len(kept_groups))
        return PairedDataset(
            feature_names=self.feature_names,
            feature_set_version=self.feature_set_version,
            x=self.x[index],
            y=self.y[index],
            groups=remap[self.groups[index]],
            window_start=self.window_start[index],
            night_dates=tuple(self.night_dates[g] for g in kept_groups),
        )


def pair_windows(
    rows: Iterable[FeatureRow],
    labels: Iterable[SleepLabel],
    *,
    rooms: Sequence[str] = (HOME_ROOM_ID,),
    context_seconds: float = DEFAULT_CONTEXT_SECONDS,
    feature_set_version: int = FEATURE_SET_VERSION,
) -> PairedDataset:
    """Pair windows with labels under the module's no-leakage rules."""
    label_list = list(labels)
    conflicts = find_label_conflicts(label_list)
    if conflicts:
        raise LabelConflictError(conflicts)
    label_list.sort(key=lambda lab: lab.start_utc)
    starts, ends, x = build_design(rows, rooms, feature_set_version)
    picked: list[IntArray] = []
    ys: list[IntArray] = []
    groups: list[IntArray] = []
    nights: list[date] = []
    previous_end = -np.inf
    for label in label_list:
        lower = max(label.end_utc - context_seconds, previous_end)
        previous_end = label.end_utc
        index = np.flatnonzero((starts >= lower) & (ends <= label.end_utc)).astype(np.int64)
        if index.size == 0:
            continue
        inside = (starts[index] >= label.start_utc) & (ends[index] <= label.end_utc)
        picked.append(index)
        ys.append(inside.astype(np.int64))
        groups.append(np.full(index.size, len(nights), dtype=np.int64))
        nights.append(label.night_date)
    index = np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)
    return PairedDataset(
        feature_names=design_columns(rooms),
        feature_set_version=feature_set_version,
        x=x[index],
        y=np.concatenate(ys) if ys else np.zeros(0, dtype=np.int64),
        groups=np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64),
        window_start=starts[index],
        night_dates=tuple(nights),
    )


def _rows_of(groups: IntArray, nights: IntArray) -> IntArray:
    return np.flatnonzero(np.isin(groups, nights)).astype(np.int64)


def last_nights_split(groups: IntArray, n_validation: int) -> Fold:
    """Hold out the last `n_validation` nights (groups are numbered in time order)."""
    nights = np.unique(groups)
    if not 0 < n_validation < nights.size:
        raise ValueError(f"cannot hold out {n_validation} of {nights.size} nights")
    return _rows_of(groups, nights[:-n_validation]), _rows_of(groups, nights[-n_validation:])


def blocked_group_folds(groups: IntArray, n_folds: int) -> list[Fold]:
    """K folds of consecutive nights; every row is tested exactly once (for out-of-fold scores).

    Folds are contiguous in time, so a fold's test nights are never interleaved with its
    training nights; earlier folds do train on later nights, which out-of-fold calibration needs
    (each row must get a score from a model that did not see its night).
    """
    nights = np.unique(groups)
    if not 2 <= n_folds <= nights.size:
        raise ValueError(f"need 2..{nights.size} folds, got {n_folds}")
    folds: list[Fold] = []
    for block in np.array_split(nights, n_folds):
        test = _rows_of(groups, block)
        train = np.flatnonzero(~np.isin(groups, block)).astype(np.int64)
        folds.append((train, test))
    return folds


def expanding_window_folds(groups: IntArray, n_folds: int) -> list[Fold]:
    """Forward-chaining folds over nights (like scikit-learn's TimeSeriesSplit on groups).

    Nights are cut into `n_folds + 1` blocks; fold i trains on blocks 0..i and tests on block
    i + 1, so no fold trains on a night later than one it is tested on.
    """
    nights = np.unique(groups)
    test_size = nights.size // (n_folds + 1)
    if n_folds < 1 or test_size < 1:
        raise ValueError(f"cannot make {n_folds} expanding folds from {nights.size} nights")
    folds: list[Fold] = []
    for test_start in range(nights.size - n_folds * test_size, nights.size, test_size):
        train = _rows_of(groups, nights[:test_start])
        test = _rows_of(groups, nights[test_start : test_start + test_size])
        folds.append((train, test))
    return folds
