"""The event ring: capacity, eviction and the delivery bookkeeping (sent, acked, missing)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings, strategies as st
import orjson
import pytest

from custom_components.roomdb.events.delivery import MAX_RESEND_ATTEMPTS
from custom_components.roomdb.events.event import Event
from custom_components.roomdb.events.ring import EventRing

TS = "2026-01-02T03:04:05Z"


def ev(seq: int, **data: Any) -> Event:
    return Event(seq, "room_config_changed", TS, dict(data))


def filled(count: int, capacity: int = 200) -> EventRing:
    ring = EventRing(capacity)
    for seq in range(1, count + 1):
        ring.append(ev(seq, n=seq))
    return ring


def roundtrip(doc: dict[str, Any]) -> Any:
    """What an HA Store hands back: the document through HA's JSON encoder (orjson)."""
    return orjson.loads(orjson.dumps(doc))


def deliver(ring: EventRing, limit: int, gaps: list[int] | None = None) -> list[int]:
    """Send the next batch and book an ``ok`` answer with ``gaps``; return the batch numbers."""
    batch = ring.next_batch(limit)
    if batch:
        ring.mark_sent(batch)
        ring.record_stored(batch, gaps or [])
    return [event.sequence_number for event in batch]


def test_append_requires_consecutive_numbers() -> None:
    ring = EventRing(5)
    with pytest.raises(ValueError, match="expected 1"):
        ring.append(ev(2))
    ring.append(ev(1))
    for bad in (1, 3):
        with pytest.raises(ValueError, match="refused"):
            ring.append(ev(bad))
    ring.append(ev(2))
    assert [e.sequence_number for e in ring] == [1, 2]
    with pytest.raises(TypeError):
        ring.append({"sequence_number": 3})  # type: ignore[arg-type]


def test_get_oldest_newest_and_eviction() -> None:
    ring = filled(7, capacity=5)
    assert len(ring) == 5
    assert (ring.oldest, ring.newest, ring.next_sequence) == (3, 7, 8)
    assert ring.get(2) is None
    assert ring.get(3) == ev(3, n=3)
    assert 7 in ring
    assert 2 not in ring
    assert ring.overflowed == 2  # 1 and 2 were never acknowledged


def test_empty_ring() -> None:
    ring = EventRing()
    assert (ring.oldest, ring.newest, len(ring), ring.capacity) == (None, None, 0, 200)
    assert ring.next_batch(10) == []
    assert ring.stats()["pending"] == 0
    with pytest.raises(ValueError, match="never emitted"):
        ring.mark_sent([ev(1)])
    with pytest.raises(ValueError, match="capacity"):
        EventRing(0)


def test_ok_acks_a_batch_and_only_a_later_answer_confirms_it() -> None:
    ring = filled(10)
    assert deliver(ring, 3) == [1, 2, 3]
    assert (ring.last_sent, ring.last_acked, ring.last_confirmed) == (3, 3, 0)
    assert ring.pending_count() == 10  # 1..3 answered, not confirmed; 4..10 not sent
    batch = ring.next_batch(4)
    ring.mark_sent(batch)
    assert ring.last_acked == 3  # sent, not answered yet
    ring.record_stored(batch, [])
    assert (ring.last_acked, ring.last_confirmed) == (7, 3)
    assert [e.sequence_number for e in ring.next_batch(10)] == [8, 9, 10]
    ring.record_stored([ev(2, n=2)], [])  # a late duplicate answer changes nothing
    assert (ring.last_acked, ring.last_confirmed) == (7, 3)
    with pytest.raises(ValueError, match="not marked sent"):
        ring.record_stored(ring.next_batch(1), [])
    with pytest.raises(ValueError, match="needs the batch"):
        ring.record_stored([], [])


def test_heartbeats_confirm_what_precedes_them_and_need_no_confirmation() -> None:
    ring = filled(3)
    deliver(ring, 3)
    assert ring.needs_confirmation()
    ring.append(Event(4, "heartbeat", TS, {}))
    assert not ring.needs_confirmation()  # the heartbeat is not sent yet: sending comes first
    deliver(ring, 3)
    assert (ring.last_confirmed, ring.pending_count(), ring.needs_confirmation()) == (3, 0, False)


def test_an_unread_answer_makes_everything_unconfirmed_pending_again() -> None:
    ring = filled(10)
    deliver(ring, 4)
    deliver(ring, 4)  # confirms 1..4; 5..8 acked
    batch = ring.next_batch(2)
    ring.mark_sent(batch)
    ring.answer_lost()  # the POST of 9, 10 timed out: its answer may have reported 5..8
    assert (ring.last_acked, ring.last_confirmed) == (4, 4)
    assert [e.sequence_number for e in ring.next_batch(10)] == [5, 6, 7, 8, 9, 10]


