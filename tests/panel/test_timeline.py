"""The panel's sleep estimate: the longest run of windows at or above the threshold."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from custom_components.roomdb.panel.timeline import (
    SleepEstimate,
    WindowProbability,
    estimate_sleep,
    group_by_night,
)

QUARTER = 900.0


def windows(*probabilities: float, start: float = 0.0) -> list[WindowProbability]:
    return [
        WindowProbability(start + i * QUARTER, start + (i + 1) * QUARTER, p)
        for i, p in enumerate(probabilities)
    ]


def test_the_longest_run_wins_and_short_wakes_split_it() -> None:
    night = windows(0.1, 0.9, 0.8, 0.2, 0.7, 0.9, 0.95, 0.6, 0.1)
    assert estimate_sleep(night, 0.5) == SleepEstimate(4 * QUARTER, 8 * QUARTER)


def test_a_gap_in_the_windows_ends_a_run() -> None:
    first = windows(0.9, 0.9)
    after_gap = windows(0.9, 0.9, 0.9, start=10 * QUARTER)
    assert estimate_sleep([*after_gap, *first], 0.5) == SleepEstimate(10 * QUARTER, 13 * QUARTER)


def test_no_window_at_the_threshold_is_no_estimate() -> None:
    assert estimate_sleep(windows(0.1, 0.49), 0.5) is None
    assert estimate_sleep([], 0.5) is None
    assert estimate_sleep(windows(0.5), 0.5) == SleepEstimate(0.0, QUARTER)


def test_windows_are_grouped_by_the_local_night_noon_to_noon() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    noon_utc = 1775815200.0  # 2026-04-10 10:00 UTC = 12:00 in Berlin (summer time)
    grouped = group_by_night(
        [
            WindowProbability(noon_utc - QUARTER, noon_utc, 0.9),
            WindowProbability(noon_utc, noon_utc + QUARTER, 0.1),
        ],
        berlin,
    )
    assert list(grouped) == [date(2026, 4, 9), date(2026, 4, 10)]
