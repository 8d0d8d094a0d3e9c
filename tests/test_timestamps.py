"""The shapes of time RoomDB writes, each from the one module that makes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from custom_components.roomdb.timestamps import (
    epoch_from_us,
    epoch_us,
    file_stamp,
    iso,
    iso_from_timestamp,
    stored_iso,
    utc_datetime,
    utc_iso,
    utc_now_iso,
    wire_timestamp,
)

PLUS_ONE = timezone(timedelta(hours=1))
MOMENT = datetime(2026, 1, 2, 4, 4, 5, 250000, tzinfo=PLUS_ONE)


def test_database_columns_are_utc_with_microseconds() -> None:
    assert utc_iso(MOMENT) == "2026-01-02T03:04:05.250000+00:00"
    now = datetime.fromisoformat(utc_now_iso())
    assert now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_posix_timestamps_become_utc_text() -> None:
    assert iso_from_timestamp(MOMENT.timestamp()) == "2026-01-02T03:04:05.250000+00:00"
    assert iso_from_timestamp(None) is None


def test_datetimes_keep_their_zone() -> None:
    assert iso(MOMENT, timespec="seconds") == "2026-01-02T04:04:05+01:00"
    assert iso(None) is None


def test_the_wire_says_z_and_refuses_naive_times() -> None:
    assert wire_timestamp(MOMENT) == "2026-01-02T03:04:05.250000Z"
    with pytest.raises(ValueError, match="aware"):
        wire_timestamp(datetime(2026, 1, 1))  # noqa: DTZ001


def test_epoch_microseconds_round_trip() -> None:
    # What the compact raw events store: the µs-rounded time reads back as the same float.
    ts = 1_772_400_000.123457
    assert epoch_us(ts) == 1_772_400_000_123_457
    assert epoch_from_us(epoch_us(ts)) == round(ts, 6)
    assert epoch_us(1_772_400_000.0000004) == 1_772_400_000_000_000


def test_posix_timestamps_become_aware_utc_datetimes() -> None:
    moment = utc_datetime(MOMENT.timestamp())
    assert moment == MOMENT
    assert moment.tzinfo is UTC
    assert utc_datetime(None) is None


def test_stored_times_are_text_whatever_sqlite_gave() -> None:
    assert stored_iso(MOMENT) == "2026-01-02T04:04:05.250000+01:00"
    assert stored_iso("2026-01-02T03:04:05+00:00") == "2026-01-02T03:04:05+00:00"
    assert stored_iso(None) is None


def test_file_names_carry_utc_to_the_second() -> None:
    stamp = file_stamp()
    parsed = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(parsed - datetime.now(UTC)) < timedelta(seconds=5)
