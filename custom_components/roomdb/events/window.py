"""The numbered events kept for resending: a bounded window in sequence order (pure Python).

The window holds events and hands out the next number it accepts; it knows nothing of what the
peer has received (that is ``delivery``). Evicting returns the numbers it dropped, so the owner
can book them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from itertools import pairwise
from typing import Any, Final

from .event import Event, check_counter, check_sequence, is_int

DEFAULT_CAPACITY: Final = 200


def _check_capacity(capacity: object) -> int:
    if not is_int(capacity) or capacity < 1:
        raise ValueError(f"capacity must be a positive integer, got {capacity!r}")
    return capacity


class EventWindow:
    """The last ``capacity`` events in sequence order; ``get`` is O(1).

    ``append`` accepts only ``next_sequence`` (one more than the last number appended, or a number
    moved forward with ``skip_to``).
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        """Create an empty window that expects sequence number 1 first."""
        self._capacity = _check_capacity(capacity)
        self._events: deque[Event] = deque()
        self._index: dict[int, Event] = {}
        self._next = 1
        self._skipped = 0

    def __len__(self) -> int:
        """Return the number of buffered events."""
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        """Iterate the buffered events, oldest first."""
        return iter(self._events)

    def __reversed__(self) -> Iterator[Event]:
        """Iterate the buffered events, newest first."""
        return reversed(self._events)

    def __contains__(self, sequence_number: object) -> bool:
        """Return whether the event with this sequence number is buffered."""
        return sequence_number in self._index

    @property
    def capacity(self) -> int:
        """Return how many events the window holds at most."""
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
    def skipped(self) -> int:
        """Return how many sequence numbers ``skip_to`` jumped over (unclean restarts)."""
        return self._skipped

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

    def append(self, event: Event) -> list[int]:
        """Add ``event`` (numbered ``next_sequence``); return the numbers evicted to make room."""
        if not isinstance(event, Event):
            raise TypeError(f"expected Event, got {type(event).__name__}")
        if event.sequence_number != self._next:
            raise ValueError(
                f"sequence number {event.sequence_number} refused: expected {self._next}"
            )
        self._events.append(event)
        self._index[event.sequence_number] = event
        self._next = event.sequence_number + 1
        return self.resize(self._capacity)

    def resize(self, capacity: int) -> list[int]:
        """Change the capacity; return the numbers of the oldest events evicted, oldest first."""
        self._capacity = _check_capacity(capacity)
        evicted: list[int] = []
        while len(self._events) > self._capacity:
            seq = self._events.popleft().sequence_number
            del self._index[seq]
            evicted.append(seq)
        return evicted

    def skip_to(self, next_sequence: int) -> None:
        """Move ``next_sequence`` forward (after an unclean restart skipped reserved numbers)."""
        check_sequence(next_sequence, "next_sequence")
        if next_sequence < self._next:
            raise ValueError(f"cannot move next_sequence back from {self._next} to {next_sequence}")
        self._skipped += next_sequence - self._next
        self._next = next_sequence

    def to_dict(self) -> dict[str, Any]:
        """Return the window's part of the Store form (events as pre-encoded fragments)."""
        return {
            "capacity": self._capacity,
            "next_sequence": self._next,
            "skipped": self._skipped,
            "events": [event.stored for event in self._events],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, capacity: int | None = None) -> EventWindow:
        """Rebuild a window from ``to_dict`` output; raise ``ValueError`` when it is inconsistent.

        ``capacity`` (the configured size) overrides the stored one. Nothing is evicted yet: the
        owner calls ``resize`` once it can book what leaves.
        """
        window = cls(capacity if capacity is not None else raw.get("capacity", DEFAULT_CAPACITY))
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
        window._next = next_sequence
        window._skipped = check_counter(raw, "skipped")
        window._events.extend(events)
        window._index.update((event.sequence_number, event) for event in events)
        return window
