"""Sequence numbers and the bounded ring of recent events (pure Python, no Home Assistant import).

Every event RoomDB emits gets a sequence number one higher than the previous one. The numbers must
never be reused after a restart or a crash, and a restart must not leave holes that the client made.

Sequence persistence (write-ahead before send)
==============================================
"Using" a number means letting it leave the process: POSTing the event to the ingest endpoint
(or anything else another party can store). Handing a number out in memory is not yet a use.

1. ``SequenceAllocator.next()`` hands out numbers in memory, consecutively and synchronously
   (no await, so ``@callback`` code can emit events; ``emit_event`` does number + buffer).
2. Events go into the ``EventRing`` first. The ring and the allocator are persisted together in
   one HA ``Store`` document (``dump_stream``): a delayed save after changes, and a final write on
   shutdown with ``dump_stream(..., clean=True)`` after the sender has stopped.
3. Write-ahead: the sender may only POST events numbered ``<= allocator.high_water``, the highest
   number a document on disk covers. Before POSTing a batch whose last number is above it, the
   sender calls ``mark = allocator.reserve()``, ``await store.async_save(dump_stream(...))`` (the
   whole ring, so every event that leaves the process is on disk too), then
   ``allocator.confirm(mark)``. That is one write per send batch, not per event; resending gap
   events never needs one (they are on disk already).
4. Restore (``load_stream``): after a clean shutdown numbering resumes at ``last_used + 1``; after
   an unclean stop at ``max(last_used, high_water) + 1``.

Guarantees:

- Graceful restart: no reuse and no holes (the final write records the exact last number).
- SIGKILL or power loss: no number that left the process is reused, since the document on disk
  covers every sent number; every sent event that still fits the ring is in the persisted ring,
  so a gap the peer reports for it is recovered after the restart. Events numbered after the last
  write and never sent die with the process; nobody outside saw their numbers, so giving those
  numbers to new events is not an observable reuse (the only trace can be a diagnostic sensor's
  recorded state).
- ``reserve(block_size=N)`` trades disk writes for holes: it covers N numbers not yet handed out,
  so after a SIGKILL up to N numbers are skipped, and events sent under the block since the last
  write are not on disk. The peer reports missing ones as gaps; the ring counts the numbers as
  ``skipped`` and, when reported, unrecoverable. ``block_size=0`` (the default and the
  recommendation) never skips a number.
- A malformed document makes ``load_stream`` raise ``ValueError``; the caller must not silently
  restart at 1 (raise a repair issue). A deleted document looks like a first start, so
  ``load_stream(floor=...)`` accepts a last-used number kept elsewhere (e.g. SQLite metadata).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any, Final, TypeGuard

DEFAULT_CAPACITY: Final = 200
MAX_SEQUENCE: Final = 2**63 - 1
"""The largest sequence number: fits a signed 64-bit integer (SQLite INTEGER, most JSON peers)."""
MAX_RESEND_ATTEMPTS: Final = 10
"""How many times one buffered event is resent for gap reports before it is given up on."""
MAX_REMEMBERED_RUNS: Final = 1_000
"""How many runs of unrecoverable numbers are remembered, so that each is counted once."""
STREAM_FORMAT_VERSION: Final = 1


def is_int(value: object) -> TypeGuard[int]:
    """Return whether ``value`` is an ``int`` and not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def _check_sequence(value: object, what: str = "sequence_number") -> int:
    if not is_int(value):
        raise ValueError(f"{what} must be an integer, got {type(value).__name__}")
    if not 1 <= value <= MAX_SEQUENCE:
        raise ValueError(f"{what} must be between 1 and {MAX_SEQUENCE}, got {value}")
    return value


