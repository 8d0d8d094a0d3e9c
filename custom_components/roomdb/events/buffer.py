"""The Store-backed event buffer: ring, sequence allocator and this installation's device key.

One HA ``Store`` document (key ``roomdb.events``) holds all three, so they are always written
together: a delayed save after changes, a write-ahead save before a batch with new numbers leaves
the process (see ``ring``), and the Store's own final write on ``EVENT_HOMEASSISTANT_FINAL_WRITE``.

The device key lives in the same document on purpose: a deleted or unreadable document yields a
new key, and numbering from 1 under a new key is a new stream to the peer, never a reuse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
import json
import logging
from typing import Any, Final
from uuid import uuid4

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.json import json_bytes
from homeassistant.helpers.storage import Store
from homeassistant.util.json import json_loads_object

from ..const import DOMAIN
from .ring import (
    MAX_SEQUENCE,
    Event,
    EventRing,
    RestoredStream,
    SequenceAllocator,
    dump_stream,
    emit_event,
    is_int,
    load_stream,
)

_LOGGER = logging.getLogger(__name__)

STORAGE_KEY: Final = "roomdb.events"
STORAGE_VERSION: Final = 1
BROKEN_STORAGE_KEY: Final = "roomdb.events.broken"
SAVE_DELAY: Final = 5.0
"""Seconds a change waits before the delayed save (sent events are on disk already)."""
MAX_DEVICE_KEY_LENGTH: Final = 128
ISSUE_EVENT_BUFFER_RESET: Final = "event_buffer_reset"


def json_safe(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return a plain JSON copy of ``data``: datetimes, sets, non-string keys, NaN made JSON.

    What a caller passes must never reach the Store or the wire as something they cannot
    encode: such an event could never be sent and would block the stream behind it.
    """
    try:
        return json_loads_object(json_bytes(data))
    except TypeError, ValueError:
        _LOGGER.debug("Event data needs the lenient encoder: %r", data)
    value: dict[str, Any] = json.loads(json.dumps(data, default=str, skipkeys=True))
    return value


def new_device_key() -> str:
    """Return a fresh device key (uuid4 hex)."""
    return uuid4().hex


def _valid_device_key(value: object) -> bool:
    return (
        isinstance(value, str) and 0 < len(value) <= MAX_DEVICE_KEY_LENGTH and value.isprintable()
    )


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
    """What ``restore_document`` made of a stored document."""

    device_key: str
    stream: RestoredStream
    problem: str | None
    """Why the document could not be used as it was (None when it could)."""


def restore_document(raw: object, capacity: int) -> RestoredBuffer:
    """Rebuild key, ring and allocator from a stored document (None = first start).

    A malformed stream under a valid key resumes above the highest number the document still
    shows; when no number can be trusted, a new key starts a new stream instead of reusing one.
    """
    if raw is None:
        return RestoredBuffer(new_device_key(), load_stream(None, capacity=capacity), None)
    if not isinstance(raw, Mapping) or not _valid_device_key(raw.get("device_key")):
        problem = "the device key is missing or invalid"
        return RestoredBuffer(new_device_key(), load_stream(None, capacity=capacity), problem)
    device_key: str = raw["device_key"]
    try:
        return RestoredBuffer(device_key, load_stream(raw, capacity=capacity), None)
    except ValueError as err:
        floor = salvage_floor(raw)
        if floor is None:
            return RestoredBuffer(new_device_key(), load_stream(None, capacity=capacity), str(err))
        stream = load_stream(None, capacity=capacity, floor=floor)
        return RestoredBuffer(device_key, stream, str(err))


class EventBuffer:
    """Numbers and buffers events and keeps them in the Store."""

    def __init__(self, hass: HomeAssistant, capacity: int) -> None:
        """Create an empty buffer; ``async_load`` restores the stored one."""
        self._hass = hass
        self._capacity = capacity
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, STORAGE_KEY, atomic_writes=True
        )
        self.ring = EventRing(capacity)
        self.allocator = SequenceAllocator()
        self.device_key = ""
        self.on_emit: Callable[[Event], None] | None = None
        """Called after each emitted event (the sender's wake-up)."""
        self._clean = False
        self._loaded = False

    async def async_load(self) -> None:
        """Restore the stored buffer; a new installation gets its device key and saves it."""
        raw = await self._store.async_load()
        restored = restore_document(raw, self._capacity)
        self.device_key = restored.device_key
        self.ring = restored.stream.ring
        self.allocator = restored.stream.allocator
        self._loaded = True
        if restored.problem is not None:
            await self._async_report_reset(raw, restored.problem)
        elif raw is not None and not restored.stream.clean:
            _LOGGER.info(
                "The last run ended without a final write; numbering resumes at %d",
                self.allocator.peek(),
            )
        if raw is None or restored.problem is not None:
            await self._store.async_save(self._document())

    async def _async_report_reset(self, raw: object, problem: str) -> None:
        _LOGGER.error(
            "The stored event buffer was unusable (%s); numbering resumes at %d for device key "
            "%s, the old document is kept as %s",
            problem,
            self.allocator.peek(),
            self.device_key,
            BROKEN_STORAGE_KEY,
        )
        broken: Store[dict[str, Any]] = Store(self._hass, STORAGE_VERSION, BROKEN_STORAGE_KEY)
        await broken.async_save({"document": raw})
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            ISSUE_EVENT_BUFFER_RESET,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_EVENT_BUFFER_RESET,
            translation_placeholders={"reason": problem, "next": str(self.allocator.peek())},
        )

    def _document(self) -> dict[str, Any]:
        return {
            "device_key": self.device_key,
            **dump_stream(self.ring, self.allocator, clean=self._clean),
        }

    @callback
    def async_emit(
        self, event_type: str, data: Mapping[str, Any], *, timestamp: str | None = None
    ) -> Event:
        """Number and buffer a new event (a JSON copy of ``data``), save later, wake the sender.

        Raises ``ValueError``/``TypeError`` on bad input without consuming a number.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"data must be a mapping, got {type(data).__name__}")
        event = emit_event(
            self.ring, self.allocator, event_type, json_safe(data), timestamp=timestamp
        )
        self.async_schedule_save()
        if self.on_emit is not None:
            self.on_emit(event)
        return event

    @callback
    def async_schedule_save(self) -> None:
        """Save after ``SAVE_DELAY`` (or at the final write, whichever comes first)."""
        self._store.async_delay_save(self._document, SAVE_DELAY)

    async def async_write_ahead(self, up_to: int) -> None:
        """Make sure a document on disk covers ``up_to`` before it leaves the process."""
        if not self.allocator.needs_reservation(up_to):
            return
        mark = self.allocator.reserve()
        await self._store.async_save(self._document())
        self.allocator.confirm(mark)

    @callback
    def async_mark_stopped(self) -> None:
        """Record that the sender stopped for good: the final write is a clean one."""
        self._clean = True
        self._store.async_delay_save(self._document, 0)

    async def async_save_now(self) -> None:
        """Write the document now (on unload, after the sender stopped); no-op before a load."""
        if not self._loaded:
            return
        self._clean = True
        await self._store.async_save(self._document())
