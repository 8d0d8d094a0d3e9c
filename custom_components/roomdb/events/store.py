"""The Store-backed event buffer: ring, sequence allocator and this installation's device key.

One HA ``Store`` document (key ``roomdb.events``) holds all three, so they are always written
together: a delayed save after changes, an immediate save when the peer reports gaps, a
write-ahead save before a batch with new numbers leaves the process (see ``sequence``), and the
Store's own final write on ``EVENT_HOMEASSISTANT_FINAL_WRITE``.

The device key and the high-water mark are also recorded in RoomDB's database (``ledger``). A
document that is gone — deleted, or renamed aside by HA's Store as unreadable — therefore does not
start a new stream: the key is kept and numbering continues above every number that may have been
sent, and the ``event_buffer_reset`` repair issue says what happened. Only when neither record
exists does a new key start a new stream, which to the peer is never a reuse.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any, Final
from uuid import uuid4

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.json import json_bytes
from homeassistant.helpers.storage import Store
from homeassistant.util.json import json_loads_object

from ..log import get_logger
from ..repairs import async_raise_issue
from .document import RestoredStream, dump_stream, emit_event, load_stream
from .event import MAX_SEQUENCE, Event, is_int
from .ledger import LedgerEntry, SequenceLedger, valid_device_key
from .ring import EventRing
from .sequence import SequenceAllocator

_LOGGER = get_logger(__name__)

STORAGE_KEY: Final = "roomdb.events"
STORAGE_VERSION: Final = 1
BROKEN_STORAGE_KEY: Final = "roomdb.events.broken"
SAVE_DELAY: Final = 5.0
"""Seconds a change waits before the delayed save (sent events are on disk already)."""
ISSUE_EVENT_BUFFER_RESET: Final = "event_buffer_reset"
_INT64: Final = 2**63


def _parse_bounded_int(digits: str) -> int | str:
    value = int(digits)
    return value if -_INT64 <= value < _INT64 else digits


def json_safe(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return a plain JSON copy of ``data``: datetimes, sets, non-string keys, NaN made JSON.

    What a caller passes must never reach the Store or the wire as something they cannot
    encode: such an event could never be sent and would block the stream behind it. Integers
    beyond 64 bits, which orjson (HA's encoder) refuses, become their decimal text.
    """
    try:
        return json_loads_object(json_bytes(data))
    except TypeError, ValueError:
        _LOGGER.debug("Event data needs the lenient encoder: %r", data)
    value: dict[str, Any] = json.loads(
        json.dumps(data, default=str, skipkeys=True), parse_int=_parse_bounded_int
    )
    return value


def new_device_key() -> str:
    """Return a fresh device key (uuid4 hex)."""
    return uuid4().hex


def salvage_floor(raw: Mapping[str, Any]) -> int | None:
    """Return the highest sequence number a malformed document still shows, or None."""
    found: list[object] = []
    sequence = raw.get("sequence")
    if isinstance(sequence, Mapping):
        found.extend(sequence.get(key) for key in ("last_used", "high_water"))
    ring = raw.get("ring")
    if isinstance(ring, Mapping):
        next_sequence = ring.get("next_sequence")
        if is_int(next_sequence):
            found.append(next_sequence - 1)
        events = ring.get("events")
        if isinstance(events, list):
            found.extend(e.get("sequence_number") for e in events if isinstance(e, Mapping))
    valid = [value for value in found if is_int(value) and 0 < value < MAX_SEQUENCE]
    return max(valid) if valid else None


@dataclass(frozen=True, slots=True)
class RestoredBuffer:
    """What ``restore_document`` made of a stored document and the database's record."""

    device_key: str
    stream: RestoredStream
    problem: str | None
    """Why the document could not be used as it was (None when it could)."""


def restore_document(
    raw: object, capacity: int, recorded: LedgerEntry | None = None
) -> RestoredBuffer:
    """Rebuild key, ring and allocator from a stored document (None = none on disk).

    ``recorded`` is the database's record of the key and high-water mark. With it, a missing or
    malformed document keeps the key and resumes above the recorded mark; without it, a malformed
    stream under a valid key resumes above the highest number the document still shows, and when
    no number can be trusted a new key starts a new stream instead of reusing one.
    """
    if raw is None:
        if recorded is None:
            return RestoredBuffer(new_device_key(), load_stream(None, capacity=capacity), None)
        stream = load_stream(None, capacity=capacity, floor=recorded.high_water)
        return RestoredBuffer(recorded.device_key, stream, "the stored document is missing")
    key = raw.get("device_key") if isinstance(raw, Mapping) else None
    if not isinstance(raw, Mapping) or not isinstance(key, str) or not valid_device_key(key):
        if recorded is not None:
            stream = load_stream(None, capacity=capacity, floor=recorded.high_water)
            return RestoredBuffer(recorded.device_key, stream, "the device key is invalid")
        problem = "the device key is missing or invalid"
        return RestoredBuffer(new_device_key(), load_stream(None, capacity=capacity), problem)
    floor = recorded.high_water if recorded is not None and recorded.device_key == key else 0
    try:
        return RestoredBuffer(key, load_stream(raw, capacity=capacity, floor=floor), None)
    except ValueError as err:
        salvaged = max(salvage_floor(raw) or 0, floor)
        if not salvaged and recorded is None:
            return RestoredBuffer(new_device_key(), load_stream(None, capacity=capacity), str(err))
        stream = load_stream(None, capacity=capacity, floor=salvaged)
        return RestoredBuffer(key, stream, str(err))


def find_renamed_documents(storage_dir: Path) -> list[Path]:
    """Return the copies HA's Store renamed aside as unreadable, newest last (blocking)."""
    try:
        return sorted(storage_dir.glob(f"{STORAGE_KEY}.corrupt.*"))
    except OSError:
        return []