def _check_counter(raw: Mapping[str, Any], key: str) -> int:
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
    """One emitted event. ``data`` must be JSON-serialisable; it is not deep-copied."""

    sequence_number: int
    event_type: str
    timestamp: str
    data: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        """Validate the fields; raise ``ValueError`` on bad input."""
        _check_sequence(self.sequence_number)
        if not isinstance(self.event_type, str) or not self.event_type:
            raise ValueError("event_type must be a non-empty string")
        validate_timestamp(self.timestamp)
        if not isinstance(self.data, dict):
            raise TypeError(f"data must be a dict, got {type(self.data).__name__}")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict (the Store form)."""
        return {
            "sequence_number": self.sequence_number,
            "event_type": self.event_type,
            "timestamp": self.timestamp,
            "data": dict(self.data),
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


class _RunSet:
    """A set of positive integers stored as sorted, merged inclusive runs ``[first, last]``."""

    __slots__ = ("_firsts", "_lasts")

    def __init__(self) -> None:
        self._firsts: list[int] = []
        self._lasts: list[int] = []

    def __contains__(self, value: int) -> bool:
        pos = bisect_right(self._firsts, value) - 1
        return pos >= 0 and value <= self._lasts[pos]

    def add(self, value: int) -> None:
        pos = bisect_right(self._firsts, value) - 1
        if pos >= 0 and value <= self._lasts[pos]:
            return
        joins_left = pos >= 0 and self._lasts[pos] == value - 1
        joins_right = pos + 1 < len(self._firsts) and self._firsts[pos + 1] == value + 1
        if joins_left and joins_right:
            self._lasts[pos] = self._lasts[pos + 1]
            del self._firsts[pos + 1], self._lasts[pos + 1]
        elif joins_left:
            self._lasts[pos] = value
        elif joins_right:
            self._firsts[pos + 1] = value
        else:
            self._firsts.insert(pos + 1, value)
            self._lasts.insert(pos + 1, value)
        if len(self._firsts) > MAX_REMEMBERED_RUNS:
            del self._firsts[0], self._lasts[0]

    def to_list(self) -> list[list[int]]:
        return [[first, last] for first, last in zip(self._firsts, self._lasts, strict=True)]

    @classmethod
    def from_list(cls, raw: object) -> _RunSet:
        runs = cls()
        if not isinstance(raw, list):
            raise TypeError("unrecoverable runs must be a list")
        for item in raw:
            if (
                not isinstance(item, list)
                or len(item) != 2
                or not all(is_int(x) and x >= 1 for x in item)
                or item[0] > item[1]
                or (runs._lasts and item[0] <= runs._lasts[-1] + 1)
            ):
                raise ValueError(f"malformed unrecoverable run {item!r}")
            runs._firsts.append(item[0])
            runs._lasts.append(item[1])
        del runs._firsts[:-MAX_REMEMBERED_RUNS], runs._lasts[:-MAX_REMEMBERED_RUNS]
        return runs


@dataclass(frozen=True, slots=True)
class GapResolution:
    """What to do about sequence numbers a peer reported missing."""

    resend: list[Event]
    """Still buffered: resend these now (oldest first)."""
    unrecoverable: list[int]
    """Newly given up on (evicted, skipped, or resent too often): counted once, never retried."""
    already_unrecoverable: list[int]
    """Given up on earlier; ignore."""
    unknown: list[int]
    """Never emitted by this ring (at or above ``next_sequence``); ignore."""


class EventRing:
    """The last ``capacity`` events in sequence order, with send/ack bookkeeping.

    ``append`` accepts only ``next_sequence`` (one more than the last number appended, or a number
    moved forward with ``skip_to``). ``get`` is O(1). An event evicted by capacity before it was
    acknowledged counts as overflowed.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        """Create an empty ring that expects sequence number 1 first."""
        self._capacity = self._check_capacity(capacity)
        self._events: deque[Event] = deque()
        self._index: dict[int, Event] = {}
        self._next = 1
        self._last_sent = 0
        self._last_acked = 0
        self._overflowed = 0
        self._skipped = 0
        self._resent = 0
        self._unrecoverable = 0
        self._unrecoverable_seen = _RunSet()
        self._attempts: dict[int, int] = {}

    @staticmethod
    def _check_capacity(capacity: object) -> int:
        if not is_int(capacity) or capacity < 1:
            raise ValueError(f"capacity must be a positive integer, got {capacity!r}")
        return capacity

    # -- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        """Return the number of buffered events."""
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        """Iterate the buffered events, oldest first."""
        return iter(self._events)

    def __contains__(self, sequence_number: object) -> bool:
        """Return whether the event with this sequence number is buffered."""
        return sequence_number in self._index

    @property
    def capacity(self) -> int:
        """Return how many events the ring holds at most."""
        return self._capacity

    @property
    def oldest(self) -> int | None:
        """Return the oldest buffered sequence number, or None when empty."""
        return self._events[0].sequence_number if self._events else None

    @property
    def newest(self) -> int | None:
        """Return the newest buffered sequence number, or None when empty."""
        return self._events[-1].sequence_number if self._events else None

    @property
    def next_sequence(self) -> int:
        """Return the only sequence number ``append`` accepts next."""
        return self._next

    @property
    def last_sent(self) -> int:
        """Return the highest sequence number handed to the transport (0 = none)."""
        return self._last_sent

    @property
    def last_acked(self) -> int:
        """Return the highest sequence number acknowledged cumulatively (0 = none)."""
        return self._last_acked

    @property
    def overflowed(self) -> int:
        """Return how many never-acknowledged events the capacity evicted."""
        return self._overflowed

    @property
    def skipped(self) -> int:
        """Return how many sequence numbers ``skip_to`` jumped over (unclean restarts)."""
        return self._skipped

    @property
    def resent(self) -> int:
        """Return how many events were resent for gap reports."""
        return self._resent

    @property
    def unrecoverable(self) -> int:
        """Return how many reported gaps could not be recovered (each number counted once)."""
        return self._unrecoverable

    def get(self, sequence_number: int) -> Event | None:
        """Return the buffered event with this sequence number, or None."""
        return self._index.get(sequence_number)

    def events_after(self, after: int, limit: int | None = None) -> list[Event]:
        """Return the buffered events numbered above ``after``, oldest first, at most ``limit``."""
        if limit is not None and limit < 1:
            return []
        found: list[Event] = []
        for event in reversed(self._events):
            if event.sequence_number <= after:
                break
            found.append(event)
        found.reverse()
        return found if limit is None else found[:limit]

    def pending(self, limit: int | None = None) -> list[Event]:
        """Return buffered events not yet acknowledged, oldest first: the next batch to send."""
        return self.events_after(self._last_acked, limit)

    def unsent(self, limit: int | None = None) -> list[Event]:
        """Return buffered events never handed to the transport, oldest first."""
        return self.events_after(max(self._last_sent, self._last_acked), limit)

    def pending_count(self) -> int:
        """Return how many buffered events are not acknowledged."""
        count = 0
        for event in reversed(self._events):
            if event.sequence_number <= self._last_acked:
                break
            count += 1
        return count

    def stats(self) -> dict[str, int | None]:
        """Return the figures the diagnostic sensors and ``flush_events`` show."""
        return {
            "capacity": self._capacity,
            "buffered": len(self._events),
            "oldest": self.oldest,
            "newest": self.newest,
            "next_sequence": self._next,
            "last_sent": self._last_sent,
            "last_acked": self._last_acked,
            "pending": self.pending_count(),
            "overflowed": self._overflowed,
            "skipped": self._skipped,
            "resent": self._resent,
            "unrecoverable": self._unrecoverable,
        }

    # -- writing -------------------------------------------------------------------------------

    def append(self, event: Event) -> None:
        """Add ``event``; its number must be ``next_sequence``. Evict the oldest when full."""
        if not isinstance(event, Event):
            raise TypeError(f"expected Event, got {type(event).__name__}")
        if event.sequence_number != self._next:
            raise ValueError(
                f"sequence number {event.sequence_number} refused: expected {self._next}"
            )
        self._events.append(event)
        self._index[event.sequence_number] = event
        self._next = event.sequence_number + 1
        self._evict_to(self._capacity)

    def _evict_to(self, capacity: int) -> None:
        while len(self._events) > capacity:
            old = self._events.popleft()
            del self._index[old.sequence_number]
            self._attempts.pop(old.sequence_number, None)
            if old.sequence_number > self._last_acked:
                self._overflowed += 1

    def resize(self, capacity: int) -> None:
        """Change the capacity; shrinking evicts the oldest events (counted if unacknowledged)."""
        self._capacity = self._check_capacity(capacity)
        self._evict_to(self._capacity)

    def skip_to(self, next_sequence: int) -> None:
        """Move ``next_sequence`` forward (after an unclean restart skipped reserved numbers)."""
        _check_sequence(next_sequence, "next_sequence")
        if next_sequence < self._next:
            raise ValueError(f"cannot move next_sequence back from {self._next} to {next_sequence}")
        self._skipped += next_sequence - self._next
        self._next = next_sequence

    def _check_emitted(self, up_to: int, what: str) -> None:
        if not is_int(up_to) or up_to < 0:
            raise ValueError(f"{what} must be a non-negative integer, got {up_to!r}")
        if up_to >= self._next:
            raise ValueError(f"{what} {up_to} was never emitted (next is {self._next})")

    def mark_sent(self, up_to: int) -> None:
        """Record that events up to ``up_to`` were handed to the transport."""
        self._check_emitted(up_to, "mark_sent")
        self._last_sent = max(self._last_sent, up_to)

    def acknowledge(self, up_to: int) -> None:
        """Record that the peer stored everything up to ``up_to`` (cumulative; never moves back)."""
        self._check_emitted(up_to, "acknowledge")
        self._last_acked = max(self._last_acked, up_to)
        self._last_sent = max(self._last_sent, self._last_acked)

    def resolve_gaps(
        self, sequences: Iterable[int], *, max_attempts: int = MAX_RESEND_ATTEMPTS
    ) -> GapResolution:
        """Sort reported gaps into resend / unrecoverable / ignore, and update the counters.

        Each buffered event is resent at most ``max_attempts`` times; after that (and for numbers
        no longer buffered) it is unrecoverable, counted once and never retried, so a peer that
        keeps reporting the same gap cannot make the sender loop.
        """
        resend: list[Event] = []
        unrecoverable: list[int] = []
        already: list[int] = []
        unknown: list[int] = []
        for seq in sorted(set(sequences)):
            if seq >= self._next:
                unknown.append(seq)
                continue
            if seq in self._unrecoverable_seen:
                already.append(seq)
                continue
            event = self._index.get(seq)
            attempts = self._attempts.get(seq, 0)
            if event is not None and attempts < max_attempts:
                self._attempts[seq] = attempts + 1
                resend.append(event)
                continue
            unrecoverable.append(seq)
            self._remember_unrecoverable(seq)
        self._resent += len(resend)
        self._unrecoverable += len(unrecoverable)
        return GapResolution(resend, unrecoverable, already, unknown)

    def _remember_unrecoverable(self, seq: int) -> None:
        self._attempts.pop(seq, None)
        self._unrecoverable_seen.add(seq)

    # -- persistence ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-able Store form of the ring."""
        return {
            "capacity": self._capacity,
            "next_sequence": self._next,
            "last_sent": self._last_sent,
            "last_acked": self._last_acked,
            "overflowed": self._overflowed,
            "skipped": self._skipped,
            "resent": self._resent,
            "unrecoverable": self._unrecoverable,
            "unrecoverable_runs": self._unrecoverable_seen.to_list(),
            "events": [event.to_dict() for event in self._events],
        }

    @classmethod
    def from_dict(cls, raw: object, *, capacity: int | None = None) -> EventRing:
        """Rebuild a ring from ``to_dict`` output; raise ``ValueError`` when it is inconsistent.

        ``capacity`` (the configured size) overrides the stored one; shrinking evicts the oldest.
        """
        if not isinstance(raw, Mapping):
            raise TypeError(f"ring must be an object, got {type(raw).__name__}")
        ring = cls(capacity if capacity is not None else raw.get("capacity", DEFAULT_CAPACITY))
        events_raw = raw.get("events", [])
        if not isinstance(events_raw, list):
            raise TypeError("ring events must be a list")
        events = [Event.from_dict(item) for item in events_raw]
        for before, after in pairwise(events):
            if after.sequence_number <= before.sequence_number:
                raise ValueError("ring events are not in increasing sequence order")
        next_default = events[-1].sequence_number + 1 if events else 1
        next_sequence = _check_sequence(raw.get("next_sequence", next_default), "next_sequence")
        if events and events[-1].sequence_number >= next_sequence:
            raise ValueError("ring holds an event at or above next_sequence")
        ring._next = next_sequence
        ring._last_sent = _check_counter(raw, "last_sent")
        ring._last_acked = _check_counter(raw, "last_acked")
        if max(ring._last_sent, ring._last_acked) >= next_sequence:
            raise ValueError("last_sent/last_acked lie beyond next_sequence")
        ring._overflowed = _check_counter(raw, "overflowed")
        ring._skipped = _check_counter(raw, "skipped")
        ring._resent = _check_counter(raw, "resent")
        ring._unrecoverable = _check_counter(raw, "unrecoverable")
        ring._unrecoverable_seen = _RunSet.from_list(raw.get("unrecoverable_runs", []))
        ring._events.extend(events)
        ring._index.update((event.sequence_number, event) for event in events)
        ring._evict_to(ring._capacity)
        return ring


