"""Bedtime and wake time: sleep episodes read off P(asleep), and tonight's expected times (pure).

An episode is a run of windows at or above the asleep threshold, awake gaps of up to
`GAP_WINDOWS` windows closed, at least `MIN_WINDOWS` long. Its bedtime is the start of its first
window and its wake time the end of its last one (the windows are scored by majority, so both
are within half a window of the truth when the windows are right). An episode belongs to the
night its bedtime falls in (local noon to noon); a night's episode is its longest. It has ended
once `GAP_WINDOWS` awake windows follow it; until then its wake time is unknown.

Tonight's expected bedtime and wake time are the median local clock times (relative to the
night's noon, so DST nights keep their wall-clock times) of the recent nights: those since the
latest routine change, at most `HISTORY_NIGHTS`; the same weekday's nights when there are
`SAME_WEEKDAY_NIGHTS` of them (routines differ between weekdays and weekends).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
import statistics
from typing import Final

import numpy as np
import numpy.typing as npt

from .features import (
    TzLike,
    at_clock_seconds_after_noon,
    clock_seconds_after_noon,
    night_of,
)

GAP_WINDOWS: Final = 2
MIN_WINDOWS: Final = 8
HISTORY_NIGHTS: Final = 28
SAME_WEEKDAY_NIGHTS: Final = 2
MIN_HISTORY: Final = 3


@dataclass(frozen=True, slots=True)
class Episode:
    """One night's sleep: bedtime and wake time (UTC epoch; wake None while still asleep)."""

    night_date: date
    bedtime: float
    wake: float | None


def find_episodes(
    starts: npt.NDArray[np.float64],
    probabilities: npt.NDArray[np.float64],
    threshold: float,
    window_seconds: float,
    tz: TzLike,
    *,
    gap_windows: int = GAP_WINDOWS,
    min_windows: int = MIN_WINDOWS,
) -> list[Episode]:
    """The longest episode of each night in a time-ordered series of windows.

    `gap_windows` and `min_windows` replace `GAP_WINDOWS` and `MIN_WINDOWS` for series of
    other window lengths (the suggested nights read five-minute bins).
    """
    runs: list[list[float]] = []
    for start, probability in zip(starts.tolist(), probabilities.tolist(), strict=True):
        if probability < threshold:
            continue
        if runs and start - runs[-1][1] <= gap_windows * window_seconds:
            runs[-1][1] = start + window_seconds
        else:
            runs.append([start, start + window_seconds])
    newest_end = float(starts[-1]) + window_seconds if starts.size else 0.0
    best: dict[date, Episode] = {}
    for start, end in runs:
        if end - start < min_windows * window_seconds:
            continue
        ended = newest_end - end >= gap_windows * window_seconds
        night = night_of(start, tz)
        episode = Episode(night, start, end if ended else None)
        current = best.get(night)
        if current is None or _length(episode, newest_end) > _length(current, newest_end):
            best[night] = episode
    return [best[night] for night in sorted(best)]


def _length(episode: Episode, now: float) -> float:
    return (episode.wake if episode.wake is not None else now) - episode.bedtime


def expected_times(
    history: Sequence[Episode], night: date, tz: TzLike, since: date | None = None
) -> tuple[float, float] | None:
    """Tonight's expected (bedtime, wake time) from the nights before it, or None (too few)."""
    oldest = night - timedelta(days=HISTORY_NIGHTS)
    if since is not None and since > oldest:
        oldest = since
    recent = [e for e in history if oldest <= e.night_date < night and e.wake is not None]
    same_day = [e for e in recent if e.night_date.weekday() == night.weekday()]
    chosen = same_day if len(same_day) >= SAME_WEEKDAY_NIGHTS else recent
    if len(chosen) < MIN_HISTORY and chosen is recent:
        return None
    bedtime = statistics.median(
        clock_seconds_after_noon(e.night_date, e.bedtime, tz) for e in chosen
    )
    wake = statistics.median(
        clock_seconds_after_noon(e.night_date, e.wake, tz) for e in chosen if e.wake is not None
    )
    return at_clock_seconds_after_noon(night, bedtime, tz), at_clock_seconds_after_noon(
        night, wake, tz
    )
