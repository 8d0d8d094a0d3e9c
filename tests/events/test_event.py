"""One numbered event: field checks, its Store form and the timestamp helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from custom_components.roomdb.events.event import Event, validate_timestamp
from custom_components.roomdb.timestamps import wire_timestamp

TS = "2026-01-02T03:04:05Z"


def ev(seq: int, event_type: str = "room_config_changed", **data: Any) -> Event:
    return Event(seq, event_type, TS, dict(data))


@pytest.mark.parametrize("stamp", ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.123456+00:00"])
def test_event_accepts_utc_timestamps(stamp: str) -> None:
    assert Event(1, "x", stamp, {}).timestamp == stamp


@pytest.mark.parametrize(
    "stamp",
    ["2026-01-02T03:04:05", "2026-01-02T03:04:05+01:00", "2026-01-02", "yesterday", "", 17],
)
def test_event_rejects_non_utc_timestamps(stamp: Any) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        Event(1, "x", stamp, {})


@pytest.mark.parametrize(
    ("seq", "event_type", "data", "error"),
    [
        (0, "x", {}, ValueError),
        (-1, "x", {}, ValueError),
        (True, "x", {}, ValueError),
        (1.0, "x", {}, ValueError),
        (2**63, "x", {}, ValueError),
        (1, "", {}, ValueError),
        (1, None, {}, ValueError),
        (1, "x", [], TypeError),
        (1, "x", {"big": 2**64}, ValueError),
        (1, "x", {"set": {1, 2}}, ValueError),
    ],
)
def test_event_rejects_bad_fields(seq: Any, event_type: Any, data: Any, error: type) -> None:
    with pytest.raises(error):
        Event(seq, event_type, TS, data)


def test_event_roundtrip_and_hashable() -> None:
    event = ev(7, a=1)
    assert Event.from_dict(orjson.loads(orjson.dumps(event.to_dict()))) == event
    assert hash(event) == hash(ev(7, a=2))  # data is not hashed, equality still compares it
    assert event != ev(7, a=2)
    with pytest.raises(ValueError, match="lacks"):
        Event.from_dict({"sequence_number": 1})


def test_the_store_form_is_encoded_once_and_equals_to_dict() -> None:
    event = ev(3, room="kitchen", n=[1, 2])
    assert orjson.loads(orjson.dumps({"e": event.stored})) == {"e": event.to_dict()}


def test_wire_timestamp_is_valid_on_the_wire() -> None:
    moment = datetime(2026, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    assert wire_timestamp(moment) == TS
    assert validate_timestamp(wire_timestamp(datetime.now(UTC)))
    with pytest.raises(ValueError, match="aware"):
        wire_timestamp(datetime(2026, 1, 1))  # noqa: DTZ001
