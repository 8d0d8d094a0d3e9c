"""The bounded ring of recent events and what the peer has confirmed of them (pure Python).

Delivery bookkeeping
====================
A peer may answer ``ok`` and still lose what it was sent, and it may report a loss only once, in
the answer to the POST that revealed it. So an ``ok`` alone is not delivery: a number counts as
delivered (*confirmed*) only once the answer to a *later* POST — one whose numbers are all higher —
was read and did not list it. Every figure below is persisted with the ring, so a reload or a
restart continues exactly where it stopped:

- ``last_sent``: the highest number that may have left the process (handed to the transport).
  Numbers above it were never sent, so a peer reporting them missing is wrong and is ignored.
- ``last_acked``: every number up to it was answered ``ok``, except those in ``missing``.
- ``last_confirmed`` (at most ``last_acked``): every number up to it is confirmed, except those in
  ``missing`` and in ``resent`` (resent after a report and answered ``ok``, awaiting confirmation
  like any other number).
- ``missing``: numbers the peer reported missing after they were sent; pending again and resent
  before new events.

A POST whose answer was never read (no answer, a timeout, an answer that is not the peer's, the
sender stopped while waiting) may have carried the only report of a loss, so everything acked but
unconfirmed becomes pending again: sent once more, at worst a duplicate the peer drops.

A buffered number reported missing more than ``MAX_RESEND_ATTEMPTS`` times, or evicted from the ring
before it was confirmed, is *unrecoverable*: counted once and never retried. ``last_report`` keeps
the peer's most recent gap report, so RoomDB's view and the peer's can be compared at any time.
Heartbeat events carry nothing and need no confirmation; they exist to confirm what precedes them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Final

from .event import HEARTBEAT_EVENT, Event, check_counter, check_sequence, is_int
from .runs import RunSet

DEFAULT_CAPACITY: Final = 200
MAX_RESEND_ATTEMPTS: Final = 10
"""How many times one buffered event is resent for gap reports before it is given up on."""
MAX_REMEMBERED_RUNS: Final = 1_000
"""How many runs of unrecoverable numbers are remembered, so that each is counted once."""


@dataclass(frozen=True, slots=True)
class GapResolution:
    """How one answer's gap report was sorted."""

    resend: list[int]
    """Sent, still buffered: pending again, resent before new events."""
    unrecoverable: list[int]
    """Newly given up on (evicted, or resent too often): counted once, never retried."""
    never_sent: list[int]
    """Above ``last_sent``: the peer reports numbers it cannot have missed; ignored."""


