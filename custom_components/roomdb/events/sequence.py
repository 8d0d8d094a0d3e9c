"""Sequence numbers that are never reused, and the write-ahead rule that makes that true.

"Using" a number means letting it leave the process: POSTing the event to the ingest endpoint
(or anything else another party can store). Handing a number out in memory is not yet a use.

1. ``SequenceAllocator.next()`` hands out numbers in memory, consecutively and synchronously
   (no await, so ``@callback`` code can emit events).
2. Write-ahead: the sender may only POST events numbered ``<= high_water``, the highest number a
   document on disk covers. Before POSTing a batch whose last number is above it, the buffer calls
   ``mark = reserve()``, saves the stream document (which carries the mark), then
   ``confirm(mark)``: one write per send batch, never one per event.
3. Restore (``from_dict``): after a clean shutdown numbering resumes at ``last_used + 1``; after an
   unclean stop at ``max(last_used, high_water) + 1``.

So after SIGKILL or power loss no number that left the process is reused. Events numbered after
the last write and never sent die with the process; nobody outside saw their numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .event import MAX_SEQUENCE, is_int


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
