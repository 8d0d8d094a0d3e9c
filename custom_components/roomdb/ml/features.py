"""Deterministic window features from raw state events.

Windows are `[start, start + window_seconds)` with `start` a multiple of `window_seconds` since the
epoch, so every caller cuts the same windows. A feature row depends only on the events passed in
(deduplicated and sorted first), never on arrival order or the clock, so recomputing a window gives
identical rows. Change any definition here and bump `FEATURE_SET_VERSION`.

Feature definitions (per room, and home-wide under `HOME_ROOM_ID` over all events):

- `motion_count`: motion/occupancy binary_sensors turning "on" (from any state but "on").
- `light_on_fraction`: share of the window during which at least one light was "on".
- `media_active_fraction`: same for media players in "playing" or "on".
- `door_events`: door/opening/garage_door binary_sensor changes between "on" and "off" (an unknown
  old state counts; a change from or to "unavailable"/"unknown" does not).
- `tod_sin`, `tod_cos`: the local clock time at window start on the unit circle (period 24 h).

Fractions use the state carried into the window: the last event before the window, or else the
`old_state` of the first event in it; with neither the entity counts as off.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
import math
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

FEATURE_SET_VERSION: Final = 1
HOME_ROOM_ID: Final = "__home__"
DEFAULT_WINDOW_SECONDS: Final = 900

ACTIVITY_FEATURES: Final[tuple[str, ...]] = (
    "motion_count",
    "light_on_fraction",
    "media_active_fraction",
    "door_events",
)
TIME_FEATURES: Final[tuple[str, ...]] = ("tod_sin", "tod_cos")
FEATURE_NAMES: Final[tuple[str, ...]] = ACTIVITY_FEATURES + TIME_FEATURES

MOTION_DEVICE_CLASSES: Final = frozenset({"motion", "occupancy"})
DOOR_DEVICE_CLASSES: Final = frozenset({"door", "opening", "garage_door"})
MEDIA_ACTIVE_STATES: Final = frozenset({"playing", "on"})
_BINARY_STATES: Final = frozenset({"on", "off"})
_DAY_SECONDS: Final = 86400.0

type TzLike = str | tzinfo | timedelta


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One state change as stored in `raw_events` (ts in UTC epoch seconds)."""

    entity_id: str
    domain: str
    device_class: str | None
    room_id: str | None
    state: str
    old_state: str | None
    ts: float


@dataclass(frozen=True, slots=True)
class FeatureRow:
    """Feature values of one room (or the home) for one window, in `FEATURE_NAMES` order."""

    room_id: str
    window_start: float
    window_end: float
    values: tuple[float, ...]
    feature_set_version: int = FEATURE_SET_VERSION

    def as_dict(self) -> dict[str, float]:
        """Return the values keyed by feature name."""
        return dict(zip(FEATURE_NAMES, self.values, strict=True))

    def value(self, name: str) -> float:
        """Return one feature value by name."""
        return self.values[FEATURE_NAMES.index(name)]


def resolve_tz(tz: TzLike) -> tzinfo:
    """Turn a zoneinfo name, a fixed UTC offset or a tzinfo into a tzinfo."""
    if isinstance(tz, str):
        return ZoneInfo(tz)
    if isinstance(tz, timedelta):
        return timezone(tz)
    return tz


def align_window(ts: float, window_seconds: int = DEFAULT_WINDOW_SECONDS) -> float:
    """Return the start of the aligned window that contains `ts`."""
    return float(math.floor(ts / window_seconds) * window_seconds)


def time_of_day_encoding(ts: float, tz: TzLike) -> tuple[float, float]:
    """Return (sin, cos) of the local clock time of `ts` on a 24 h circle."""
    local = datetime.fromtimestamp(ts, tz=resolve_tz(tz))
    seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    angle = 2.0 * math.pi * seconds / _DAY_SECONDS
    return math.sin(angle), math.cos(angle)


def _kind(event: RawEvent) -> str | None:
    if event.domain == "binary_sensor":
        if event.device_class in MOTION_DEVICE_CLASSES:
            return "motion"
        if event.device_class in DOOR_DEVICE_CLASSES:
            return "door"
        return None
    if event.domain == "light":
        return "light"
    if event.domain == "media_player":
        return "media"
    return None


def _is_active(kind: str, state: str | None) -> bool:
    if kind == "light":
        return state == "on"
    return state in MEDIA_ACTIVE_STATES


def _counts_as_event(kind: str, event: RawEvent) -> bool:
    if kind == "motion":
        return event.state == "on" and event.old_state != "on"
    return (
        event.state in _BINARY_STATES
        and (event.old_state is None or event.old_state in _BINARY_STATES)
        and event.state != event.old_state
    )