def test_reported_gaps_stay_pending_until_a_resend_is_confirmed() -> None:
    ring = filled(10)
    deliver(ring, 10, gaps=[3, 4])
    assert ring.last_acked == 10
    assert ring.missing == [3, 4]
    assert ring.stats()["awaiting_resend"] == 2
    assert ring.disagreement() == []
    assert deliver(ring, 10, gaps=[4]) == [3, 4]  # the peer got 3, still misses 4
    assert (ring.missing, ring.resent) == ([4], 2)
    assert deliver(ring, 10) == [4]
    assert (ring.missing, ring.resent) == ([], 3)
    # The resends' answers confirm what lies below them (1..3); 4..10 wait for a later POST.
    assert (ring.last_confirmed, ring.pending_count()) == (3, 7)
    ring.append(Event(11, "heartbeat", TS, {}))
    deliver(ring, 10)
    assert (ring.last_confirmed, ring.pending_count()) == (10, 0)


def test_gaps_inside_an_acked_batch_are_resent_before_new_events() -> None:
    ring = filled(6)
    deliver(ring, 3, gaps=[2])
    assert [e.sequence_number for e in ring.next_batch(10)] == [2]
    deliver(ring, 10)
    assert [e.sequence_number for e in ring.next_batch(10)] == [4, 5, 6]


def test_gaps_for_numbers_never_sent_are_the_peers_error() -> None:
    ring = filled(10)
    batch = ring.next_batch(3)
    ring.mark_sent(batch)
    result = ring.record_stored(batch, [5, 6, 99])
    assert result.never_sent == [5, 6, 99]
    assert (result.resend, ring.missing, ring.last_acked) == ([], [], 3)
    assert [e.sequence_number for e in ring.next_batch(2)] == [4, 5]  # still in order


def test_gaps_evicted_or_resent_too_often_are_unrecoverable_and_counted_once() -> None:
    ring = filled(30, capacity=10)  # holds 21..30; 1..20 overflowed unsent
    assert deliver(ring, 10, gaps=[25, 3, 22, 3]) == list(range(21, 31))
    assert ring.missing == [22, 25]
    assert ring.unrecoverable == 1  # 3
    deliver(ring, 10, gaps=[3, 4, 22])
    assert ring.unrecoverable == 2  # 4 new, 3 counted once
    ring = filled(5)
    for _ in range(MAX_RESEND_ATTEMPTS):
        deliver(ring, 5, gaps=[2])
    assert ring.missing == [2]
    result = ring.record_stored(ring.next_batch(5), [2])
    assert (result.unrecoverable, ring.missing, ring.unrecoverable) == ([2], [], 1)
    assert ring.next_batch(5) == []


def test_a_missing_event_evicted_before_its_resend_is_unrecoverable() -> None:
    ring = filled(4, capacity=4)
    deliver(ring, 4, gaps=[1])
    ring.append(ev(5))
    assert (ring.missing, ring.unrecoverable, ring.overflowed) == ([], 1, 0)


def test_stats() -> None:
    ring = filled(6, capacity=4)
    batch = ring.next_batch(2)
    ring.mark_sent(ring.next_batch(3))
    ring.record_stored(batch, [3])
    assert ring.stats() == {
        "capacity": 4,
        "buffered": 4,
        "oldest": 3,
        "newest": 6,
        "next_sequence": 7,
        "last_sent": 5,
        "last_acked": 4,
        "last_confirmed": 0,
        "pending": 4,
        "awaiting_resend": 1,
        "overflowed": 2,
        "skipped": 0,
        "resent": 0,
        "unrecoverable": 0,
    }
    assert ring.last_report == [3]


def test_resize_shrinks_and_counts_overflow() -> None:
    ring = filled(10)
    deliver(ring, 5)
    ring.resize(3)
    assert (ring.oldest, ring.newest, ring.overflowed) == (8, 10, 2)
    ring.resize(50)
    assert ring.capacity == 50


def test_skip_to_moves_forward_only_and_acks_across_the_skip() -> None:
    ring = filled(3)
    deliver(ring, 3)
    ring.skip_to(10)
    assert (ring.next_sequence, ring.skipped) == (10, 6)
    with pytest.raises(ValueError, match="refused"):
        ring.append(ev(4))
    ring.append(ev(10))
    assert deliver(ring, 5) == [10]
    assert ring.last_acked == 10
    with pytest.raises(ValueError, match="back"):
        ring.skip_to(5)


