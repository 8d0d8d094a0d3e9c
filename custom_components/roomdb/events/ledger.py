"""The event stream's second record of who it is and how far it numbered, in RoomDB's database.

The stream document in HA's Store is the buffer; when it is deleted, or HA's Store finds it
unreadable and renames it aside, this record keeps the stream's identity: the same device key, and
numbering above every number that may have left the process. It is written at each write-ahead,
after the Store document, so it never claims less than what was sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..db.database import Database
from ..log import get_logger
from .event import MAX_SEQUENCE

_LOGGER = get_logger(__name__)

META_DEVICE_KEY: Final = "event_stream_device_key"
META_HIGH_WATER: Final = "event_stream_high_water"
MAX_DEVICE_KEY_LENGTH: Final = 128


def valid_device_key(value: object) -> bool:
    """Return whether ``value`` can be a device key (printable text of bounded length)."""
    return (
        isinstance(value, str) and 0 < len(value) <= MAX_DEVICE_KEY_LENGTH and value.isprintable()
    )


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """The recorded identity and high-water mark."""

    device_key: str
    high_water: int


class SequenceLedger:
    """Reads and writes the record in the ``metadata`` table."""

    def __init__(self, database: Database) -> None:
        """Keep the record in ``database``."""
        self._database = database

    async def async_read(self) -> LedgerEntry | None:
        """Return the record, or None when there is none or it does not make sense."""
        key = await self._database.get_metadata(META_DEVICE_KEY)
        high_water = await self._database.get_metadata(META_HIGH_WATER)
        if key is None:
            return None
        try:
            mark = int(high_water or "0")
        except ValueError:
            mark = -1
        if not valid_device_key(key) or not 0 <= mark < MAX_SEQUENCE:
            _LOGGER.warning(
                "Ignoring the event stream record in the database (device key %r, high water "
                "%r): it is not valid",
                key,
                high_water,
            )
            return None
        return LedgerEntry(key, mark)

    async def async_record(self, device_key: str, high_water: int) -> None:
        """Record ``device_key`` and ``high_water`` (one short transaction)."""
        await self._database.set_metadata(
            {META_DEVICE_KEY: device_key, META_HIGH_WATER: str(high_water)}
        )
