"""The design matrix, labelled windows (the whole day) and night-keeping splits.

Design: time of day (two harmonics) and the night's weekday (with its own time-of-day curve, for
weekly routines), then per room (and the home) the window's activity, the time since the room's
last activity, its activity over the last hour and four hours, its light over the last hour and
whether a light was on in it after an hour without movement, then whether someone was away and
each room's share of the last two hours' activity. Every value comes from the window and the
windows before it, never after, so a window's row is known when it closes.

Labelled windows (the rule `vw_clr_training_dataset_v2` gives too):

- a labelled night is known from its start: asleep to its end, then awake up to the next night's
  start when that night (the next date) is labelled too, else up to local noon after the night
  (a night's sleep is its only one, so the morning after it is awake);
- a window is labelled when it lies wholly inside such a stretch; `y = 1` when at least half of
  it was asleep; stretches never overlap, so no window pairs twice;
- labels that share a night date or overlap in time are refused (`LabelConflictError`);
  `screen_labels` drops them ahead of time with reasons to log;
- windows RoomDB did not observe (a sensor unavailable in the window or the hour before it, not
  recording, or less than four hours of windows before it) and windows in which someone was away
  for most of the time (handled as awake by rule, see `build_design`) are left out.

A room not observed in a window or its look-back is marked in `Design.blind`, so inference can let
it say nothing rather than read its silence as an empty room.

Nights are groups: every split keeps a night's windows together and is time-ordered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt

from .features import (
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    HOME_ROOM_ID,
    FeatureRow,
    noon,
)
from .labels import SleepLabel

TIME_COLUMNS: Final = (
    "tod_sin",
    "tod_cos",
    "tod_sin2",
    "tod_cos2",
    *(f"night_{day}{part}" for day in range(7) for part in ("", "_sin", "_cos")),
)
ROOM_COLUMNS: Final = (
    "motion",
    "light",
    "media",
    "door",
    "appliance",
    "charging",
    "quiet",
    "active_1h",
    "active_4h",
    "light_1h",
    "light_idle",
)
AWAY_COLUMN: Final = f"{HOME_ROOM_ID}.away"
DOOR_LAST_COLUMN: Final = f"{HOME_ROOM_ID}.door_last"
SHARE_COLUMN: Final = "share_2h"
QUIET_CAP_SECONDS: Final = 12 * 3600.0
CONTEXT_WINDOWS: Final = 16
"""The longest look-back of a design value (four hours of 15-minute windows)."""
UNOBSERVED_LOOKBACK: Final = 4
UNOBSERVED_SHARE: Final = 0.1
AWAY_SHARE: Final = 0.5

type IntArray = npt.NDArray[np.int64]
type FloatArray = npt.NDArray[np.float64]
type BoolArray = npt.NDArray[np.bool_]
type Fold = tuple[IntArray, IntArray]

_INDEX: Final = {name: i for i, name in enumerate(FEATURE_NAMES)}


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
    """Column names of the design matrix for these rooms (the home first)."""
    columns = list(TIME_COLUMNS)
    for room in rooms:
        columns += [f"{room}.{name}" for name in ROOM_COLUMNS]
    columns += [AWAY_COLUMN, DOOR_LAST_COLUMN]
    columns += [f"{room}.{SHARE_COLUMN}" for room in rooms if room != HOME_ROOM_ID]
    return tuple(columns)


def rooms_of_columns(columns: Sequence[str]) -> tuple[str, ...] | None:
    """The rooms a column list was built for, or None if it is not RoomDB's design."""
    rooms: list[str] = []
    for name in columns[len(TIME_COLUMNS) :]:
        room = name.rsplit(".", 1)[0]
        if name.endswith(f".{ROOM_COLUMNS[0]}"):
            rooms.append(room)
    if not rooms or design_columns(rooms) != tuple(columns):
        return None
    return tuple(rooms)


@dataclass(frozen=True, slots=True)
class Design:
    """Design rows of the windows that have a row for every room, in time order."""

    feature_names: tuple[str, ...]
    window_start: FloatArray
    window_end: FloatArray
    x: FloatArray
    observed: BoolArray  # the window and the hour before it observed, four hours of context
    away: BoolArray  # someone away for most of the window
    blind: BoolArray  # per row and column: a room's value over a look-back it was not observed in

    @property
    def n_rows(self) -> int:
        """Number of windows."""
        return int(self.window_start.shape[0])


def _rolling_sum(values: FloatArray, width: int) -> FloatArray:
    total = np.cumsum(np.concatenate(([0.0], values)))
    out: FloatArray = total[1:] - total[np.maximum(0, np.arange(1, values.size + 1) - width)]
    return out


def _latest(happened: BoolArray) -> IntArray:
    """Per window, the index of the latest window up to it where something happened (-1: none)."""
    index = np.arange(happened.size)
    latest: IntArray = np.maximum.accumulate(np.where(happened, index, -1))
    return latest


