"""Deterministic window features from raw state events.

Windows are `[start, start + window_seconds)` with `start` a multiple of `window_seconds` since the
epoch, so every caller cuts the same windows. A feature row depends only on the events passed in
(deduplicated and sorted first) and the recording gaps, never on arrival order or the clock, so
recomputing a window gives identical rows. Change any definition here and bump
`FEATURE_SET_VERSION`.

Entities fall into kinds: motion (binary_sensor motion/occupancy/presence), door
(door/opening/garage_door), charging (battery_charging), appliance (switches, input_booleans and
binary sensors of any other device class), light, media (media players) and presence (`person`,
`device_tracker`). Feature definitions (per room, and home-wide under `HOME_ROOM_ID` over all
events):

- `motion_count`: motion sensors turning "on" (from any state but "on").
- `light_on_fraction`: share of the window during which at least one light was "on".
- `media_active_fraction`: same for media players in "playing" or "on".
- `door_events`: door changes between "on" and "off" (an unknown old state counts; a change from
  or to "unavailable"/"unknown" does not).
- `appliance_on_fraction`: share of the window during which at least one appliance was "on".
- `charging_fraction`: the charging sensors' mean share of the window "on" (two phones, one
  charging all window: 0.5).
- `activity_events`: things people do: a motion sensor going from "off" to "on", a door, light,
  appliance or charger switched, a media player started or stopped, someone arriving or leaving.
  A change from or to "unavailable"/"unknown", or from no state, is not activity.
- `quiet_seconds`: seconds from the last activity event in the window to its end (the window's
  length when there was none), so callers can follow the time since the last activity exactly.
- `away_fraction`: share of the window during which at least one presence entity was away
  (anything but "home"; "unknown"/"unavailable" is not away).
- `unavailable_fraction`: share of the window in which RoomDB did not observe the place: a binary
  sensor of it "unavailable"/"unknown", or RoomDB not recording (a gap passed in).
- `tod_sin`, `tod_cos`: the local clock time at window start on the unit circle (period 24 h).
- `night_weekday`: the weekday (0 = Monday) of the night the window belongs to (local noon to
  noon): Friday night runs into Saturday morning, so weekly routines line up with it.

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

FEATURE_SET_VERSION: Final = 2
HOME_ROOM_ID: Final = "__home__"
DEFAULT_WINDOW_SECONDS: Final = 900

ACTIVITY_FEATURES: Final[tuple[str, ...]] = (
    "motion_count",
    "light_on_fraction",
    "media_active_fraction",
    "door_events",
    "appliance_on_fraction",
    "charging_fraction",
    "activity_events",
    "quiet_seconds",
    "away_fraction",
    "unavailable_fraction",
)
TIME_FEATURES: Final[tuple[str, ...]] = ("tod_sin", "tod_cos", "night_weekday")
FEATURE_NAMES: Final[tuple[str, ...]] = ACTIVITY_FEATURES + TIME_FEATURES

MOTION_DEVICE_CLASSES: Final = frozenset({"motion", "occupancy", "presence"})
DOOR_DEVICE_CLASSES: Final = frozenset({"door", "opening", "garage_door"})
CHARGING_DEVICE_CLASSES: Final = frozenset({"battery_charging"})
APPLIANCE_DOMAINS: Final = frozenset({"switch", "input_boolean"})
PRESENCE_DOMAINS: Final = frozenset({"person", "device_tracker"})
MEDIA_ACTIVE_STATES: Final = frozenset({"playing", "on"})
UNOBSERVED_STATES: Final = frozenset({"unavailable", "unknown"})
_BINARY_STATES: Final = frozenset({"on", "off"})
_FRACTION_KINDS: Final = ("light", "media", "appliance", "away")
_DAY_SECONDS: Final = 86400.0

type TzLike = str | tzinfo | timedelta
type Span = tuple[float, float]


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


def event_kind(event: RawEvent) -> str | None:
    """The kind of entity an event comes from (None: not a signal the features use)."""
    domain = event.domain
    if domain == "binary_sensor":
        if event.device_class in MOTION_DEVICE_CLASSES:
            return "motion"
        if event.device_class in DOOR_DEVICE_CLASSES:
            return "door"
        if event.device_class in CHARGING_DEVICE_CLASSES:
            return "charging"
        return "appliance"
    if domain == "light":
        return "light"
    if domain == "media_player":
        return "media"
    if domain in APPLIANCE_DOMAINS:
        return "appliance"
    if domain in PRESENCE_DOMAINS:
        return "presence"
    return None


def is_active(kind: str, state: str | None) -> bool:
    """Whether an entity of this kind counts as on (for presence: away) in this state."""
    if kind == "media":
        return state in MEDIA_ACTIVE_STATES
    if kind == "presence":
        return state is not None and state != "home" and state not in UNOBSERVED_STATES
    return state == "on"


def observed(state: str | None) -> bool:
    """Whether a state says something about the place (not unavailable, unknown or missing)."""
    return state is not None and state not in UNOBSERVED_STATES


def _counts_as_event(kind: str, event: RawEvent) -> bool:
    """The motion and door counts (kept as they were defined first)."""
    if kind == "motion":
        return event.state == "on" and event.old_state != "on"
    return (
        event.state in _BINARY_STATES
        and (event.old_state is None or event.old_state in _BINARY_STATES)
        and event.state != event.old_state
    )


def is_activity(kind: str, event: RawEvent) -> bool:
    """Whether an event is something a person did (see `activity_events`)."""
    if not (observed(event.state) and observed(event.old_state)):
        return False
    if kind == "motion":
        return event.state == "on" and event.old_state != "on"
    return is_active(kind, event.state) != is_active(kind, event.old_state)


def _carried(events: Sequence[RawEvent], first: float) -> str | None:
    """The state an entity is in at `first`."""
    before = [e for e in events if e.ts < first]
    if before:
        return before[-1].state
    inside = [e for e in events if e.ts >= first]
    return inside[0].old_state if inside else None


def state_intervals(
    events: Sequence[RawEvent], first: float, last: float, wanted: frozenset[str] | None, kind: str
) -> list[Span]:
    """Intervals within [first, last) in which the entity's state passes the test.

    `wanted` None tests `is_active(kind, state)`; otherwise the state must be in `wanted`.
    """

    def passes(state: str | None) -> bool:
        return is_active(kind, state) if wanted is None else state in wanted

    current = passes(_carried(events, first))
    since = first
    intervals: list[Span] = []
    for event in events:
        if not first <= event.ts < last:
            continue
        now = passes(event.state)
        if current and not now:
            intervals.append((since, event.ts))
        elif now and not current:
            since = event.ts
        current = now
    if current:
        intervals.append((since, last))
    return intervals


def union_per_window(
    intervals: Iterable[Span], first: float, window_seconds: int, n_windows: int
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
        k = max(0, int((start - first) // window_seconds))
        while k < n_windows:
            window_start = first + k * window_seconds
            if window_start >= end:
                break
            overlap = min(end, window_start + window_seconds) - max(start, window_start)
            covered[k] += max(0.0, overlap)
            k += 1
    return covered


@dataclass(slots=True)
class _Target:
    """What one room (or the home) accumulates while the events are read."""

    motion: list[float]
    door: list[float]
    activity: list[float]
    last_activity: list[float]
    spans: dict[str, list[Span]]
    charging: list[list[float]]

    @classmethod
    def empty(cls, n_windows: int) -> _Target:
        return cls(
            motion=[0.0] * n_windows,
            door=[0.0] * n_windows,
            activity=[0.0] * n_windows,
            last_activity=[-math.inf] * n_windows,
            spans=defaultdict(list),
            charging=[],
        )


def compute_features(
    events: Iterable[RawEvent],
    start: float,
    end: float,
    *,
    tz: TzLike = "UTC",
    window_seconds: int = DEFAULT_WINDOW_SECONDS,
    rooms: Iterable[str] | None = None,
    gaps: Iterable[Span] = (),
) -> list[FeatureRow]:
    """Compute the complete windows between `start` and `end` for each room and the home.

    The first window is the aligned window containing `start`; only windows ending at or before
    `end` are returned, so a window still in progress is never written. Pass events from before
    the first window (at least the last one per entity) so that states carry in. `rooms` fixes
    the room set (rooms without events get zero rows); by default it is every room seen in the
    events. `gaps` are spans in which RoomDB was not recording. Rows are ordered by window, then
    room id.
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
    targets = {room: _Target.empty(n_windows) for room in (HOME_ROOM_ID, *room_ids)}

    by_entity: dict[str, list[RawEvent]] = defaultdict(list)
    for event in unique:
        if event_kind(event) is not None:
            by_entity[event.entity_id].append(event)
    for entity_events in by_entity.values():
        # The room and kind of an entity are taken from its latest event.
        latest = entity_events[-1]
        kind = event_kind(latest)
        assert kind is not None
        places = [targets[HOME_ROOM_ID]]
        if latest.room_id in targets and latest.room_id != HOME_ROOM_ID:
            places.append(targets[latest.room_id])
        _read_entity(
            kind,
            entity_events,
            places,
            first=first,
            last=last,
            window_seconds=window_seconds,
            n_windows=n_windows,
        )

    unobserved_gaps = [(max(a, first), min(b, last)) for a, b in gaps if b > first and a < last]
    resolved = resolve_tz(tz)
    columns = {
        room: _columns(target, unobserved_gaps, first, window_seconds, n_windows)
        for room, target in targets.items()
    }
    rows: list[FeatureRow] = []
    for k in range(n_windows):
        window_start = first + k * window_seconds
        tod = (
            *time_of_day_encoding(window_start, resolved),
            float(night_of(window_start, resolved).weekday()),
        )
        rows.extend(
            FeatureRow(
                room_id=room,
                window_start=window_start,
                window_end=window_start + window_seconds,
                values=(*(column[k] for column in columns[room]), *tod),
            )
            for room in targets
        )
    return rows


