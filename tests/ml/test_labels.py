"""Sleep label normalisation: midnight, DST, invalid helpers, edits."""

from __future__ import annotations

from datetime import date

import pytest

from custom_components.roomdb.ml.labels import (
    REASON_END_INVALID,
    REASON_END_NOT_AFTER_START,
    REASON_END_UNSET,
    REASON_NIGHT_NOT_OVER,
    REASON_NONEXISTENT_TIME,
    REASON_REFERENCE_DATE_REQUIRED,
    REASON_START_INVALID,
    REASON_START_UNSET,
    REASON_TOO_LONG,
    REASON_TOO_SHORT,
    REASON_UNKNOWN_TIMEZONE,
    LabelRejection,
    SleepLabel,
    label_for_edit,
    normalise_sleep_label,
)

from .household import utc

BERLIN = "Europe/Berlin"


def label(*args: object, **kwargs: object) -> SleepLabel:
    result = normalise_sleep_label(*args, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, SleepLabel), result
    return result


def rejection(*args: object, **kwargs: object) -> str:
    result = normalise_sleep_label(*args, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, LabelRejection), result
    assert result.detail
    return result.reason


def test_cross_midnight_with_dates() -> None:
    night = label("2026-01-10 23:00:00", "2026-01-11 07:00:00", BERLIN)
    assert night == SleepLabel(
        night_date=date(2026, 1, 10),
        tz=BERLIN,
        start_utc=utc("2026-01-10T22:00:00"),
        end_utc=utc("2026-01-11T06:00:00"),
    )
    assert night.duration_seconds == 8 * 3600


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("23:00:00", "07:00:00"),  # both time-only: reference date is the night
        ("2026-01-10 23:00:00", "07:00:00"),  # end time-only: first 07:00 after the start
        ("23:00:00", "2026-01-11 07:00:00"),  # start time-only: last 23:00 before the end
        ("2026-01-10T23:00:00", "2026-01-11T07:00:00"),
        ("2026-01-10T22:00:00+00:00", "2026-01-11 07:00:00"),  # aware value
        (" 2026-01-10 23:00 ", "2026-01-11 07:00:00"),
    ],
)
def test_time_only_and_mixed_forms(start: str, end: str) -> None:
    night = label(start, end, BERLIN, date(2026, 1, 10))
    assert (night.night_date, night.start_utc, night.end_utc) == (
        date(2026, 1, 10),
        utc("2026-01-10T22:00:00"),
        utc("2026-01-11T06:00:00"),
    )


def test_time_only_start_after_midnight_belongs_to_the_evening_before() -> None:
    night = label("00:30:00", "07:00:00", BERLIN, date(2026, 1, 10))
    assert night.night_date == date(2026, 1, 10)
    assert night.start_utc == utc("2026-01-10T23:30:00")
    dated = label("2026-01-11 00:30:00", "2026-01-11 07:00:00", BERLIN)
    assert dated == night


def test_dst_spring_night_is_an_hour_shorter() -> None:
    night = label("2026-03-28 23:00:00", "2026-03-29 07:00:00", BERLIN)
    assert night.night_date == date(2026, 3, 28)
    assert night.start_utc == utc("2026-03-28T22:00:00")  # CET
    assert night.end_utc == utc("2026-03-29T05:00:00")  # CEST
    assert night.duration_seconds == 7 * 3600
    assert label("23:00:00", "07:00:00", BERLIN, date(2026, 3, 28)) == night


def test_dst_autumn_night_is_an_hour_longer() -> None:
    night = label("2026-10-24 23:00:00", "2026-10-25 07:00:00", BERLIN)
    assert night.night_date == date(2026, 10, 24)
    assert night.start_utc == utc("2026-10-24T21:00:00")  # CEST
    assert night.end_utc == utc("2026-10-25T06:00:00")  # CET
    assert night.duration_seconds == 9 * 3600
    assert label("23:00:00", "07:00:00", BERLIN, date(2026, 10, 24)) == night


def test_dst_gap_and_repeated_hour() -> None:
    assert rejection("2026-03-29 02:30:00", "2026-03-29 09:00:00", BERLIN) == (
        REASON_NONEXISTENT_TIME
    )
    # 02:30 happens twice on 2026-10-25: the first (CEST, 00:30Z) is taken.
    night = label("2026-10-24 22:00:00", "2026-10-25 02:30:00", BERLIN)
    assert night.end_utc == utc("2026-10-25T00:30:00")