class SequenceAllocator:
    """Hands out consecutive sequence numbers and tracks the write-ahead high-water mark.

    See the module docstring for the protocol. ``high_water`` is the highest number a document
    already on disk covers; only numbers up to it may leave the process.
    """

    def __init__(self, *, last_used: int = 0, high_water: int | None = None) -> None:
        """Start after ``last_used``; ``high_water`` (default ``last_used``) is already durable."""
        if not is_int(last_used) or not 0 <= last_used <= MAX_SEQUENCE:
            raise ValueError(f"last_used must be between 0 and {MAX_SEQUENCE}, got {last_used!r}")
        durable = last_used if high_water is None else high_water
        if not is_int(durable) or not last_used <= durable <= MAX_SEQUENCE:
            raise ValueError(f"high_water must be between last_used and {MAX_SEQUENCE}")
        self._last_used = last_used
        self._high_water = durable
        self._requested = durable

    @property
    def last_used(self) -> int:
        """Return the last number handed out (0 = none yet)."""
        return self._last_used

    @property
    def high_water(self) -> int:
        """Return the highest number covered by a completed write (``confirm``)."""
        return self._high_water

    @property
    def sendable_up_to(self) -> int:
        """Return the highest number that may leave the process now."""
        return min(self._last_used, self._high_water)

    def peek(self) -> int:
        """Return the number ``next`` will hand out, without handing it out."""
        if self._last_used >= MAX_SEQUENCE:
            raise OverflowError("sequence numbers exhausted")
        return self._last_used + 1

    def next(self) -> int:
        """Hand out the next number (in memory; it may be sent once ``high_water`` covers it)."""
        self._last_used = self.peek()
        return self._last_used

    def needs_reservation(self, up_to: int | None = None) -> bool:
        """Return whether a write-ahead save must complete before ``up_to`` may be sent."""
        return (self._last_used if up_to is None else up_to) > self._high_water

    def reserve(self, up_to: int | None = None, *, block_size: int = 0) -> int:
        """Return the high-water mark to persist before sending up to ``up_to``.

        Persist ``dump_stream(...)`` (it already carries the value), then call ``confirm`` with it.
        ``block_size`` > 0 covers numbers not yet handed out, saving writes at the cost of skipped
        numbers after a SIGKILL (see the module docstring).
        """
        target = self._last_used if up_to is None else up_to
        if not is_int(target) or not 0 <= target <= self._last_used:
            raise ValueError(f"cannot reserve up to {target!r}: last used is {self._last_used}")
        if not is_int(block_size) or block_size < 0:
            raise ValueError(f"block_size must be a non-negative integer, got {block_size!r}")
        mark = min(MAX_SEQUENCE, max(target + block_size, self._high_water))
        self._requested = max(self._requested, mark)
        return mark

    def confirm(self, high_water: int) -> None:
        """Record that a document covering ``high_water`` is on disk.

        Capped at what is still reserved: a clean final write in between voids the reservation.
        """
        if not is_int(high_water):
            raise ValueError(f"high_water must be an integer, got {high_water!r}")
        self._high_water = max(self._high_water, min(high_water, self._requested))

    def to_dict(self, *, clean: bool = False) -> dict[str, Any]:
        """Return the Store form. ``clean=True`` is for the final write on shutdown only.

        A clean document says no number above ``last_used`` left the process, so it also drops
        the in-memory reservation to ``last_used``: anything sent afterwards needs a new (unclean)
        write first.
        """
        if clean:
            self._high_water = self._requested = self._last_used
        return {
            "last_used": self._last_used,
            "high_water": max(self._high_water, self._requested, self._last_used),
            "clean": clean,
        }

    @classmethod
    def from_dict(cls, raw: object) -> tuple[SequenceAllocator, range]:
        """Restore after a restart; return the allocator and the numbers skipped (maybe empty).

        Clean shutdown: resume at ``last_used + 1``. Otherwise at ``max(last_used, high_water) + 1``
        so that no number that might have been sent is reused.
        """
        if not isinstance(raw, Mapping):
            raise TypeError(f"sequence state must be an object, got {type(raw).__name__}")
        last_used = raw.get("last_used")
        high_water = raw.get("high_water", last_used)
        clean = raw.get("clean", False)
        if not is_int(last_used) or not 0 <= last_used <= MAX_SEQUENCE:
            raise ValueError(f"last_used is invalid: {last_used!r}")
        if not is_int(high_water) or not 0 <= high_water <= MAX_SEQUENCE:
            raise ValueError(f"high_water is invalid: {high_water!r}")
        if not isinstance(clean, bool):
            raise TypeError(f"clean must be a boolean, got {clean!r}")
        resume_after = last_used if clean else max(last_used, high_water)
        return cls(last_used=resume_after), range(last_used + 1, resume_after + 1)


