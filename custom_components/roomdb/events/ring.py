"""The ring of recent events with what the peer has confirmed of them, saved as one (pure Python).

``window`` holds the numbered events, ``delivery`` the bookkeeping of what the peer confirmed; this
module puts them together, so every eviction is booked, and gives the stream one object to send
from, report and save.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from .delivery import Delivery, GapResolution
from .event import Event
from .window import DEFAULT_CAPACITY, EventWindow


class EventRing:
    """The last ``capacity`` events in sequence order, with the delivery bookkeeping.

    ``append`` accepts only ``next_sequence`` (one more than the last number appended, or a number
    moved forward with ``skip_to``). ``get`` is O(1).
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        """Create an empty ring that expects sequence number 1 first."""
        self._window = EventWindow(capacity)
        self._delivery = Delivery(self._window)

    # -- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        """Return the number of buffered events."""
        return len(self._window)

    def __iter__(self) -> Iterator[Event]:
        """Iterate the buffered events, oldest first."""
        return iter(self._window)

    def __contains__(self, sequence_number: object) -> bool:
        """Return whether the event with this sequence number is buffered."""
        return sequence_number in self._window

    @property
    def capacity(self) -> int:
        """Return how many events the ring holds at most."""
        return self._window.capacity

    @property
    def oldest(self) -> int | None:
        """Return the oldest buffered sequence number, or None when empty."""
        return self._window.oldest

    @property
    def newest(self) -> int | None:
        """Return the newest buffered sequence number, or None when empty."""
        return self._window.newest

    @property
    def next_sequence(self) -> int:
        """Return the only sequence number ``append`` accepts next."""
        return self._window.next_sequence

    @property
    def last_sent(self) -> int:
        """Return the highest sequence number that may have left the process (0 = none)."""
        return self._delivery.last_sent

    @property
    def last_acked(self) -> int:
        """Return the highest number answered ``ok`` cumulatively; ``missing`` are exceptions."""
        return self._delivery.last_acked

    @property
    def last_confirmed(self) -> int:
        """Return the highest number up to which everything is confirmed (see ``delivery``)."""
        return self._delivery.last_confirmed

    @property
    def missing(self) -> list[int]:
        """Return the numbers reported missing and not confirmed since, ascending."""
        return list(self._delivery.missing)

    @property
    def last_report(self) -> list[int]:
        """Return the numbers the peer's most recent gap report listed, ascending."""
        return list(self._delivery.last_report)

    @property
    def overflowed(self) -> int:
        """Return how many never-acknowledged events the capacity evicted."""
        return self._delivery.overflowed

    @property
    def skipped(self) -> int:
        """Return how many sequence numbers ``skip_to`` jumped over (unclean restarts)."""
        return self._window.skipped

    @property
    def resent(self) -> int:
        """Return how many events were sent again after a gap report and answered ``ok``."""
        return self._delivery.resent

    @property
    def unrecoverable(self) -> int:
        """Return how many reported gaps could not be recovered (each number counted once)."""
        return self._delivery.unrecoverable

    def get(self, sequence_number: int) -> Event | None:
        """Return the buffered event with this sequence number, or None."""
        return self._window.get(sequence_number)

    def events_after(self, after: int, limit: int | None = None) -> list[Event]:
        """Return the buffered events numbered above ``after``, oldest first, at most ``limit``."""
        return self._window.events_after(after, limit)

    def next_batch(self, limit: int) -> list[Event]:
        """Return what to send next: reported-missing events first, else the unacknowledged."""
        return self._delivery.next_batch(limit)

    def pending_count(self) -> int:
        """Return how many buffered events (heartbeats aside) the peer has not confirmed."""
        return self._delivery.pending_count()

    def needs_send(self) -> bool:
        """Return whether something is reported missing or was never answered ``ok``."""
        return self._delivery.needs_send()

    def needs_confirmation(self) -> bool:
        """Return whether only a later POST can confirm something sent (the heartbeat's job)."""
        return self._delivery.needs_confirmation()

    def disagreement(self) -> list[int]:
        """Return numbers the peer last reported missing that this ring counts as delivered."""
        return self._delivery.disagreement()

    def stats(self) -> dict[str, int | None]:
        """Return the figures the diagnostic sensors and ``flush_events`` show."""
        delivery = self._delivery
        return {
            "capacity": self.capacity,
            "buffered": len(self._window),
            "oldest": self.oldest,
            "newest": self.newest,
            "next_sequence": self.next_sequence,
            "last_sent": delivery.last_sent,
            "last_acked": delivery.last_acked,
            "last_confirmed": delivery.last_confirmed,
            "pending": delivery.pending_count(),
            "awaiting_resend": len(delivery.missing),
            "overflowed": delivery.overflowed,
            "skipped": self.skipped,
            "resent": delivery.resent,
            "unrecoverable": delivery.unrecoverable,
        }

    # -- writing -------------------------------------------------------------------------------

    def _book(self, evicted: list[int]) -> None:
        for seq in evicted:
            self._delivery.evicted(seq)

    def append(self, event: Event) -> None:
        """Add ``event``; its number must be ``next_sequence``. Evict the oldest when full."""
        self._book(self._window.append(event))

    def resize(self, capacity: int) -> None:
        """Change the capacity; shrinking evicts the oldest events (counted if unconfirmed)."""
        self._book(self._window.resize(capacity))

    def skip_to(self, next_sequence: int) -> None:
        """Move ``next_sequence`` forward (after an unclean restart skipped reserved numbers)."""
        self._window.skip_to(next_sequence)

    def mark_sent(self, batch: Sequence[Event]) -> None:
        """Record that ``batch`` may leave the process (before its POST starts)."""
        self._delivery.mark_sent(batch)

    def record_stored(self, batch: Sequence[Event], gaps: Iterable[int]) -> GapResolution:
        """Book a POST of ``batch`` that the peer answered ``ok``, with the gaps it reported."""
        return self._delivery.record_stored(batch, gaps)

    def answer_lost(self) -> None:
        """A POST's answer was never read: what is acked but unconfirmed is pending again."""
        self._delivery.answer_lost()

    # -- persistence ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-able Store form (events as pre-encoded fragments)."""
        return {**self._delivery.to_dict(), **self._window.to_dict()}

    @classmethod
    def from_dict(cls, raw: object, *, capacity: int | None = None) -> EventRing:
        """Rebuild a ring from ``to_dict`` output; raise ``ValueError`` when it is inconsistent.

        ``capacity`` (the configured size) overrides the stored one; shrinking evicts the oldest.
        """
        if not isinstance(raw, Mapping):
            raise TypeError(f"ring must be an object, got {type(raw).__name__}")
        window = EventWindow.from_dict(raw, capacity=capacity)
        ring = cls(window.capacity)
        ring._window = window
        ring._delivery = Delivery.from_dict(raw, window)
        ring.resize(ring.capacity)
        ring._delivery.forget_unbuffered_missing()
        return ring