def test_other_zones() -> None:
    night = label("2026-03-07 23:00:00", "2026-03-08 07:00:00", "America/New_York")
    assert night.duration_seconds == 7 * 3600  # US spring-forward night
    assert night.end_utc == utc("2026-03-08T11:00:00")
    assert label("23:00:00", "07:00:00", "UTC", date(2026, 1, 1)).duration_seconds == 8 * 3600


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        ("unknown", "2026-01-11 07:00:00", REASON_START_UNSET),
        ("unavailable", "2026-01-11 07:00:00", REASON_START_UNSET),
        ("", "2026-01-11 07:00:00", REASON_START_UNSET),
        (None, "2026-01-11 07:00:00", REASON_START_UNSET),
        ("2026-01-10 23:00:00", "unknown", REASON_END_UNSET),
        ("2026-01-10 23:00:00", None, REASON_END_UNSET),
        ("banana", "2026-01-11 07:00:00", REASON_START_INVALID),
        ("2026-01-10", "2026-01-11 07:00:00", REASON_START_INVALID),  # date-only helper
        ("2026-01-10 23:00:00", "25:00:00", REASON_END_INVALID),
        ("2026-01-11 07:00:00", "2026-01-10 23:00:00", REASON_END_NOT_AFTER_START),
        ("2026-01-10 23:00:00", "2026-01-10 23:00:00", REASON_END_NOT_AFTER_START),
        # Time-only helpers nobody has set yet both show midnight: no label, and no warning.
        ("00:00:00", "00:00:00", REASON_END_NOT_AFTER_START),
        ("2026-01-10 23:00:00", "2026-01-10 23:20:00", REASON_TOO_SHORT),
        ("2026-01-10 08:00:00", "2026-01-11 07:00:00", REASON_TOO_LONG),
    ],
)
def test_rejections(start: str | None, end: str | None, reason: str) -> None:
    assert rejection(start, end, BERLIN, date(2026, 1, 10)) == reason


def test_rejects_unknown_zone_and_missing_reference() -> None:
    assert rejection("23:00:00", "07:00:00", "Mars/Olympus", date(2026, 1, 1)) == (
        REASON_UNKNOWN_TIMEZONE
    )
    assert rejection("23:00:00", "07:00:00", BERLIN) == REASON_REFERENCE_DATE_REQUIRED


def test_duration_limits_are_configurable() -> None:
    from datetime import timedelta

    short = normalise_sleep_label(
        "2026-01-10 23:00:00", "2026-01-10 23:20:00", BERLIN, min_duration=timedelta(minutes=10)
    )
    assert isinstance(short, SleepLabel)
    long = normalise_sleep_label(
        "2026-01-10 20:00:00", "2026-01-11 09:00:00", BERLIN, max_duration=timedelta(hours=12)
    )
    assert isinstance(long, LabelRejection)
    assert long.reason == REASON_TOO_LONG


def test_dict_round_trip() -> None:
    night = label("2026-03-28 23:00:00", "2026-03-29 07:00:00", BERLIN)
    data = night.to_dict()
    assert data == {
        "night_date": "2026-03-28",
        "tz": BERLIN,
        "start_utc": night.start_utc,
        "end_utc": night.end_utc,
    }
    assert SleepLabel.from_dict(data) == night


@pytest.mark.parametrize(
    ("edited", "night"),
    [
        ("2026-01-11T06:30:00", date(2026, 1, 10)),  # entered after getting up (07:30 Berlin)
        ("2026-01-11T19:00:00", date(2026, 1, 10)),  # corrected the next evening
        ("2026-01-11T23:30:00", date(2026, 1, 10)),  # after midnight: still that night
        ("2026-01-12T06:30:00", date(2026, 1, 11)),  # the next morning: the next night
    ],
)
def test_an_edit_of_time_only_helpers_names_the_latest_night_over(edited: str, night: date) -> None:
    result = label_for_edit("23:10:00", "06:50:00", BERLIN, utc(edited))
    assert isinstance(result, SleepLabel)
    assert result.night_date == night
    assert result.end_utc <= utc(edited)


def test_an_edit_of_a_night_not_over_and_dated_helpers() -> None:
    # A day sleeper (after a night shift) sets the helpers at 15:30 after 08:00-15:00: the
    # sleep began before noon, so it is the night of the evening before.
    result = label_for_edit("08:00:00", "15:00:00", BERLIN, utc("2026-01-11T14:30:00"))
    assert isinstance(result, SleepLabel)
    assert result.night_date == date(2026, 1, 10)
    # Neither candidate night is over yet at the edit (an implausible 15.5 h night).
    rejected = label_for_edit("11:30:00", "03:00:00", BERLIN, utc("2026-01-11T12:00:00"))
    assert isinstance(rejected, LabelRejection)
    assert rejected.reason == REASON_NIGHT_NOT_OVER
    unset = label_for_edit("unknown", "07:00:00", BERLIN, utc("2026-01-11T08:00:00"))
    assert isinstance(unset, LabelRejection)
    assert unset.reason == REASON_START_UNSET
    # With dates the values say which night it is, whenever they are set.
    dated = label_for_edit(
        "2026-01-05 23:00:00", "2026-01-06 07:00:00", BERLIN, utc("2026-01-11T08:00:00")
    )
    assert isinstance(dated, SleepLabel)
    assert dated.night_date == date(2026, 1, 5)
    zone = label_for_edit("23:00:00", "07:00:00", "Mars/Olympus", utc("2026-01-11T08:00:00"))
    assert isinstance(zone, LabelRejection)
    assert zone.reason == REASON_UNKNOWN_TIMEZONE