def _read_entity(
    kind: str,
    events: Sequence[RawEvent],
    places: Sequence[_Target],
    *,
    first: float,
    last: float,
    window_seconds: int,
    n_windows: int,
) -> None:
    """Add one entity's events to the targets it counts for (the home, and its room)."""
    if kind in ("light", "media", "appliance"):
        spans = state_intervals(events, first, last, None, kind)
        for place in places:
            place.spans[kind].extend(spans)
    elif kind == "presence":
        spans = state_intervals(events, first, last, None, kind)
        for place in places:
            place.spans["away"].extend(spans)
    if kind == "charging":
        share = [
            c / window_seconds
            for c in union_per_window(
                state_intervals(events, first, last, None, kind), first, window_seconds, n_windows
            )
        ]
        for place in places:
            place.charging.append(share)
    if events[-1].domain == "binary_sensor":
        down = state_intervals(events, first, last, UNOBSERVED_STATES, kind)
        for place in places:
            place.spans["unobserved"].extend(down)
    for event in events:
        if not first <= event.ts < last:
            continue
        k = int((event.ts - first) // window_seconds)
        counted = kind in ("motion", "door") and _counts_as_event(kind, event)
        activity = is_activity(kind, event)
        for place in places:
            if counted:
                (place.motion if kind == "motion" else place.door)[k] += 1.0
            if activity:
                place.activity[k] += 1.0
                place.last_activity[k] = max(place.last_activity[k], event.ts)


def _columns(
    target: _Target, gaps: Sequence[Span], first: float, window_seconds: int, n_windows: int
) -> tuple[list[float], ...]:
    """The target's feature values per window, in `ACTIVITY_FEATURES` order."""

    def share(spans: Iterable[Span]) -> list[float]:
        return [
            c / window_seconds for c in union_per_window(spans, first, window_seconds, n_windows)
        ]

    fractions = {kind: share(target.spans[kind]) for kind in _FRACTION_KINDS}
    charging = (
        [sum(values) / len(target.charging) for values in zip(*target.charging, strict=True)]
        if target.charging
        else [0.0] * n_windows
    )
    quiet = [
        first + (k + 1) * window_seconds - target.last_activity[k]
        if target.activity[k] > 0
        else float(window_seconds)
        for k in range(n_windows)
    ]
    unavailable = share([*target.spans["unobserved"], *gaps])
    return (
        target.motion,
        fractions["light"],
        fractions["media"],
        target.door,
        fractions["appliance"],
        charging,
        target.activity,
        quiet,
        fractions["away"],
        unavailable,
    )


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


def noon(night: date, tz: TzLike) -> float:
    """UTC epoch of the local noon that begins `night` (and ends the night before)."""
    return datetime.combine(night, time(12), resolve_tz(tz)).timestamp()


def clock_seconds_after_noon(night: date, ts: float, tz: TzLike) -> float:
    """Wall-clock seconds from the night's noon to `ts`: a DST night keeps its clock times."""
    local = datetime.fromtimestamp(ts, resolve_tz(tz)).replace(tzinfo=None)
    return (local - datetime.combine(night, time(12))).total_seconds()


def at_clock_seconds_after_noon(night: date, seconds: float, tz: TzLike) -> float:
    """UTC epoch of the wall-clock time `seconds` after the night's noon."""
    local = datetime.combine(night, time(12)) + timedelta(seconds=seconds)
    return local.replace(tzinfo=resolve_tz(tz)).timestamp()
