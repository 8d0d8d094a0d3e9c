"""Suggested nights: each night's main rest period read off raw events, without labels (pure).

The home is cut into five-minute bins. A bin is *active* when people visibly do something in it:
a light, a media player or an appliance is on, a door opens or closes, or motion sensors fire in
a burst (`BURST_MOTIONS` motions within `BURST_SECONDS` — a single motion is someone turning over
in bed or a pet, not someone up). A bin is *away* when every presence entity is away, or when it
lies in a stretch that a door opened and closed with no light, media player or appliance on in
between (someone left, then came back; motion in between is a pet). Every other
bin is at rest. The rest bins are handed to `episodes.find_episodes` (the same detector that
reads the model's P(asleep)), with awake gaps of up to `GAP_BINS` bins closed (a trip to the
bathroom does not split a night): each night's suggestion is its longest rest episode, from the
first rest bin after the last activity (the bedroom light switched off) to the first activity
of the morning.

The confidence (0..1) is the mean of: how plausible the length is (full marks from 5 to 10
hours), how much of it lies in the local night (21:00 to 09:00), and — when the home has charging
sensors — how much of it a phone was on its charger. A suggestion is never a label by itself:
the user confirms or corrects it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
import math
from typing import Any, Final

import numpy as np

from .episodes import find_episodes
from .features import RawEvent, TzLike, event_kind, is_activity, resolve_tz, state_intervals

BIN_SECONDS: Final = 300
GAP_BINS: Final = 4
"""Awake gaps of up to 20 minutes inside a night are closed."""
MIN_BINS: Final = 36
"""A rest period shorter than three hours is no night."""
BURST_SECONDS: Final = 600.0
BURST_MOTIONS: Final = 3
ON_KINDS: Final = frozenset({"light", "media", "appliance"})
NIGHT_HOURS: Final = (21, 9)
FULL_LENGTH: Final = (5.0, 10.0)
ZERO_LENGTH: Final = (2.0, 14.0)


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One night's suggested rest period (UTC epoch seconds) and how sure the detector is."""

    night_date: date
    bedtime: float
    wake: float
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (night as ISO text)."""
        return {
            "night_date": self.night_date.isoformat(),
            "bedtime": self.bedtime,
            "wake": self.wake,
            "confidence": self.confidence,
        }


def _by_entity(events: Iterable[RawEvent]) -> dict[str, list[RawEvent]]:
    grouped: dict[str, list[RawEvent]] = defaultdict(list)
    for event in sorted(events, key=lambda e: (e.ts, e.entity_id)):
        grouped[event.entity_id].append(event)
    return grouped


def _mark(flags: np.ndarray[Any, Any], spans: Iterable[tuple[float, float]], first: float) -> None:
    """Set the bins that `spans` touch."""
    for start, end in spans:
        a = max(0, math.floor((start - first) / BIN_SECONDS))
        b = min(flags.size, math.ceil((end - first) / BIN_SECONDS))
        if b > a:
            flags[a:b] = True


def _point(flags: np.ndarray[Any, Any], ts: float, first: float) -> None:
    k = math.floor((ts - first) / BIN_SECONDS)
    if 0 <= k < flags.size:
        flags[k] = True


def _all_away(spans_per_person: Sequence[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    """Intervals in which every presence entity is away."""
    if not spans_per_person:
        return []
    result = spans_per_person[0]
    for other in spans_per_person[1:]:
        result = [
            (max(a, c), min(b, d)) for a, b in result for c, d in other if max(a, c) < min(b, d)
        ]
    return result


def _bursts(times: list[float]) -> list[float]:
    """Motion times with at least `BURST_MOTIONS` motions (itself included) around them."""
    times.sort()
    return [
        t
        for t in times
        if bisect_right(times, t + BURST_SECONDS) - bisect_left(times, t - BURST_SECONDS)
        >= BURST_MOTIONS
    ]


@dataclass(frozen=True, slots=True)
class RestBins:
    """The bins of a span: start of each, and rest (1.0) or not (0.0); the charging share."""

    starts: np.ndarray[Any, np.dtype[np.float64]]
    rest: np.ndarray[Any, np.dtype[np.float64]]
    charging: np.ndarray[Any, np.dtype[np.float64]] | None


def rest_bins(events: Sequence[RawEvent], first: float, last: float) -> RestBins:
    """Rest or not for each bin of [first, last) (see the module docstring)."""
    first = math.floor(first / BIN_SECONDS) * BIN_SECONDS
    n = max(0, math.ceil((last - first) / BIN_SECONDS))
    active = np.zeros(n, dtype=bool)
    door = np.zeros(n, dtype=bool)
    away = np.zeros(n, dtype=bool)
    charging = np.zeros(n, dtype=float)
    chargers = 0
    motions: list[float] = []
    presence: list[list[tuple[float, float]]] = []
    for entity_events in _by_entity(events).values():
        kind = event_kind(entity_events[0])
        if kind is None:
            continue
        if kind in ON_KINDS:
            _mark(active, state_intervals(entity_events, first, last, None, kind), first)
        elif kind == "motion":
            motions += [e.ts for e in entity_events if is_activity(kind, e)]
        elif kind == "door":
            for event in entity_events:
                if is_activity(kind, event):
                    _point(active, event.ts, first)
                    _point(door, event.ts, first)
        elif kind == "presence":
            presence.append(state_intervals(entity_events, first, last, None, kind))
        elif kind == "charging":
            chargers += 1
            flags = np.zeros(n, dtype=bool)
            _mark(flags, state_intervals(entity_events, first, last, None, kind), first)
            charging += flags
    # Motion is left out here: a pet left at home fires bursts while its people are out.
    _door_bounded(active.copy(), door, away)
    for ts in _bursts(motions):
        _point(active, ts, first)
    _mark(away, _all_away(presence), first)
    rest = (~active & ~away).astype(float)
    starts = first + BIN_SECONDS * np.arange(n, dtype=float)
    return RestBins(starts, rest, charging / chargers if chargers else None)


def _door_bounded(
    active: np.ndarray[Any, Any], door: np.ndarray[Any, Any], away: np.ndarray[Any, Any]
) -> None:
    """Mark as away each stretch without light, media or appliance that doors open and close."""
    k = 0
    n = active.size
    while k < n:
        if active[k]:
            k += 1
            continue
        end = k
        while end < n and not active[end]:
            end += 1
        if k > 0 and end < n and door[k - 1] and door[end]:
            away[k:end] = True
        k = end


def _length_score(hours: float) -> float:
    low, high = FULL_LENGTH
    zero_low, zero_high = ZERO_LENGTH
    if hours < low:
        return max(0.0, (hours - zero_low) / (low - zero_low))
    if hours > high:
        return max(0.0, (zero_high - hours) / (zero_high - high))
    return 1.0


def _night_share(bedtime: float, wake: float, tz: TzLike) -> float:
    """Share of [bedtime, wake) inside the local night hours (minute steps)."""
    zone = resolve_tz(tz)
    start_hour, end_hour = NIGHT_HOURS
    minutes = max(1, round((wake - bedtime) / 60))
    inside = 0
    moment = datetime.fromtimestamp(bedtime, zone)
    for _ in range(minutes):
        if moment.hour >= start_hour or moment.hour < end_hour:
            inside += 1
        moment = (moment + timedelta(minutes=1)).astimezone(zone)
    return inside / minutes


def suggest_nights(
    events: Sequence[RawEvent], first: float, last: float, tz: TzLike
) -> list[Suggestion]:
    """The ended nights' suggested rest periods in [first, last), oldest first."""
    bins = rest_bins(events, first, last)
    if bins.starts.size == 0:
        return []
    episodes = find_episodes(
        bins.starts,
        bins.rest,
        0.5,
        BIN_SECONDS,
        tz,
        gap_windows=GAP_BINS,
        min_windows=MIN_BINS,
    )
    suggestions: list[Suggestion] = []
    for episode in episodes:
        if episode.wake is None:
            continue
        parts = [
            _length_score((episode.wake - episode.bedtime) / 3600.0),
            _night_share(episode.bedtime, episode.wake, tz),
        ]
        if bins.charging is not None:
            inside = (bins.starts >= episode.bedtime) & (bins.starts < episode.wake)
            parts.append(float(np.mean(bins.charging[inside] > 0)))
        suggestions.append(
            Suggestion(
                episode.night_date,
                episode.bedtime,
                episode.wake,
                round(sum(parts) / len(parts), 3),
            )
        )
    return suggestions
