"""The one stream document: ring, sequence state and change coverage together (pure Python).

The buffer saves this document in HA's Store; everything a restart needs to continue numbering
and delivering without loss or reuse is in it, written in one piece so the parts never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from ..timestamps import wire_timestamp
from .event import MAX_SEQUENCE, Event, check_counter, is_int
from .ring import EventRing
from .sequence import SequenceAllocator
from .window import DEFAULT_CAPACITY

STREAM_FORMAT_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class RestoredStream:
    """The result of ``load_stream``."""

    ring: EventRing
    allocator: SequenceAllocator
    clean: bool
    """Whether the previous run ended with a clean final write."""
    skipped: range
    """Sequence numbers jumped over after an unclean stop (empty with ``block_size=0``)."""
    last_change_id: int = 0
    """The newest room-config change whose event this document holds (0 = none)."""


def dump_stream(
    ring: EventRing,
    allocator: SequenceAllocator,
    *,
    clean: bool = False,
    last_change_id: int = 0,
) -> dict[str, Any]:
    """Return the one Store document that holds the ring and the sequence state."""
    return {
        "version": STREAM_FORMAT_VERSION,
        "sequence": allocator.to_dict(clean=clean),
        "last_change_id": last_change_id,
        "ring": ring.to_dict(),
    }


def _load_parts(
    raw: object, capacity: int
) -> tuple[EventRing, SequenceAllocator, range, bool, int]:
    if raw is None:
        return EventRing(capacity), SequenceAllocator(), range(0), True, 0
    if not isinstance(raw, Mapping):
        raise TypeError(f"stream document must be an object, got {type(raw).__name__}")
    if raw.get("version") != STREAM_FORMAT_VERSION:
        raise ValueError(f"unsupported stream document version {raw.get('version')!r}")
    ring = EventRing.from_dict(raw.get("ring"), capacity=capacity)
    sequence = raw.get("sequence")
    allocator, skipped = SequenceAllocator.from_dict(sequence)
    clean = isinstance(sequence, Mapping) and sequence.get("clean") is True
    return ring, allocator, skipped, clean, check_counter(raw, "last_change_id")


def load_stream(raw: object, *, capacity: int = DEFAULT_CAPACITY, floor: int = 0) -> RestoredStream:
    """Restore the ring and allocator from ``dump_stream`` output (None = first start).

    Numbering resumes above ``floor`` too (a last-used number kept elsewhere). Raises
    ``ValueError`` when the document is malformed.
    """
    if not is_int(floor) or not 0 <= floor < MAX_SEQUENCE:
        raise ValueError(f"floor must be a non-negative integer, got {floor!r}")
    try:
        ring, allocator, skipped, clean, last_change_id = _load_parts(raw, capacity)
    except TypeError as err:
        raise ValueError(str(err)) from err
    resume_after = max(allocator.last_used, ring.next_sequence - 1, floor)
    if resume_after > allocator.last_used:
        # The ring or the floor knows numbers the sequence state does not: never hand them out.
        skipped = range(skipped.start or allocator.last_used + 1, resume_after + 1)
        allocator = SequenceAllocator(last_used=resume_after)
    if allocator.peek() > ring.next_sequence:
        ring.skip_to(allocator.peek())
    return RestoredStream(ring, allocator, clean, skipped, last_change_id)


def emit_event(
    ring: EventRing,
    allocator: SequenceAllocator,
    event_type: str,
    data: dict[str, Any],
    *,
    timestamp: str | None = None,
) -> Event:
    """Number a new event, buffer it and return it.

    The event is validated and the ring checked before the number is consumed, so bad input
    raises ``ValueError`` without leaving a hole.
    """
    event = Event(
        allocator.peek(), event_type, timestamp or wire_timestamp(datetime.now(UTC)), data
    )
    ring.append(event)
    allocator.next()
    return event