def _on_intervals(
    kind: str, events: Sequence[RawEvent], first: float, last: float
) -> list[tuple[float, float]]:
    """Intervals within [first, last) during which one entity was active."""
    before = [e for e in events if e.ts < first]
    inside = [e for e in events if first <= e.ts < last]
    if before:
        carried: str | None = before[-1].state
    elif inside:
        carried = inside[0].old_state
    else:
        carried = None
    active = _is_active(kind, carried)
    since = first
    intervals: list[tuple[float, float]] = []
    for event in inside:
        now_active = _is_active(kind, event.state)
        if active and not now_active:
            intervals.append((since, event.ts))
        elif now_active and not active:
            since = event.ts
        active = now_active
    if active:
        intervals.append((since, last))
    return intervals


def _union_per_window(
    intervals: list[tuple[float, float]], first: float, window_seconds: int, n_windows: int
) -> list[float]:
    """Covered seconds per window of the union of `intervals`."""
    covered = [0.0] * n_windows
    merged: list[list[float]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in merged:
        k = int((start - first) // window_seconds)
        while k < n_windows:
            window_start = first + k * window_seconds
            if window_start >= end:
                break
            overlap = min(end, window_start + window_seconds) - max(start, window_start)
            covered[k] += overlap
            k += 1
    return covered


def compute_features(
    events: Iterable[RawEvent],
    start: float,
    end: float,
    *,
    tz: TzLike = "UTC",
    window_seconds: int = DEFAULT_WINDOW_SECONDS,
    rooms: Iterable[str] | None = None,
) -> list[FeatureRow]:
    """Compute the complete windows between `start` and `end` for each room and the home.

    The first window is the aligned window containing `start`; only windows ending at or before
    `end` are returned, so a window still in progress is never written. Pass events from before
    the first window (at least the last one per light/media entity) so that states carry in.
    `rooms` fixes the room set (rooms without events get zero rows); by default it is every
    room seen in the events. Rows are ordered by window, then room id.
    """
    if window_seconds <= 0:
        raise ValueError("window_seconds must be positive")
    first = align_window(start, window_seconds)
    n_windows = max(0, math.floor((end - first) / window_seconds))
    unique = sorted(
        set(events), key=lambda e: (e.ts, e.entity_id, e.state, e.old_state or "", e.room_id or "")
    )
    room_ids = sorted(
        set(rooms) if rooms is not None else {e.room_id for e in unique if e.room_id is not None}
    )
    room_ids = [r for r in room_ids if r != HOME_ROOM_ID]
    if n_windows == 0:
        return []
    last = first + n_windows * window_seconds
    targets = [HOME_ROOM_ID, *room_ids]
    known_rooms = set(room_ids)

    counts = {
        (target, kind): [0.0] * n_windows for target in targets for kind in ("motion", "door")
    }
    by_entity: dict[str, list[RawEvent]] = defaultdict(list)
    for event in unique:
        kind = _kind(event)
        if kind is None:
            continue
        if kind in ("light", "media"):
            by_entity[event.entity_id].append(event)
        elif first <= event.ts < last and _counts_as_event(kind, event):
            k = int((event.ts - first) // window_seconds)
            counts[HOME_ROOM_ID, kind][k] += 1.0
            if event.room_id in known_rooms:
                counts[event.room_id, kind][k] += 1.0

    intervals: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for entity_events in by_entity.values():
        # The room and kind of an entity are taken from its latest event.
        latest = entity_events[-1]
        kind = _kind(latest)
        assert kind is not None
        spans = _on_intervals(kind, entity_events, first, last)
        intervals[HOME_ROOM_ID, kind].extend(spans)
        if latest.room_id in known_rooms:
            intervals[latest.room_id, kind].extend(spans)

    fractions = {
        (target, kind): [
            c / window_seconds
            for c in _union_per_window(intervals[target, kind], first, window_seconds, n_windows)
        ]
        for target in targets
        for kind in ("light", "media")
    }

    resolved = resolve_tz(tz)
    rows: list[FeatureRow] = []
    for k in range(n_windows):
        window_start = first + k * window_seconds
        tod = time_of_day_encoding(window_start, resolved)
        rows.extend(
            FeatureRow(
                room_id=target,
                window_start=window_start,
                window_end=window_start + window_seconds,
                values=(
                    counts[target, "motion"][k],
                    fractions[target, "light"][k],
                    fractions[target, "media"][k],
                    counts[target, "door"][k],
                    *tod,
                ),
            )
            for target in targets
        )
    return rows


def feature_rows_from_long(
    records: Iterable[tuple[str, float, float, str, float, int]],
) -> list[FeatureRow]:
    """Rebuild rows from the long `features` table: (room_id, start, end, name, value, version).

    Windows missing any of `FEATURE_NAMES` are skipped; names not in `FEATURE_NAMES` are ignored.
    """
    grouped: dict[tuple[str, float, float, int], dict[str, float]] = defaultdict(dict)
    for room_id, window_start, window_end, name, value, version in records:
        grouped[room_id, window_start, window_end, version][name] = value
    rows = [
        FeatureRow(
            room_id=room_id,
            window_start=window_start,
            window_end=window_end,
            values=tuple(values[name] for name in FEATURE_NAMES),
            feature_set_version=version,
        )
        for (room_id, window_start, window_end, version), values in grouped.items()
        if all(name in values for name in FEATURE_NAMES)
    ]
    rows.sort(key=lambda r: (r.window_start, r.room_id))
    return rows


def night_of(ts: float, tz: TzLike) -> date:
    """Return the local night an instant belongs to: night D runs from noon D to noon D+1."""
    return (datetime.fromtimestamp(ts, tz=resolve_tz(tz)) - timedelta(hours=12)).date()


@dataclass(frozen=True, slots=True)
class NightlySeries:
    """One value per complete night and stream (`room_id:feature`), for BOCPD."""

    night_dates: tuple[date, ...]
    names: tuple[str, ...]
    values: npt.NDArray[np.float64]  # shape (len(night_dates), len(names))


def _slot_seconds(night: date, tz: tzinfo, start_hour: int, slot_hours: int) -> float:
    """Return the real length of a night's slot: local wall-clock hours, measured in UTC."""
    start_day = night if start_hour >= 12 else night + timedelta(days=1)
    start = datetime.combine(start_day, time(start_hour), tzinfo=tz)
    end = (start.replace(tzinfo=None) + timedelta(hours=slot_hours)).replace(tzinfo=tz)
    return end.timestamp() - start.timestamp()


def nightly_series(
    rows: Iterable[FeatureRow],
    tz: TzLike,
    *,
    slot_start_hour: int = 20,
    slot_end_hour: int = 4,
    features: Sequence[str] = ACTIVITY_FEATURES,
    rooms: Sequence[str] | None = None,
    min_coverage: float = 0.9,
) -> NightlySeries:
    """Average each room's features over a local evening/night slot, one value per night.

    Raw 15-minute windows follow the daily rhythm, which a piecewise-constant change model would
    flag every evening; slot averages per night are stationary while a routine holds and shift
    when it changes (e.g. a later bedtime raises late-evening light and media use). The slot is
    `[slot_start_hour, slot_end_hour)` local time and may wrap past midnight. A night is kept only
    when every stream has at least `min_coverage` of the slot's windows (so the night still in
    progress is left out); the expected count comes from that night's real length, so a DST
    night with an hour less or more is judged against its own slot.
    """
    resolved = resolve_tz(tz)
    wraps = slot_end_hour <= slot_start_hour
    slot_hours = (slot_end_hour - slot_start_hour) % 24 or 24
    indices = [FEATURE_NAMES.index(f) for f in features]
    sums: dict[tuple[date, str], list[float]] = {}
    counts: dict[tuple[date, str], int] = defaultdict(int)
    window_seconds = 0.0
    for row in rows:
        if rooms is not None and row.room_id not in rooms:
            continue
        local = datetime.fromtimestamp(row.window_start, tz=resolved)
        hour = local.hour + local.minute / 60.0
        in_slot = (
            (hour >= slot_start_hour or hour < slot_end_hour)
            if wraps
            else slot_start_hour <= hour < slot_end_hour
        )
        if not in_slot:
            continue
        window_seconds = row.window_end - row.window_start
        key = ((local - timedelta(hours=12)).date(), row.room_id)
        acc = sums.setdefault(key, [0.0] * len(indices))
        for j, i in enumerate(indices):
            acc[j] += row.values[i]
        counts[key] += 1
    room_ids = sorted(rooms if rooms is not None else {room for _, room in sums})
    names = tuple(f"{room}:{feature}" for room in room_ids for feature in features)
    if not sums:
        return NightlySeries((), names, np.zeros((0, len(names))))
    nights = sorted({night for night, _ in sums})
    kept: list[date] = []
    values: list[list[float]] = []
    for night in nights:
        expected = _slot_seconds(night, resolved, slot_start_hour, slot_hours) / window_seconds
        if all(counts.get((night, room), 0) >= min_coverage * expected for room in room_ids):
            kept.append(night)
            values.append(
                [
                    sums[night, room][j] / counts[night, room]
                    for room in room_ids
                    for j in range(len(indices))
                ]
            )
    array = np.array(values, dtype=np.float64).reshape(len(kept), len(names))
    return NightlySeries(tuple(kept), names, array)
