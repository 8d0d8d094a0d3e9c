"""Tests for the event ring, the sequence allocator and the stream document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
import json
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.roomdb.events.ring import (
    MAX_RESEND_ATTEMPTS,
    Event,
    EventRing,
    SequenceAllocator,
    dump_stream,
    emit_event,
    format_timestamp,
    load_stream,
    validate_timestamp,
)

TS = "2026-01-02T03:04:05Z"


def ev(seq: int, event_type: str = "room_config_changed", **data: Any) -> Event:
    return Event(seq, event_type, TS, dict(data))


def filled(count: int, capacity: int = 200) -> EventRing:
    ring = EventRing(capacity)
    for seq in range(1, count + 1):
        ring.append(ev(seq, n=seq))
    return ring


def roundtrip(doc: dict[str, Any]) -> Any:
    """What an HA Store hands back: the document through JSON."""
    return json.loads(json.dumps(doc))


# -- Event -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stamp", ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.123456+00:00"])
def test_event_accepts_utc_timestamps(stamp: str) -> None:
    assert Event(1, "x", stamp, {}).timestamp == stamp


@pytest.mark.parametrize(
    "stamp",
    ["2026-01-02T03:04:05", "2026-01-02T03:04:05+01:00", "2026-01-02", "yesterday", "", 17],
)
def test_event_rejects_non_utc_timestamps(stamp: Any) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        Event(1, "x", stamp, {})


@pytest.mark.parametrize(
    ("seq", "event_type", "data", "error"),
    [
        (0, "x", {}, ValueError),
        (-1, "x", {}, ValueError),
        (True, "x", {}, ValueError),
        (1.0, "x", {}, ValueError),
        (2**63, "x", {}, ValueError),
        (1, "", {}, ValueError),
        (1, None, {}, ValueError),
        (1, "x", [], TypeError),
    ],
)
def test_event_rejects_bad_fields(seq: Any, event_type: Any, data: Any, error: type) -> None:
    with pytest.raises(error):
        Event(seq, event_type, TS, data)


def test_event_roundtrip_and_hashable() -> None:
    event = ev(7, a=1)
    assert Event.from_dict(roundtrip(event.to_dict())) == event
    assert hash(event) == hash(ev(7, a=2))  # data is not hashed, equality still compares it
    assert event != ev(7, a=2)
    with pytest.raises(ValueError, match="lacks"):
        Event.from_dict({"sequence_number": 1})


def test_format_timestamp() -> None:
    moment = datetime(2026, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    assert format_timestamp(moment) == TS
    assert validate_timestamp(format_timestamp(datetime.now(UTC)))
    with pytest.raises(ValueError, match="aware"):
        format_timestamp(datetime(2026, 1, 1))  # noqa: DTZ001


# -- EventRing ---------------------------------------------------------------------------------


def test_append_requires_consecutive_numbers() -> None:
    ring = EventRing(5)
    with pytest.raises(ValueError, match="expected 1"):
        ring.append(ev(2))
    ring.append(ev(1))
    for bad in (1, 3, 0):
        with pytest.raises(ValueError, match="refused"):
            ring.append(Event(bad, "x", TS) if bad else ev(1))
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
    assert ring.pending() == []
    assert ring.stats()["pending"] == 0
    with pytest.raises(ValueError, match="never emitted"):
        ring.acknowledge(1)
    ring.acknowledge(0)
    with pytest.raises(ValueError, match="capacity"):
        EventRing(0)


def test_overflow_counts_only_unacknowledged_evictions() -> None:
    ring = filled(4, capacity=4)
    ring.acknowledge(3)
    for seq in range(5, 10):
        ring.append(ev(seq))
    # evicted 1..5: 1-3 were acknowledged, 4 and 5 were not
    assert ring.overflowed == 2
    assert ring.oldest == 6


def test_pending_unsent_and_acknowledge() -> None:
    ring = filled(10)
    assert [e.sequence_number for e in ring.pending(limit=3)] == [1, 2, 3]
    ring.mark_sent(3)
    assert [e.sequence_number for e in ring.unsent(limit=2)] == [4, 5]
    assert len(ring.pending()) == 10
    ring.acknowledge(6)
    assert (ring.last_sent, ring.last_acked) == (6, 6)
    assert [e.sequence_number for e in ring.pending()] == [7, 8, 9, 10]
    ring.acknowledge(2)  # never moves back
    assert ring.last_acked == 6
    assert ring.events_after(8) == [ev(9, n=9), ev(10, n=10)]
    assert ring.events_after(10) == []
    assert ring.events_after(0, limit=0) == []
    with pytest.raises(ValueError, match="never emitted"):
        ring.mark_sent(11)
    with pytest.raises(ValueError, match="non-negative"):
        ring.acknowledge(-1)


def test_stats() -> None:
    ring = filled(6, capacity=4)
    ring.mark_sent(5)
    ring.acknowledge(4)
    assert ring.stats() == {
        "capacity": 4,
        "buffered": 4,
        "oldest": 3,
        "newest": 6,
        "next_sequence": 7,
        "last_sent": 5,
        "last_acked": 4,
        "pending": 2,
        "overflowed": 2,
        "skipped": 0,
        "resent": 0,
        "unrecoverable": 0,
    }


def test_resize_shrinks_and_counts_overflow() -> None:
    ring = filled(10)
    ring.acknowledge(5)
    ring.resize(3)
    assert (ring.oldest, ring.newest, ring.overflowed) == (8, 10, 2)
    ring.resize(50)
    assert ring.capacity == 50


def test_skip_to_moves_forward_only() -> None:
    ring = filled(3)
    ring.skip_to(10)
    assert (ring.next_sequence, ring.skipped) == (10, 6)
    with pytest.raises(ValueError, match="refused"):
        ring.append(ev(4))
    ring.append(ev(10))
    assert ring.get(10) is not None
    with pytest.raises(ValueError, match="back"):
        ring.skip_to(5)


def test_resolve_gaps_sorts_resend_unrecoverable_unknown() -> None:
    ring = filled(30, capacity=10)  # holds 21..30
    ring.acknowledge(30)
    result = ring.resolve_gaps([25, 3, 22, 99, 3, 22])
    assert [e.sequence_number for e in result.resend] == [22, 25]
    assert result.unrecoverable == [3]
    assert result.unknown == [99]
    assert (ring.resent, ring.unrecoverable) == (2, 1)
    again = ring.resolve_gaps([3, 4, 22])
    assert again.already_unrecoverable == [3]  # counted once, never retried
    assert again.unrecoverable == [4]
    assert [e.sequence_number for e in again.resend] == [22]
    assert ring.unrecoverable == 2


def test_resend_attempts_are_bounded() -> None:
    ring = filled(5)
    for _ in range(MAX_RESEND_ATTEMPTS):
        assert [e.sequence_number for e in ring.resolve_gaps([2]).resend] == [2]
    final = ring.resolve_gaps([2])
    assert final.resend == []
    assert final.unrecoverable == [2]
    assert ring.resolve_gaps([2]).already_unrecoverable == [2]


def test_unrecoverable_memory_survives_persistence() -> None:
    ring = filled(20, capacity=5)
    ring.resolve_gaps([1, 2, 3, 5, 9])
    restored = EventRing.from_dict(roundtrip(ring.to_dict()))
    assert restored.to_dict()["unrecoverable_runs"] == [[1, 3], [5, 5], [9, 9]]
    result = restored.resolve_gaps([1, 2, 3, 4, 5, 9])
    assert result.already_unrecoverable == [1, 2, 3, 5, 9]
    assert result.unrecoverable == [4]
    assert restored.to_dict()["unrecoverable_runs"] == [[1, 5], [9, 9]]
    assert restored.unrecoverable == 6


def test_ring_persistence_roundtrip() -> None:
    ring = filled(12, capacity=8)
    ring.mark_sent(11)
    ring.acknowledge(9)
    ring.resolve_gaps([6, 10])
    restored = EventRing.from_dict(roundtrip(ring.to_dict()))
    assert list(restored) == list(ring)
    assert restored.stats() == ring.stats()
    assert restored.get(10) == ring.get(10)
    restored.append(ev(13))
    smaller = EventRing.from_dict(roundtrip(ring.to_dict()), capacity=2)
    assert (smaller.oldest, smaller.newest, smaller.overflowed) == (11, 12, ring.overflowed + 1)


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
        lambda d: d.update(unrecoverable_runs=[[1, 4], [3, 6]]),
        lambda d: d.update(unrecoverable_runs="1-3"),
    ],
)
def test_ring_from_dict_rejects_inconsistent_documents(mutate: Any) -> None:
    doc = roundtrip(filled(12, capacity=8).to_dict())
    mutate(doc)
    with pytest.raises((ValueError, TypeError)):
        EventRing.from_dict(doc)


# -- SequenceAllocator -------------------------------------------------------------------------


def test_allocator_hands_out_consecutive_numbers() -> None:
    allocator = SequenceAllocator()
    assert allocator.peek() == 1
    assert [allocator.next() for _ in range(3)] == [1, 2, 3]
    assert allocator.last_used == 3


def test_write_ahead_reservation_gates_sending() -> None:
    allocator = SequenceAllocator()
    for _ in range(3):
        allocator.next()
    assert allocator.needs_reservation()
    assert allocator.sendable_up_to == 0
    mark = allocator.reserve()
    assert mark == 3
    assert allocator.to_dict()["high_water"] == 3  # the save about to happen carries it
    assert allocator.needs_reservation()  # not confirmed yet
    allocator.confirm(mark)
    assert not allocator.needs_reservation()
    assert allocator.sendable_up_to == 3
    allocator.next()
    assert allocator.needs_reservation(4)
    assert not allocator.needs_reservation(3)
    with pytest.raises(ValueError, match="cannot reserve"):
        allocator.reserve(5)
    with pytest.raises(ValueError, match="block_size"):
        allocator.reserve(block_size=-1)


def test_confirm_never_exceeds_reservation() -> None:
    allocator = SequenceAllocator(last_used=5)
    allocator.confirm(100)
    assert allocator.high_water == 5


def test_block_reservation() -> None:
    allocator = SequenceAllocator()
    allocator.next()
    mark = allocator.reserve(block_size=100)
    allocator.confirm(mark)
    assert mark == 101
    for _ in range(100):
        allocator.next()
    assert not allocator.needs_reservation()
    allocator.next()
    assert allocator.needs_reservation()


def test_clean_shutdown_resumes_exactly() -> None:
    allocator = SequenceAllocator()
    allocator.next()
    allocator.confirm(allocator.reserve(block_size=50))
    allocator.next()
    doc = roundtrip(allocator.to_dict(clean=True))
    assert doc == {"last_used": 2, "high_water": 2, "clean": True}
    restored, skipped = SequenceAllocator.from_dict(doc)
    assert restored.peek() == 3
    assert list(skipped) == []
    # after the clean write the in-memory reservation is void: sending 3 needs a new write
    allocator.next()
    assert allocator.needs_reservation()


def test_unclean_stop_resumes_above_high_water() -> None:
    allocator = SequenceAllocator()
    allocator.next()
    allocator.confirm(allocator.reserve(block_size=9))
    doc = roundtrip(allocator.to_dict())
    restored, skipped = SequenceAllocator.from_dict(doc)
    assert restored.peek() == 11
    assert list(skipped) == list(range(2, 11))


@pytest.mark.parametrize(
    "doc",
    [
        None,
        [],
        {},
        {"last_used": "3", "high_water": 3, "clean": False},
        {"last_used": -1, "high_water": 3, "clean": False},
        {"last_used": 3, "high_water": True, "clean": False},
        {"last_used": 3, "high_water": 3, "clean": "yes"},
    ],
)
def test_allocator_from_dict_rejects_garbage(doc: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        SequenceAllocator.from_dict(doc)


# -- stream document (ring + allocator in one Store) ---------------------------------------------


def test_emit_event_numbers_and_buffers_without_holes_on_bad_input() -> None:
    restored = load_stream(None, capacity=10)
    ring, allocator = restored.ring, restored.allocator
    first = emit_event(ring, allocator, "alarm_changed", {"state": "armed_away"})
    assert first.sequence_number == 1
    assert validate_timestamp(first.timestamp)
    with pytest.raises(ValueError, match="event_type"):
        emit_event(ring, allocator, "", {})
    with pytest.raises(ValueError, match="timestamp"):
        emit_event(ring, allocator, "x", {}, timestamp="2026-01-01T00:00:00+02:00")
    second = emit_event(ring, allocator, "x", {}, timestamp=TS)
    assert second.sequence_number == 2  # the failures consumed no number
    assert ring.newest == allocator.last_used == 2


def test_graceful_restart_continues_without_reuse_or_holes() -> None:
    stream = load_stream(None)
    for _ in range(5):
        emit_event(stream.ring, stream.allocator, "x", {})
    stream.allocator.confirm(stream.allocator.reserve())
    stream.ring.acknowledge(5)
    emit_event(stream.ring, stream.allocator, "x", {})  # numbered, never sent
    doc = roundtrip(dump_stream(stream.ring, stream.allocator, clean=True))
    again = load_stream(doc)
    assert again.clean
    assert list(again.skipped) == []
    assert again.ring.pending() == [stream.ring.get(6)]  # still to send after the restart
    assert emit_event(again.ring, again.allocator, "x", {}).sequence_number == 7


def test_sigkill_after_write_ahead_save_never_reuses_a_sent_number() -> None:
    stream = load_stream(None)
    for _ in range(5):
        emit_event(stream.ring, stream.allocator, "x", {})
    mark = stream.allocator.reserve()
    on_disk = roundtrip(dump_stream(stream.ring, stream.allocator))  # await store.async_save
    stream.allocator.confirm(mark)
    sent = [e.sequence_number for e in stream.ring.pending()]  # POSTed 1..5
    emit_event(stream.ring, stream.allocator, "x", {})  # 6: numbered, not saved, not sent
    # SIGKILL: only on_disk survives
    again = load_stream(on_disk)
    assert not again.clean
    assert list(again.skipped) == []
    assert again.allocator.peek() > max(sent)
    assert [e.sequence_number for e in again.ring.pending()] == sent  # recoverable after restart
    assert emit_event(again.ring, again.allocator, "x", {}).sequence_number == 6


def test_sigkill_with_block_reservation_skips_but_never_reuses() -> None:
    stream = load_stream(None)
    emit_event(stream.ring, stream.allocator, "x", {})
    mark = stream.allocator.reserve(block_size=10)
    on_disk = roundtrip(dump_stream(stream.ring, stream.allocator))
    stream.allocator.confirm(mark)
    for _ in range(4):  # 2..5 sent under the block without another write
        emit_event(stream.ring, stream.allocator, "x", {})
    assert not stream.allocator.needs_reservation()
    again = load_stream(on_disk)
    assert list(again.skipped) == list(range(2, 12))
    assert again.ring.next_sequence == again.allocator.peek() == 12
    assert again.ring.skipped == 10
    result = again.ring.resolve_gaps([3, 4])
    assert result.unrecoverable == [3, 4]


def test_load_stream_floor_and_errors() -> None:
    again = load_stream(None, floor=41)
    assert again.allocator.peek() == again.ring.next_sequence == 42
    assert list(again.skipped) == list(range(1, 42))
    for bad in ("[]", {"version": 99}, {"version": 1, "ring": [], "sequence": {}}):
        with pytest.raises(ValueError):
            load_stream(bad)
    with pytest.raises(ValueError, match="floor"):
        load_stream(None, floor=-1)


def test_load_stream_never_hands_out_numbers_the_ring_holds() -> None:
    stream = load_stream(None)
    for _ in range(3):
        emit_event(stream.ring, stream.allocator, "x", {})
    doc = roundtrip(dump_stream(stream.ring, stream.allocator, clean=True))
    doc["sequence"]["last_used"] = 1  # inconsistent document: the ring knows better
    again = load_stream(doc)
    assert again.allocator.peek() == again.ring.next_sequence == 4


# -- properties ----------------------------------------------------------------------------------

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("emit"), st.integers(1, 5)),
        st.tuples(st.just("send"), st.integers(0, 3)),
        st.tuples(st.just("ack"), st.integers(0, 40)),
        st.tuples(st.just("save"), st.just(0)),
        st.tuples(st.just("restart"), st.booleans()),
        st.tuples(st.just("crash"), st.just(0)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(ops=OPS, capacity=st.integers(1, 12), block=st.sampled_from([0, 0, 3]))
def test_numbering_never_reuses_a_sent_number_and_clean_restarts_leave_no_holes(
    ops: list[tuple[str, Any]], capacity: int, block: int
) -> None:
    """Model a sender with write-ahead saves, delayed saves, clean restarts and SIGKILLs."""
    stream = load_stream(None, capacity=capacity)
    disk: Any = None
    sent: dict[int, Event] = {}  # what left the process, by number
    numbered: list[int] = []  # every number handed out, in order, across restarts
    skipped: set[int] = set()  # numbers unclean restarts jumped over (block reservations)
    for op, arg in ops:
        ring, allocator = stream.ring, stream.allocator
        if op == "emit":
            for _ in range(arg):
                numbered.append(
                    emit_event(ring, allocator, "x", {"i": len(numbered)}).sequence_number
                )
        elif op == "send":
            batch = ring.pending(limit=arg + 1)
            if batch and allocator.needs_reservation(batch[-1].sequence_number):
                mark = allocator.reserve(block_size=block)
                disk = roundtrip(dump_stream(ring, allocator))
                allocator.confirm(mark)
            for event in batch:
                assert event.sequence_number <= allocator.sendable_up_to
                previous = sent.setdefault(event.sequence_number, event)
                assert previous == event, "a sent number was reused for another event"
            if batch:
                ring.mark_sent(batch[-1].sequence_number)
        elif op == "ack":
            ring.acknowledge(min(arg, ring.last_sent))
        elif op == "save":
            disk = roundtrip(dump_stream(ring, allocator))
        elif op == "restart":  # graceful: final write, then load
            disk = roundtrip(dump_stream(ring, allocator, clean=True))
            resumed_at = allocator.last_used + 1
            stream = load_stream(disk, capacity=capacity)
            assert stream.allocator.peek() == resumed_at, "a clean restart left a hole"
        else:  # SIGKILL: everything since the last write is gone
            stream = load_stream(disk, capacity=capacity)
            skipped.update(stream.skipped)
            if block == 0:
                assert list(stream.skipped) == []
            if sent:
                assert stream.allocator.peek() > max(sent)
            # every sent event the restored ring should still hold survived on disk
            oldest = stream.ring.oldest
            for seq, event in sent.items():
                if oldest is not None and seq >= oldest and seq not in skipped:
                    assert stream.ring.get(seq) == event, "a sent event was not on disk"
        assert stream.ring.next_sequence == stream.allocator.peek()
    if not any(op == "crash" for op, _ in ops):
        assert numbered == list(range(1, len(numbered) + 1))


@settings(max_examples=200, deadline=None)
@given(
    capacity=st.integers(1, 20),
    steps=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 50)), max_size=40),
)
def test_ring_matches_a_simple_model(capacity: int, steps: list[tuple[int, int]]) -> None:
    ring = EventRing(capacity)
    model: list[int] = []
    acked = 0
    overflow = 0
    for action, value in steps:
        if action in {0, 1}:
            seq = ring.next_sequence
            ring.append(ev(seq))
            model.append(seq)
            if len(model) > capacity:
                evicted = model.pop(0)
                overflow += evicted > acked
        elif action == 2 and value < ring.next_sequence:
            ring.acknowledge(value)
            acked = max(acked, value)
        else:
            restored = EventRing.from_dict(roundtrip(ring.to_dict()))
            assert restored.stats() == ring.stats()
            ring = restored
        assert [e.sequence_number for e in ring] == model
        assert ring.overflowed == overflow
        assert ring.stats()["pending"] == sum(seq > acked for seq in model)
        assert all(ring.get(seq) is not None for seq in model)