@dataclass(frozen=True, slots=True)
class RestoredStream:
    """The result of ``load_stream``."""

    ring: EventRing
    allocator: SequenceAllocator
    clean: bool
    """Whether the previous run ended with a clean final write."""
    skipped: range
    """Sequence numbers jumped over after an unclean stop (empty with ``block_size=0``)."""


def dump_stream(
    ring: EventRing, allocator: SequenceAllocator, *, clean: bool = False
) -> dict[str, Any]:
    """Return the one Store document that holds the ring and the sequence state."""
    return {
        "version": STREAM_FORMAT_VERSION,
        "sequence": allocator.to_dict(clean=clean),
        "ring": ring.to_dict(),
    }


def _load_parts(raw: object, capacity: int) -> tuple[EventRing, SequenceAllocator, range, bool]:
    if raw is None:
        return EventRing(capacity), SequenceAllocator(), range(0), True
    if not isinstance(raw, Mapping):
        raise TypeError(f"stream document must be an object, got {type(raw).__name__}")
    if raw.get("version") != STREAM_FORMAT_VERSION:
        raise ValueError(f"unsupported stream document version {raw.get('version')!r}")
    ring = EventRing.from_dict(raw.get("ring"), capacity=capacity)
    sequence = raw.get("sequence")
    allocator, skipped = SequenceAllocator.from_dict(sequence)
    clean = isinstance(sequence, Mapping) and sequence.get("clean") is True
    return ring, allocator, skipped, clean