class EventRing:
    """The last ``capacity`` events in sequence order, with the delivery bookkeeping above.

    ``append`` accepts only ``next_sequence`` (one more than the last number appended, or a number
    moved forward with ``skip_to``). ``get`` is O(1).
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        """Create an empty ring that expects sequence number 1 first."""
        self._capacity = self._check_capacity(capacity)
        self._events: deque[Event] = deque()
        self._index: dict[int, Event] = {}
        self._next = 1
        self._last_sent = 0
        self._last_acked = 0
        self._last_confirmed = 0
        self._missing = RunSet()
        self._resent_unconfirmed = RunSet()
        self._last_report = RunSet()
        self._attempts: dict[int, int] = {}
        self._overflowed = 0
        self._skipped = 0
        self._resent = 0
        self._unrecoverable = 0
        self._unrecoverable_seen = RunSet(max_runs=MAX_REMEMBERED_RUNS)

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
        """Return the highest sequence number that may have left the process (0 = none)."""
        return self._last_sent

    @property
    def last_acked(self) -> int:
        """Return the highest number answered ``ok`` cumulatively; ``missing`` are exceptions."""
        return self._last_acked

    @property
    def last_confirmed(self) -> int:
        """Return the highest number up to which everything is confirmed (see the module doc)."""
        return self._last_confirmed

    @property
    def missing(self) -> list[int]:
        """Return the numbers reported missing and not confirmed since, ascending."""
        return list(self._missing)

    @property
    def last_report(self) -> list[int]:
        """Return the numbers the peer's most recent gap report listed, ascending."""
        return list(self._last_report)

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
        """Return how many events were sent again after a gap report and answered ``ok``."""
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

    def next_batch(self, limit: int) -> list[Event]:
        """Return what to send next: reported-missing events first, else the unacknowledged."""
        resend = [self._index[seq] for seq in self._missing if seq in self._index]
        if resend:
            return resend[:limit]
        return self.events_after(self._last_acked, limit)

    def _unconfirmed(self) -> set[int]:
        found = {seq for seq in self._missing if seq in self._index}
        found.update(seq for seq in self._resent_unconfirmed if seq in self._index)
        for event in reversed(self._events):
            if event.sequence_number <= self._last_confirmed:
                break
            if event.event_type != HEARTBEAT_EVENT:
                found.add(event.sequence_number)
        return found

    def pending_count(self) -> int:
        """Return how many buffered events (heartbeats aside) the peer has not confirmed."""
        return len(self._unconfirmed())

    def needs_send(self) -> bool:
        """Return whether something is reported missing or was never answered ``ok``."""
        newest = self.newest
        return bool(self._missing) or (newest is not None and newest > self._last_acked)

    def needs_confirmation(self) -> bool:
        """Return whether only a later POST can confirm something sent (the heartbeat's job)."""
        return bool(self._unconfirmed()) and not self.needs_send()

    def disagreement(self) -> list[int]:
        """Return numbers the peer last reported missing that this ring counts as delivered.

        Empty unless the bookkeeping is broken: every reported number is pending, given up on
        (unrecoverable) or was never sent.
        """
        return [
            seq
            for seq in self._last_report
            if seq <= self._last_confirmed
            and seq not in self._missing
            and seq not in self._resent_unconfirmed
            and seq not in self._unrecoverable_seen
        ]

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
            "last_confirmed": self._last_confirmed,
            "pending": self.pending_count(),
            "awaiting_resend": len(self._missing),
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
            seq = self._events.popleft().sequence_number
            del self._index[seq]
            self._attempts.pop(seq, None)
            self._resent_unconfirmed.discard(seq)
            if seq > self._last_acked:
                self._overflowed += 1
            elif seq in self._missing:
                self._missing.discard(seq)
                self._give_up(seq)

    def resize(self, capacity: int) -> None:
        """Change the capacity; shrinking evicts the oldest events (counted if unconfirmed)."""
        self._capacity = self._check_capacity(capacity)
        self._evict_to(self._capacity)

    def skip_to(self, next_sequence: int) -> None:
        """Move ``next_sequence`` forward (after an unclean restart skipped reserved numbers)."""
        check_sequence(next_sequence, "next_sequence")
        if next_sequence < self._next:
            raise ValueError(f"cannot move next_sequence back from {self._next} to {next_sequence}")
        self._skipped += next_sequence - self._next
        self._next = next_sequence

    def mark_sent(self, batch: Sequence[Event]) -> None:
        """Record that ``batch`` may leave the process (before its POST starts)."""
        if not batch:
            return
        up_to = batch[-1].sequence_number
        if up_to >= self._next:
            raise ValueError(f"mark_sent {up_to} was never emitted (next is {self._next})")
        self._last_sent = max(self._last_sent, up_to)

    def record_stored(self, batch: Sequence[Event], gaps: Iterable[int]) -> GapResolution:
        """Book a POST of ``batch`` that the peer answered ``ok``, with the gaps it reported.

        The answer confirms what was acked before the batch's lowest number and is not listed.
        Batch numbers it does not list are acked (a batch of exactly the buffered events after
        ``last_acked`` moves that forward; resent ones wait for confirmation). Then the gaps are
        sorted into resend, unrecoverable and never sent; the answer becomes ``last_report``.
        """
        reported = RunSet(seq for seq in gaps if is_int(seq) and seq >= 1)
        numbers = [event.sequence_number for event in batch]
        if not numbers:
            raise ValueError("record_stored needs the batch that was sent")
        if any(seq > self._last_sent for seq in numbers):
            raise ValueError("record_stored for numbers that were not marked sent")
        lowest = min(numbers)
        for seq in [seq for seq in self._resent_unconfirmed if seq < lowest]:
            if seq not in reported:
                self._resent_unconfirmed.discard(seq)
        self._last_confirmed = max(self._last_confirmed, min(lowest - 1, self._last_acked))
        for seq in numbers:
            if seq in self._missing:
                self._resent += 1
                if seq not in reported:
                    self._missing.discard(seq)
                    self._resent_unconfirmed.add(seq)
        following = self.events_after(self._last_acked, len(numbers))
        if [event.sequence_number for event in following] == numbers:
            self._last_acked = numbers[-1]
        self._last_report = reported
        return self._sort_gaps(reported)

    def answer_lost(self) -> None:
        """A POST's answer was never read: what is acked but unconfirmed is pending again.

        Numbers above the new ``last_acked`` go out again in order with the rest, so they leave
        ``missing``; resent numbers below it need their resend again.
        """
        self._last_acked = self._last_confirmed
        for seq in self._resent_unconfirmed:
            self._missing.add(seq)
        self._resent_unconfirmed = RunSet()
        for seq in [seq for seq in self._missing if seq > self._last_acked]:
            self._missing.discard(seq)

    def _sort_gaps(self, reported: RunSet) -> GapResolution:
        resend: list[int] = []
        unrecoverable: list[int] = []
        never_sent: list[int] = []
        for seq in reported:
            if seq > self._last_sent:
                never_sent.append(seq)
            elif seq > self._last_acked or seq in self._unrecoverable_seen:
                continue  # already pending (sent, not yet answered), or given up on before
            elif seq in self._index and self._attempts.get(seq, 0) < MAX_RESEND_ATTEMPTS:
                self._attempts[seq] = self._attempts.get(seq, 0) + 1
                self._resent_unconfirmed.discard(seq)
                self._missing.add(seq)
                resend.append(seq)
            else:
                self._missing.discard(seq)
                self._resent_unconfirmed.discard(seq)
                self._give_up(seq)
                unrecoverable.append(seq)
        return GapResolution(resend, unrecoverable, never_sent)

    def _give_up(self, seq: int) -> None:
        self._attempts.pop(seq, None)
        if seq not in self._unrecoverable_seen:
            self._unrecoverable_seen.add(seq)
            self._unrecoverable += 1

    # -- persistence ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-able Store form (events as pre-encoded fragments)."""
        return {
            "capacity": self._capacity,
            "next_sequence": self._next,
            "last_sent": self._last_sent,
            "last_acked": self._last_acked,
            "last_confirmed": self._last_confirmed,
            "missing": self._missing.to_list(),
            "resent_unconfirmed": self._resent_unconfirmed.to_list(),
            "last_report": self._last_report.to_list(),
            "overflowed": self._overflowed,
            "skipped": self._skipped,
            "resent": self._resent,
            "unrecoverable": self._unrecoverable,
            "unrecoverable_runs": self._unrecoverable_seen.to_list(),
            "events": [event.stored for event in self._events],
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
        next_sequence = check_sequence(raw.get("next_sequence", next_default), "next_sequence")
        if events and events[-1].sequence_number >= next_sequence:
            raise ValueError("ring holds an event at or above next_sequence")
        ring._next = next_sequence
        ring._last_sent = check_counter(raw, "last_sent")
        ring._last_acked = check_counter(raw, "last_acked")
        if max(ring._last_sent, ring._last_acked) >= next_sequence:
            raise ValueError("last_sent/last_acked lie beyond next_sequence")
        ring._last_sent = max(ring._last_sent, ring._last_acked)
        # A document without it predates confirmation: everything buffered is sent once more.
        ring._last_confirmed = check_counter(raw, "last_confirmed")
        if ring._last_confirmed > ring._last_acked:
            raise ValueError("last_confirmed lies beyond last_acked")
        ring._missing = RunSet.from_list(raw.get("missing", []))
        ring._resent_unconfirmed = RunSet.from_list(raw.get("resent_unconfirmed", []))
        if any(seq > ring._last_acked for seq in (*ring._missing, *ring._resent_unconfirmed)):
            raise ValueError("missing numbers lie beyond last_acked")
        if "last_confirmed" not in raw:
            ring._last_acked = 0
        ring._last_report = RunSet.from_list(raw.get("last_report", []))
        ring._overflowed = check_counter(raw, "overflowed")
        ring._skipped = check_counter(raw, "skipped")
        ring._resent = check_counter(raw, "resent")
        ring._unrecoverable = check_counter(raw, "unrecoverable")
        ring._unrecoverable_seen = RunSet.from_list(
            raw.get("unrecoverable_runs", []), max_runs=MAX_REMEMBERED_RUNS
        )
        ring._events.extend(events)
        ring._index.update((event.sequence_number, event) for event in events)
        ring._evict_to(ring._capacity)
        for seq in list(ring._missing):
            if seq not in ring._index:
                ring._missing.discard(seq)
                ring._give_up(seq)
        return ring
