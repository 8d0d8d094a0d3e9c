"""What a ``metadata`` value may look like, by the shape of its key (pure Python).

``*_version`` keys hold whole numbers, ``*_at`` keys ISO 8601 date-times, and the event stream's
high-water mark a whole number; other keys (e.g. the training inputs' fingerprint) are free text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

METADATA_RULES_TEXT: Final = (
    "*_version keys hold whole numbers, *_at keys ISO 8601 date-times, "
    "event_stream_high_water a whole number"
)
_WHOLE_NUMBER_KEYS: Final = frozenset({"event_stream_high_water"})
_MAX_DIGITS: Final = 19


def parse_version(value: object) -> int | None:
    """Return ``value`` as a non-negative whole number, or None when it is not one."""
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not text.isascii() or not text.isdigit() or len(text) > _MAX_DIGITS:
        return None
    return int(text)


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def metadata_value_valid(key: str, value: object) -> bool:
    """Return whether ``value`` fits what RoomDB stores under ``key``."""
    if key.endswith("_version") or key in _WHOLE_NUMBER_KEYS:
        return parse_version(value) is not None
    if key.endswith("_at"):
        return _is_datetime(value)
    return isinstance(value, str)