def _since_activity(activity: FloatArray, quiet: FloatArray, width: float) -> FloatArray:
    """Seconds from the last activity to each window's end, capped at `QUIET_CAP_SECONDS`."""
    index = np.arange(activity.size)
    last = _latest(activity > 0)
    since = np.where(last >= 0, (index - last) * width + quiet[np.maximum(last, 0)], np.inf)
    out: FloatArray = np.minimum(since, QUIET_CAP_SECONDS)
    return out


def _door_last(motion: FloatArray, doors: FloatArray, width: float) -> FloatArray:
    """1 where the home's last motion or door (within `QUIET_CAP_SECONDS`) came with a door.

    A door and then no movement inside is someone who left ("wasp in a box"): without presence,
    an empty home at night is otherwise as quiet as a sleeping one. A return is a door followed by
    movement, a bedtime is movement with no door. Lights and media are not movement: a light
    switched off by a timer after the door closed does not bring anyone back.
    """
    index = np.arange(motion.size)
    last = _latest((motion > 0) | (doors > 0))
    cap = QUIET_CAP_SECONDS / width
    out: FloatArray = np.where(
        (last >= 0) & (index - last <= cap), doors[np.maximum(last, 0)] > 0, False
    ).astype(np.float64)
    return out


def build_design(
    rows: Iterable[FeatureRow],
    rooms: Sequence[str] = (HOME_ROOM_ID,),
    feature_set_version: int = FEATURE_SET_VERSION,
) -> Design:
    """Design rows for the windows that have a row for every room in `rooms`.

    Pass the four hours before the first window you need as well: look-back values of a window
    without them are incomplete and the window counts as unobserved. Use the same call for
    training and for inference so the columns agree.
    """
    wanted = {room: i for i, room in enumerate(rooms)}
    kept = [
        row
        for row in rows
        if row.room_id in wanted and row.feature_set_version == feature_set_version
    ]
    names = design_columns(rooms)
    if not kept:
        empty, none = np.zeros(0), np.zeros((0, len(names)))
        return Design(names, empty, empty, none, empty > 0, empty > 0, none > 0)
    width = kept[0].window_end - kept[0].window_start
    first = min(row.window_start for row in kept)
    n = round((max(row.window_start for row in kept) - first) / width) + 1
    grid = np.full((len(rooms), n, len(FEATURE_NAMES)), np.nan)
    for row in kept:
        grid[wanted[row.room_id], round((row.window_start - first) / width)] = row.values
    present = ~np.isnan(grid[:, :, 0]).any(axis=0)
    # Missing values become 0; an infinite (corrupt) value stays so the fit refuses it.
    values = np.where(np.isnan(grid), 0.0, grid)
    home = values[wanted[HOME_ROOM_ID]] if HOME_ROOM_ID in wanted else values[0]

    def feature(room: int, name: str) -> FloatArray:
        column: FloatArray = values[room, :, _INDEX[name]]
        return column

    sin, cos = home[:, _INDEX["tod_sin"]], home[:, _INDEX["tod_cos"]]
    columns: list[FloatArray] = [sin, cos, 2 * sin * cos, cos * cos - sin * sin]
    weekday = home[:, _INDEX["night_weekday"]]
    for day in range(7):
        night = (weekday == day).astype(np.float64)
        columns += [night, night * sin, night * cos]
    activity = {room: feature(i, "activity_events") for room, i in wanted.items()}
    for room, i in wanted.items():
        light = feature(i, "light_on_fraction")
        since = _since_activity(activity[room], feature(i, "quiet_seconds"), width)
        columns += [
            np.log1p(feature(i, "motion_count")),
            light,
            feature(i, "media_active_fraction"),
            np.log1p(feature(i, "door_events")),
            feature(i, "appliance_on_fraction"),
            feature(i, "charging_fraction"),
            np.log1p(since / 60.0) / np.log1p(QUIET_CAP_SECONDS / 60.0),
            np.log1p(_rolling_sum(activity[room], 4)),
            np.log1p(_rolling_sum(activity[room], CONTEXT_WINDOWS)),
            _rolling_sum(light, 4) / 4.0,
            # A light on in a room nobody has moved in for an hour was left on.
            light * np.minimum(since / 3600.0, 1.0),
        ]
    columns.append(home[:, _INDEX["away_fraction"]])
    columns.append(
        _door_last(home[:, _INDEX["motion_count"]], home[:, _INDEX["door_events"]], width)
    )
    home_recent = np.maximum(_rolling_sum(home[:, _INDEX["activity_events"]], 8), 1.0)
    columns += [
        _rolling_sum(activity[room], 8) / home_recent for room in rooms if room != HOME_ROOM_ID
    ]

    # Per room and window: not observed (a sensor unavailable, not recording, or no row).
    unseen: BoolArray = (
        np.where(np.isnan(grid[:, :, 0]), 1.0, grid[:, :, _INDEX["unavailable_fraction"]])
        > UNOBSERVED_SHARE
    )
    bad: FloatArray = np.any(unseen, axis=0).astype(np.float64)
    observed = (_rolling_sum(bad, UNOBSERVED_LOOKBACK + 1) == 0) & (
        _rolling_sum(present.astype(np.float64), CONTEXT_WINDOWS + 1) == CONTEXT_WINDOWS + 1
    )
    starts = first + np.arange(n) * width
    x = np.column_stack(columns)
    blind = _blind_columns(names, wanted, unseen)
    return Design(
        feature_names=names,
        window_start=starts[present],
        window_end=starts[present] + width,
        x=x[present],
        observed=observed[present],
        away=home[present, _INDEX["away_fraction"]] >= AWAY_SHARE,
        blind=blind[present],
    )