def load_stream(raw: object, *, capacity: int = DEFAULT_CAPACITY, floor: int = 0) -> RestoredStream:
    """Restore the ring and allocator from ``dump_stream`` output (None = first start).

    Numbering resumes above ``floor`` too (a last-used number kept elsewhere). Raises
    ``ValueError`` when the document is malformed.
    """
    if not is_int(floor) or not 0 <= floor < MAX_SEQUENCE:
        raise ValueError(f"floor must be a non-negative integer, got {floor!r}")
    try:
        ring, allocator, skipped, clean = _load_parts(raw, capacity)
    except TypeError as err:
        raise ValueError(str(err)) from err
    resume_after = max(allocator.last_used, ring.next_sequence - 1, floor)
    if resume_after > allocator.last_used:
        # The ring or the floor knows numbers the sequence state does not: never hand them out.
        skipped = range(skipped.start or allocator.last_used + 1, resume_after + 1)
        allocator = SequenceAllocator(last_used=resume_after)
    if allocator.peek() > ring.next_sequence:
        ring.skip_to(allocator.peek())
    return RestoredStream(ring, allocator, clean, skipped)


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
    event = Event(allocator.peek(), event_type, timestamp or utc_now_timestamp(), data)
    ring.append(event)
    allocator.next()
    return event
