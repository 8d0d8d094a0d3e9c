"""The one place RoomDB turns a moment into text (pure Python, no HA import).

Every time RoomDB stores, answers or sends is ISO 8601. Three shapes exist, one function each:

* database columns (``*_at``) and registry rows: UTC with microseconds and ``+00:00``
  (:func:`utc_now_iso`, :func:`utc_iso`);
* attributes, events and responses made from a POSIX timestamp: UTC (:func:`iso_from_timestamp`),
  or a datetime kept in its own zone (:func:`iso`);
* the event stream's wire format: UTC with a ``Z`` suffix (:func:`wire_timestamp`);
* file names: UTC to the second, ``20261207T013000Z`` (:func:`file_stamp`).

A POSIX timestamp becomes an aware UTC datetime through :func:`utc_datetime`.

The compact raw events store POSIX time as integer microseconds (:func:`epoch_us`,
:func:`epoch_from_us`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final, overload

US_PER_SECOND: Final = 1_000_000


def epoch_us(timestamp: float) -> int:
    """A POSIX timestamp (seconds) as integer microseconds, as `ml_raw_events.ts_us` stores it."""
    return round(timestamp * US_PER_SECOND)


def epoch_from_us(microseconds: int) -> float:
    """Integer microseconds back to a POSIX timestamp in seconds."""
    return microseconds / US_PER_SECOND


@overload
def utc_datetime(timestamp: float) -> datetime: ...
@overload
def utc_datetime(timestamp: None) -> None: ...
def utc_datetime(timestamp: float | None) -> datetime | None:
    """A POSIX timestamp as an aware datetime in UTC (``None`` stays ``None``)."""
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


def utc_now_iso() -> str:
    """The current time as the text of the database's ``*_at`` columns."""
    return utc_iso(datetime.now(UTC))


def utc_iso(moment: datetime) -> str:
    """An aware datetime in UTC with microseconds, as the database stores it."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def iso_from_timestamp(timestamp: float | None) -> str | None:
    """A POSIX timestamp as ISO 8601 in UTC (``None`` stays ``None``)."""
    return None if timestamp is None else utc_datetime(timestamp).isoformat()


def iso(moment: datetime | None, *, timespec: str = "auto") -> str | None:
    """A datetime as ISO 8601 in its own zone (``None`` stays ``None``)."""
    return None if moment is None else moment.isoformat(timespec=timespec)


def stored_iso(value: str | datetime | None) -> str | None:
    """A stored time as text: a datetime in its own zone as ISO 8601, text as it was stored."""
    return value.isoformat() if isinstance(value, datetime) else value


def file_stamp() -> str:
    """The current time for a file's name: UTC to the second, ``20261207T013000Z``."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def wire_timestamp(moment: datetime) -> str:
    """An aware datetime as the event stream sends it: UTC with a ``Z`` suffix."""
    if moment.utcoffset() is None:
        raise ValueError("timestamp must be timezone-aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
