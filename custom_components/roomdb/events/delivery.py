"""What the peer has confirmed of the numbered events sent to it (pure Python).

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

A buffered number reported missing more than ``MAX_RESEND_ATTEMPTS`` times, or evicted from the
window before it was confirmed, is *unrecoverable*: counted once and never retried.
``last_report`` keeps the peer's most recent gap report, so RoomDB's view and the peer's can be
compared at any time. Heartbeat events carry nothing and need no confirmation; they exist to
confirm what precedes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .event import HEARTBEAT_EVENT, Event, check_counter, is_int
from .runs import RunSet
from .window import EventWindow

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


class Delivery:
    """The delivery bookkeeping above, for the events of one window."""

    def __init__(self, window: EventWindow) -> None:
        """Start with nothing sent."""
        self._window = window
        self.last_sent = 0
        self.last_acked = 0
        self.last_confirmed = 0
        self.missing = RunSet()
        self.resent_unconfirmed = RunSet()
        self.last_report = RunSet()
        self._attempts: dict[int, int] = {}
        self.overflowed = 0
        self.resent = 0
        self.unrecoverable = 0
        self._unrecoverable_seen = RunSet(max_runs=MAX_REMEMBERED_RUNS)

    # -- reading -------------------------------------------------------------------------------

    def next_batch(self, limit: int) -> list[Event]:
        """Return what to send next: reported-missing events first, else the unacknowledged."""
        resend = [event for seq in self.missing if (event := self._window.get(seq)) is not None]
        if resend:
            return resend[:limit]
        return self._window.events_after(self.last_acked, limit)

    def _unconfirmed(self) -> set[int]:
        found = {seq for seq in self.missing if seq in self._window}
        found.update(seq for seq in self.resent_unconfirmed if seq in self._window)
        for event in reversed(self._window):
            if event.sequence_number <= self.last_confirmed:
                break
            if event.event_type != HEARTBEAT_EVENT:
                found.add(event.sequence_number)
        return found

    def pending_count(self) -> int:
        """Return how many buffered events (heartbeats aside) the peer has not confirmed."""
        return len(self._unconfirmed())

    def needs_send(self) -> bool:
        """Return whether something is reported missing or was never answered ``ok``."""
        newest = self._window.newest
        return bool(self.missing) or (newest is not None and newest > self.last_acked)

    def needs_confirmation(self) -> bool:
        """Return whether only a later POST can confirm something sent (the heartbeat's job)."""
        return bool(self._unconfirmed()) and not self.needs_send()

    def disagreement(self) -> list[int]:
        """Return numbers the peer last reported missing that this side counts as delivered.

        Empty unless the bookkeeping is broken: every reported number is pending, given up on
        (unrecoverable) or was never sent.
        """
        return [
            seq
            for seq in self.last_report
            if seq <= self.last_confirmed
            and seq not in self.missing
            and seq not in self.resent_unconfirmed
            and seq not in self._unrecoverable_seen
        ]

    # -- writing -------------------------------------------------------------------------------

    def evicted(self, seq: int) -> None:
        """Book a number the window dropped: overflowed if never acked, given up on if missing."""
        self._attempts.pop(seq, None)
        self.resent_unconfirmed.discard(seq)
        if seq > self.last_acked:
            self.overflowed += 1
        elif seq in self.missing:
            self.missing.discard(seq)
            self._give_up(seq)

    def mark_sent(self, batch: Sequence[Event]) -> None:
        """Record that ``batch`` may leave the process (before its POST starts)."""
        if not batch:
            return
        up_to = batch[-1].sequence_number
        if up_to >= self._window.next_sequence:
            raise ValueError(
                f"mark_sent {up_to} was never emitted (next is {self._window.next_sequence})"
            )
        self.last_sent = max(self.last_sent, up_to)

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
        if any(seq > self.last_sent for seq in numbers):
            raise ValueError("record_stored for numbers that were not marked sent")
        lowest = min(numbers)
        for seq in [seq for seq in self.resent_unconfirmed if seq < lowest]:
            if seq not in reported:
                self.resent_unconfirmed.discard(seq)
        self.last_confirmed = max(self.last_confirmed, min(lowest - 1, self.last_acked))
        for seq in numbers:
            if seq in self.missing:
                self.resent += 1
                if seq not in reported:
                    self.missing.discard(seq)
                    self.resent_unconfirmed.add(seq)
        following = self._window.events_after(self.last_acked, len(numbers))
        if [event.sequence_number for event in following] == numbers:
            self.last_acked = numbers[-1]
        self.last_report = reported
        return self._sort_gaps(reported)

    def answer_lost(self) -> None:
        """A POST's answer was never read: what is acked but unconfirmed is pending again.

        Numbers above the new ``last_acked`` go out again in order with the rest, so they leave
        ``missing``; resent numbers below it need their resend again.
        """
        self.last_acked = self.last_confirmed
        for seq in self.resent_unconfirmed:
            self.missing.add(seq)
        self.resent_unconfirmed = RunSet()
        for seq in [seq for seq in self.missing if seq > self.last_acked]:
            self.missing.discard(seq)

    def _sort_gaps(self, reported: RunSet) -> GapResolution:
        resend: list[int] = []
        unrecoverable: list[int] = []
        never_sent: list[int] = []
        for seq in reported:
            if seq > self.last_sent:
                never_sent.append(seq)
            elif seq > self.last_acked or seq in self._unrecoverable_seen:
                continue  # already pending (sent, not yet answered), or given up on before
            elif seq in self._window and self._attempts.get(seq, 0) < MAX_RESEND_ATTEMPTS:
                self._attempts[seq] = self._attempts.get(seq, 0) + 1
                self.resent_unconfirmed.discard(seq)
                self.missing.add(seq)
                resend.append(seq)
            else:
                self.missing.discard(seq)
                self.resent_unconfirmed.discard(seq)
                self._give_up(seq)
                unrecoverable.append(seq)
        return GapResolution(resend, unrecoverable, never_sent)

    def _give_up(self, seq: int) -> None:
        self._attempts.pop(seq, None)
        if seq not in self._unrecoverable_seen:
            self._unrecoverable_seen.add(seq)
            self.unrecoverable += 1

    def forget_unbuffered_missing(self) -> None:
        """Give up on reported-missing numbers the window no longer holds (after a restore)."""
        for seq in list(self.missing):
            if seq not in self._window:
                self.missing.discard(seq)
                self._give_up(seq)

    # -- persistence ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the bookkeeping's part of the Store form."""
        return {
            "last_sent": self.last_sent,
            "last_acked": self.last_acked,
            "last_confirmed": self.last_confirmed,
            "missing": self.missing.to_list(),
            "resent_unconfirmed": self.resent_unconfirmed.to_list(),
            "last_report": self.last_report.to_list(),
            "overflowed": self.overflowed,
            "resent": self.resent,
            "unrecoverable": self.unrecoverable,
            "unrecoverable_runs": self._unrecoverable_seen.to_list(),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], window: EventWindow) -> Delivery:
        """Rebuild the bookkeeping for ``window``; raise ``ValueError`` when it is inconsistent."""
        delivery = cls(window)
        delivery.last_sent = check_counter(raw, "last_sent")
        delivery.last_acked = check_counter(raw, "last_acked")
        if max(delivery.last_sent, delivery.last_acked) >= window.next_sequence:
            raise ValueError("last_sent/last_acked lie beyond next_sequence")
        delivery.last_sent = max(delivery.last_sent, delivery.last_acked)
        # A document without it predates confirmation: everything buffered is sent once more.
        delivery.last_confirmed = check_counter(raw, "last_confirmed")
        if delivery.last_confirmed > delivery.last_acked:
            raise ValueError("last_confirmed lies beyond last_acked")
        delivery.missing = RunSet.from_list(raw.get("missing", []))
        delivery.resent_unconfirmed = RunSet.from_list(raw.get("resent_unconfirmed", []))
        pending = (*delivery.missing, *delivery.resent_unconfirmed)
        if any(seq > delivery.last_acked for seq in pending):
            raise ValueError("missing numbers lie beyond last_acked")
        if "last_confirmed" not in raw:
            delivery.last_acked = 0
        delivery.last_report = RunSet.from_list(raw.get("last_report", []))
        delivery.overflowed = check_counter(raw, "overflowed")
        delivery.resent = check_counter(raw, "resent")
        delivery.unrecoverable = check_counter(raw, "unrecoverable")
        delivery._unrecoverable_seen = RunSet.from_list(
            raw.get("unrecoverable_runs", []), max_runs=MAX_REMEMBERED_RUNS
        )
        return delivery
