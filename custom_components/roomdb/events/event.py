"""One numbered event and the value checks shared by the stream's pure modules (no HA import)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeGuard

import orjson

MAX_SEQUENCE: Final = 2**63 - 1
"""The largest sequence number: fits a signed 64-bit integer (SQLite INTEGER, most JSON peers)."""
HEARTBEAT_EVENT: Final = "heartbeat"
"""The ``event_type`` of the empty events that let the peer confirm what precedes them."""


def is_int(value: object) -> TypeGuard[int]:
    """Return whether ``value`` is an ``int`` and not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_sequence(value: object, what: str = "sequence_number") -> int:
    """Return ``value`` if it is a valid sequence number, else raise ``ValueError``."""
    if not is_int(value):
        raise ValueError(f"{what} must be an integer, got {type(value).__name__}")
    if not 1 <= value <= MAX_SEQUENCE:
        raise ValueError(f"{what} must be between 1 and {MAX_SEQUENCE}, got {value}")
    return value


def check_counter(raw: Mapping[str, Any], key: str) -> int:
    """Return ``raw[key]`` (default 0) if it is a non-negative integer, else raise."""
    value = raw.get(key, 0)
    if not is_int(value) or value < 0:
        raise ValueError(f"{key} must be a non-negative integer, got {value!r}")
    return value


def format_timestamp(moment: datetime) -> str:
    """Render an aware datetime as ISO 8601 in UTC with a ``Z`` suffix."""
    if moment.utcoffset() is None:
        raise ValueError("timestamp must be timezone-aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def utc_now_timestamp() -> str:
    """Return the current time as ISO 8601 UTC with a ``Z`` suffix."""
    return format_timestamp(datetime.now(UTC))


def validate_timestamp(value: object) -> str:
    """Return ``value`` if it is an ISO 8601 date-time in UTC (``Z`` or ``+00:00``), else raise."""
    if not isinstance(value, str) or "T" not in value:
        raise ValueError(f"timestamp must be an ISO 8601 date-time string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as err:
        raise ValueError(f"timestamp is not ISO 8601: {value!r}") from err
    if parsed.utcoffset() != timedelta(0):
        raise ValueError(f"timestamp must be in UTC (Z or +00:00): {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Event:
    """One emitted event. ``data`` must be JSON-serialisable; it is not deep-copied.

    The event's Store form is encoded once, when the event is made: saving a full buffer then
    costs a list of ready fragments instead of re-encoding thousands of events in the event loop.
    """

    sequence_number: int
    event_type: str
    timestamp: str
    data: dict[str, Any] = field(default_factory=dict, hash=False)
    stored: orjson.Fragment = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        """Validate the fields and encode the Store form; raise ``ValueError`` on bad input."""
        check_sequence(self.sequence_number)
        if not isinstance(self.event_type, str) or not self.event_type:
            raise ValueError("event_type must be a non-empty string")
        validate_timestamp(self.timestamp)
        if not isinstance(self.data, dict):
            raise TypeError(f"data must be a dict, got {type(self.data).__name__}")
        try:
            encoded = orjson.dumps(self.to_dict())
        except TypeError as err:
            raise ValueError(f"event data is not JSON: {err}") from err
        object.__setattr__(self, "stored", orjson.Fragment(encoded))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict (the Store form)."""
        return {
            "sequence_number": self.sequence_number,
            "event_type": self.event_type,
            "timestamp": self.timestamp,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, raw: object) -> Event:
        """Build an event from its Store form; raise ``ValueError`` when it is malformed."""
        if not isinstance(raw, Mapping):
            raise TypeError(f"event must be an object, got {type(raw).__name__}")
        missing = {"sequence_number", "event_type", "timestamp", "data"} - raw.keys()
        if missing:
            raise ValueError(f"event lacks {sorted(missing)}")
        return cls(raw["sequence_number"], raw["event_type"], raw["timestamp"], raw["data"])
