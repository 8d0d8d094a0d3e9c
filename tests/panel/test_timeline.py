"""The panel's timeline: windows grouped by their local night."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from custom_components.roomdb.panel.timeline import WindowProbability, group_by_night

QUARTER = 900.0


def windows(*probabilities: float, start: float = 0.0) -> list[WindowProbability]:
    return [
        WindowProbability(start + i * QUARTER, start + (i + 1) * QUARTER, p)
        for i, p in enumerate(probabilities)
    ]


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
