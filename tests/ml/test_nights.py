"""The suggested-nights detector, pure: on ten simulated days and on hand-made edge cases."""

from __future__ import annotations

from datetime import date
import statistics

from custom_components.roomdb.ml.features import RawEvent
from custom_components.roomdb.ml.nights import (
    Suggestion,
    rest_bins,
    suggest_nights,
)

from .simulated_home import simulated_home

T0 = 1_780_000_200.0  # a bin boundary
MIN = 60.0
HOUR = 3600.0


def ev(
    entity_id: str, state: str, ts: float, old: str | None = "off", dc: str | None = None
) -> RawEvent:
    return RawEvent(entity_id, entity_id.split(".", maxsplit=1)[0], dc, None, state, old, ts)


def test_ten_simulated_days_median_error_within_20_minutes() -> None:
    home = simulated_home()
    found = {
        s.night_date: s for s in suggest_nights(home.raw_events(), home.start, home.end, home.tz)
    }
    bed_errors, wake_errors = [], []
    for night in home.nights:
        suggestion = found[night.night_date]
        bed_errors.append(abs(suggestion.bedtime - night.bedtime) / MIN)
        wake_errors.append(abs(suggestion.wake - night.wake) / MIN)
    bed, wake = statistics.median(bed_errors), statistics.median(wake_errors)
    print(  # noqa: T201 - the figures are part of what the test shows
        f"{len(home.nights)} nights: bedtime median error {bed:.1f} min, "
        f"wake time {wake:.1f} min; confidences "
        f"{[found[n.night_date].confidence for n in home.nights]}"
    )
    assert len(home.nights) == 10
    assert bed <= 20.0
    assert wake <= 20.0
    assert all(0.0 <= s.confidence <= 1.0 for s in found.values())


def test_single_motions_are_rest_bursts_and_lights_are_not() -> None:
    events = [
        ev("binary_sensor.hall_motion", "on", T0 + 10 * MIN, dc="motion"),  # a pet: alone
        ev("binary_sensor.hall_motion", "off", T0 + 11 * MIN, old="on", dc="motion"),
        *[
            ev("binary_sensor.kitchen_motion", state, T0 + 60 * MIN + k * MIN, old=old, dc="motion")
            for k, (state, old) in enumerate([("on", "off"), ("off", "on")] * 3)
        ],
        ev("light.kitchen", "on", T0 + 120 * MIN),
        ev("light.kitchen", "off", T0 + 130 * MIN, old="on"),
    ]
    bins = rest_bins(events, T0, T0 + 3 * HOUR)
    rest = dict(zip(bins.starts.tolist(), bins.rest.tolist(), strict=True))
    assert rest[T0 + 10 * MIN] == 1.0
    assert rest[T0 + 60 * MIN] == 0.0
    assert rest[T0 + 120 * MIN] == 0.0
    assert rest[T0 + 125 * MIN] == 0.0
    assert rest[T0 + 150 * MIN] == 1.0
    assert bins.charging is None


def test_quiet_between_two_doors_and_everyone_away_are_not_rest() -> None:
    events = [
        ev("binary_sensor.front_door", "on", T0 + 5 * MIN, dc="door"),
        ev("binary_sensor.front_door", "off", T0 + 6 * MIN, old="on", dc="door"),
        ev("binary_sensor.front_door", "on", T0 + 5 * HOUR, dc="door"),
        ev("binary_sensor.front_door", "off", T0 + 5 * HOUR + MIN, old="on", dc="door"),
        ev("person.kim", "home", T0, old=None),
        ev("person.kim", "not_home", T0 + 6 * HOUR, old="home"),
        ev("person.kim", "home", T0 + 8 * HOUR, old="not_home"),
    ]
    bins = rest_bins(events, T0, T0 + 10 * HOUR)
    rest = dict(zip(bins.starts.tolist(), bins.rest.tolist(), strict=True))
    assert rest[T0 + 2 * HOUR] == 0.0  # left and came back
    assert rest[T0 + 7 * HOUR] == 0.0  # away
    assert rest[T0 + 9 * HOUR] == 1.0  # home and quiet


def test_a_night_needs_to_be_over_and_long_enough() -> None:
    tz = "Europe/Berlin"
    evening = 1_780_000_200.0  # 2026-05-28 22:30 in Berlin
    lights = [
        ev("light.bedroom", "on", evening - HOUR, old=None),
        ev("light.bedroom", "off", evening, old="on"),
        ev("light.bedroom", "on", evening + 7 * HOUR, old="off"),
        ev("light.bedroom", "off", evening + 8 * HOUR, old="on"),
        ev("binary_sensor.phone_charging", "on", evening, old="off", dc="battery_charging"),
        ev(
            "binary_sensor.phone_charging",
            "off",
            evening + 7 * HOUR,
            old="on",
            dc="battery_charging",
        ),
    ]
    nights = suggest_nights(lights, evening - 2 * HOUR, evening + 9 * HOUR, tz)
    assert nights == [Suggestion(date(2026, 5, 28), evening, evening + 7 * HOUR, 1.0)]
    # Still asleep when the events end: no suggestion yet.
    assert suggest_nights(lights[:2], evening - 2 * HOUR, evening + 6 * HOUR, tz) == []
    # Two hours of quiet are no night.
    short = [*lights[:2], ev("light.bedroom", "on", evening + 2 * HOUR, old="off")]
    assert suggest_nights(short, evening - 2 * HOUR, evening + 4 * HOUR, tz) == []
    assert suggest_nights([], evening, evening, tz) == []