def _blind_columns(names: Sequence[str], wanted: dict[str, int], unseen: BoolArray) -> BoolArray:
    """Per window and column: a room's column, where the room was not observed lately.

    Not observed: a sensor of the room unavailable, RoomDB not recording, or no row for the room,
    in the window or the four hours before it (the look-back of its activity counts; the time
    since its last activity, capped at twelve hours, can reach further back). A flat motion
    sensor leaves its room without activity, which otherwise reads as an empty or sleeping room.
    The home's own columns and the other rooms' shares stay: the rooms that still report carry
    them. Training keeps such windows once the hour after the outage has passed (`observed`),
    with the values the home recorded.
    """
    blind = np.zeros((unseen.shape[1], len(names)), dtype=np.bool_)
    position = {name: k for k, name in enumerate(names)}
    for room, i in wanted.items():
        if room == HOME_ROOM_ID:
            continue
        lately = _rolling_sum(unseen[i].astype(np.float64), CONTEXT_WINDOWS + 1)
        own = [position[f"{room}.{name}"] for name in (*ROOM_COLUMNS, SHARE_COLUMN)]
        blind[:, own] = (lately > 0)[:, None]
    return blind


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


def known_until(label: SleepLabel, following: SleepLabel | None) -> float:
    """Where the stretch a label makes known ends (see the module docstring)."""
    if following is not None and following.night_date == label.night_date + timedelta(days=1):
        return following.start_utc
    return max(label.end_utc, noon(label.night_date + timedelta(days=1), label.tz))


def pair_windows(
    rows: Iterable[FeatureRow],
    labels: Iterable[SleepLabel],
    *,
    rooms: Sequence[str] = (HOME_ROOM_ID,),
    feature_set_version: int = FEATURE_SET_VERSION,
) -> PairedDataset:
    """Pair windows with labels under the module's rules."""
    label_list = list(labels)
    conflicts = find_label_conflicts(label_list)
    if conflicts:
        raise LabelConflictError(conflicts)
    label_list.sort(key=lambda lab: lab.start_utc)
    design = build_design(rows, rooms, feature_set_version)
    starts, ends = design.window_start, design.window_end
    usable = design.observed & ~design.away
    picked: list[IntArray] = []
    ys: list[IntArray] = []
    groups: list[IntArray] = []
    nights: list[date] = []
    for k, label in enumerate(label_list):
        following = label_list[k + 1] if k + 1 < len(label_list) else None
        until = known_until(label, following)
        if following is not None:
            until = min(until, following.start_utc)
        index = np.flatnonzero(usable & (starts >= label.start_utc) & (ends <= until))
        if index.size == 0:
            continue
        slept = np.clip(
            np.minimum(ends[index], label.end_utc) - np.maximum(starts[index], label.start_utc),
            0.0,
            None,
        )
        picked.append(index.astype(np.int64))
        ys.append((slept >= (ends[index] - starts[index]) / 2).astype(np.int64))
        groups.append(np.full(index.size, len(nights), dtype=np.int64))
        nights.append(label.night_date)
    index = np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)
    return PairedDataset(
        feature_names=design.feature_names,
        feature_set_version=feature_set_version,
        x=design.x[index],
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


def interleaved_group_folds(groups: IntArray, n_folds: int) -> list[Fold]:
    """K folds of whole nights, every K-th night in each; every row is tested exactly once.

    For out-of-fold calibration scores: each row gets a score from a model that did not see its
    night. Interleaving keeps every fold's training nights spread over the whole span, so after
    a routine change the new nights' scores come from models that saw other new nights (with
    consecutive blocks, the last block's model would know only the old routine and the
    calibration would learn the old routine's mistakes).
    """
    nights = np.unique(groups)
    if not 2 <= n_folds <= nights.size:
        raise ValueError(f"need 2..{nights.size} folds, got {n_folds}")
    folds: list[Fold] = []
    for k in range(n_folds):
        block = nights[k::n_folds]
        test = _rows_of(groups, block)
        train = np.flatnonzero(~np.isin(groups, block)).astype(np.int64)
        folds.append((train, test))
    return folds