class EventBuffer:
    """Numbers and buffers events and keeps them in the Store."""

    def __init__(
        self, hass: HomeAssistant, capacity: int, *, ledger: SequenceLedger | None = None
    ) -> None:
        """Create an empty buffer; ``async_load`` restores the stored one."""
        self._hass = hass
        self._capacity = capacity
        self._ledger = ledger
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, STORAGE_KEY, atomic_writes=True
        )
        self.ring = EventRing(capacity)
        self.allocator = SequenceAllocator()
        self.device_key = ""
        self.last_change_id = 0
        """The newest journaled room-config change whose event is in the buffer."""
        self.on_emit: Callable[[Event], None] | None = None
        """Called after each emitted event (the sender's wake-up)."""
        self.on_saved: Callable[[int], None] | None = None
        """Called with the ``last_change_id`` a completed save covers."""
        self._clean = False
        self._loaded = False
        self._durable_sent = 0

    async def async_load(self) -> None:
        """Restore the stored buffer; a new installation gets its device key and saves it."""
        raw = await self._store.async_load()
        recorded = await self._ledger.async_read() if self._ledger is not None else None
        restored = restore_document(raw, self._capacity, recorded)
        self.device_key = restored.device_key
        self.ring = restored.stream.ring
        self.allocator = restored.stream.allocator
        self.last_change_id = restored.stream.last_change_id
        self._durable_sent = self.ring.last_sent
        self._loaded = True
        if restored.problem is not None:
            await self._async_report_reset(raw, restored.problem)
        elif raw is not None and not restored.stream.clean:
            _LOGGER.info(
                "The last run ended without a final write; numbering resumes at %d",
                self.allocator.peek(),
            )
        if raw is None or restored.problem is not None:
            await self.async_save()
        elif self._ledger is not None and recorded != LedgerEntry(
            self.device_key, self.allocator.high_water
        ):
            await self._ledger.async_record(self.device_key, self.allocator.high_water)

    async def _async_report_reset(self, raw: object, problem: str) -> None:
        renamed = await self._hass.async_add_executor_job(
            find_renamed_documents, Path(self._store.path).parent
        )
        if raw is not None:
            kept_as = BROKEN_STORAGE_KEY
            broken: Store[dict[str, Any]] = Store(self._hass, STORAGE_VERSION, BROKEN_STORAGE_KEY)
            await broken.async_save({"document": raw})
        elif renamed:
            problem = "the stored document was unreadable"
            kept_as = renamed[-1].name
        else:
            kept_as = "-"
        _LOGGER.error(
            "The stored event buffer was unusable (%s); numbering resumes at %d for device key "
            "%s, the old document is kept as %s",
            problem,
            self.allocator.peek(),
            self.device_key,
            kept_as,
        )
        async_raise_issue(
            self._hass,
            ISSUE_EVENT_BUFFER_RESET,
            {
                "reason": problem,
                "next": str(self.allocator.peek()),
                "kept_as": kept_as,
            },
        )

    def _document(self) -> dict[str, Any]:
        return {
            "device_key": self.device_key,
            **dump_stream(
                self.ring, self.allocator, clean=self._clean, last_change_id=self.last_change_id
            ),
        }

    @callback
    def async_emit(
        self,
        event_type: str,
        data: Mapping[str, Any],
        *,
        timestamp: str | None = None,
        change_id: int | None = None,
    ) -> Event:
        """Number and buffer a new event (a JSON copy of ``data``), save later, wake the sender.

        ``change_id`` is the journaled room-config change the event reports. Raises
        ``ValueError``/``TypeError`` on bad input without consuming a number.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"data must be a mapping, got {type(data).__name__}")
        event = emit_event(
            self.ring, self.allocator, event_type, json_safe(data), timestamp=timestamp
        )
        if is_int(change_id):
            self.last_change_id = max(self.last_change_id, change_id)
        self.async_schedule_save()
        if self.on_emit is not None:
            self.on_emit(event)
        return event

    @callback
    def async_schedule_save(self) -> None:
        """Save after ``SAVE_DELAY`` (or at the final write, whichever comes first)."""
        self._store.async_delay_save(self._document, SAVE_DELAY)

    async def async_save(self) -> None:
        """Write the document now and wait for it (gap reports, repairs)."""
        covered, sent = self.last_change_id, self.ring.last_sent
        # Shielded: a write that outlived its cancelled caller could land after a newer one (the
        # Store releases its write lock on cancel while the executor still writes).
        await asyncio.shield(self._store.async_save(self._document()))
        self._durable_sent = max(self._durable_sent, sent)
        if self.on_saved is not None:
            self.on_saved(covered)

    async def async_write_ahead(self, up_to: int) -> None:
        """Make sure a document on disk covers ``up_to`` before it leaves the process.

        Covers means both: its number is at most the saved high-water mark (never reused after a
        crash) and at most the saved ``last_sent`` (a gap the peer reports for it after a crash is
        resent, not dismissed as never sent). The caller marks the batch sent first.
        """
        if not self.allocator.needs_reservation(up_to) and up_to <= self._durable_sent:
            return
        mark = self.allocator.reserve()
        await self.async_save()
        if self._ledger is not None:
            await self._ledger.async_record(self.device_key, mark)
        self.allocator.confirm(mark)

    @callback
    def async_mark_stopped(self) -> None:
        """Record that the sender stopped for good: the final write is a clean one."""
        self._clean = True
        self._store.async_delay_save(self._document, 0)

    async def async_save_now(self) -> None:
        """Write the final document (on unload, after the sender stopped); no-op before a load."""
        if not self._loaded:
            return
        self._clean = True
        await self.async_save()