def test_ring_persistence_roundtrip_keeps_the_bookkeeping() -> None:
    ring = filled(12, capacity=8)
    deliver(ring, 8, gaps=[1, 6])
    batch = ring.next_batch(8)
    ring.mark_sent(batch)
    restored = EventRing.from_dict(roundtrip(ring.to_dict()))
    assert list(restored) == list(ring)
    assert restored.stats() == ring.stats()
    assert (restored.missing, restored.last_report) == ([6], [1, 6])
    assert restored.next_batch(8) == batch
    restored.append(ev(13))
    smaller = EventRing.from_dict(roundtrip(ring.to_dict()), capacity=2)
    assert (smaller.oldest, smaller.newest) == (11, 12)
    assert (smaller.missing, smaller.unrecoverable) == ([], ring.unrecoverable + 1)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(events={}),
        lambda d: d["events"].reverse(),
        lambda d: d.update(next_sequence=3),
        lambda d: d.update(next_sequence="13"),
        lambda d: d.update(last_acked=50),
        lambda d: d.update(overflowed=-1),
        lambda d: d.update(capacity=0),
        lambda d: d["events"][0].update(timestamp="noon"),
        lambda d: d["events"][0].pop("data"),
        lambda d: d.update(unrecoverable_runs=[[3, 1]]),
        lambda d: d.update(unrecoverable_runs="1-3"),
        lambda d: d.update(missing=[[40, 40]]),
        lambda d: d.update(missing=[[2, 1]]),
        lambda d: d.update(last_report={}),
    ],
)
def test_ring_from_dict_rejects_inconsistent_documents(mutate: Any) -> None:
    ring = filled(12, capacity=8)
    deliver(ring, 8)
    doc = roundtrip(ring.to_dict())
    mutate(doc)
    with pytest.raises((ValueError, TypeError)):
        EventRing.from_dict(doc)


class _Peer:
    """Stores what arrives except what it is told to lose; reports gaps below its highest number."""

    def __init__(self) -> None:
        self.stored: set[int] = set()

    def answer(self, ring: EventRing, batch: list[Event], lose: set[int]) -> None:
        self.stored.update(e.sequence_number for e in batch if e.sequence_number not in lose)
        top = max(self.stored, default=0)
        ring.record_stored(batch, [seq for seq in range(1, top) if seq not in self.stored])


def _send(ring: EventRing, limit: int) -> list[Event]:
    batch = ring.next_batch(limit)
    if batch:
        ring.mark_sent(batch)
    return batch


@settings(max_examples=300, deadline=None)
@given(
    capacity=st.integers(1, 12),
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("emit"), st.integers(1, 4)),
            st.tuples(st.just("send"), st.integers(1, 5)),
            st.tuples(st.just("answer"), st.sets(st.integers(1, 40), max_size=4)),
            st.tuples(st.just("drop"), st.just(0)),
            st.tuples(st.just("reload"), st.just(0)),
        ),
        max_size=60,
    ),
)
def test_nothing_counts_as_delivered_that_the_peer_has_not_confirmed(
    capacity: int, steps: list[tuple[str, Any]]
) -> None:
    """A lossy peer, dropped connections and reloads at any point, then a healthy drain.

    While it runs, a buffered number counts as delivered only if the peer stored it or has not
    been able to notice its loss yet (nothing above it arrived). After the drain every buffered
    number is stored, and the peer's last report and the ring agree.
    """
    ring, peer = EventRing(capacity), _Peer()
    in_flight: list[Event] = []
    for op, arg in steps:
        if op == "emit":
            for _ in range(arg):
                ring.append(ev(ring.next_sequence))
        elif op == "send" and not in_flight:
            in_flight = _send(ring, arg)
        elif op == "answer" and in_flight:
            peer.answer(ring, in_flight, arg)
            in_flight = []
        elif op in {"drop", "reload"}:
            in_flight = []  # connection closed: nothing stored, nothing answered
            if op == "reload":
                ring = EventRing.from_dict(roundtrip(ring.to_dict()), capacity=capacity)
        top = max(peer.stored, default=0)
        for event in ring:
            seq = event.sequence_number
            if seq <= ring.last_acked and seq not in ring.missing and seq < top:
                assert seq in peer.stored, f"{seq} counts as delivered, the peer lacks it"
        assert ring.disagreement() == []
    for _ in range(10 * capacity + 20):  # healthy peer; a trailing event exposes a lost tail
        if not ring.next_batch(capacity):
            if ring.newest is None or ring.newest in peer.stored:
                break
            ring.append(ev(ring.next_sequence))
        peer.answer(ring, _send(ring, capacity), set())
    assert all(event.sequence_number in peer.stored for event in ring)
    assert ring.missing == []
    assert ring.disagreement() == []
