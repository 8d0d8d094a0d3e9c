"""The stream document: ring, sequence state and change coverage restored together."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings, strategies as st
import orjson
import pytest

from custom_components.roomdb.events.document import dump_stream, emit_event, load_stream
from custom_components.roomdb.events.event import Event, validate_timestamp
from custom_components.roomdb.events.ring import EventRing

TS = "2026-01-02T03:04:05Z"


def roundtrip(doc: dict[str, Any]) -> Any:
    """What an HA Store hands back: the document through HA's JSON encoder (orjson)."""
    return orjson.loads(orjson.dumps(doc))


def send_all(ring: EventRing) -> list[int]:
    batch = ring.next_batch(1000)
    if batch:
        ring.mark_sent(batch)
        ring.record_stored(batch, [])
    return [e.sequence_number for e in batch]


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
    send_all(stream.ring)
    emit_event(stream.ring, stream.allocator, "x", {})  # numbered, never sent
    doc = roundtrip(dump_stream(stream.ring, stream.allocator, clean=True, last_change_id=7))
    again = load_stream(doc)
    assert again.clean
    assert again.last_change_id == 7
    assert list(again.skipped) == []
    assert again.ring.next_batch(10) == [stream.ring.get(6)]  # still to send after the restart
    assert emit_event(again.ring, again.allocator, "x", {}).sequence_number == 7


def test_sigkill_after_write_ahead_save_never_reuses_a_sent_number() -> None:
    stream = load_stream(None)
    for _ in range(5):
        emit_event(stream.ring, stream.allocator, "x", {})
    batch = stream.ring.next_batch(10)
    stream.ring.mark_sent(batch)
    mark = stream.allocator.reserve()
    on_disk = roundtrip(dump_stream(stream.ring, stream.allocator))  # await store.async_save
    stream.allocator.confirm(mark)
    sent = [e.sequence_number for e in batch]  # POSTed 1..5, no answer yet
    emit_event(stream.ring, stream.allocator, "x", {})  # 6: numbered, not saved, not sent
    # SIGKILL: only on_disk survives
    again = load_stream(on_disk)
    assert not again.clean
    assert list(again.skipped) == []
    assert again.allocator.peek() > max(sent)
    assert again.ring.last_sent == 5  # a gap report for 1..5 is a resend order, not a peer error
    assert [e.sequence_number for e in again.ring.next_batch(10)] == sent
    assert emit_event(again.ring, again.allocator, "x", {}).sequence_number == 6


def test_sigkill_with_block_reservation_skips_but_never_reuses() -> None:
    stream = load_stream(None)
    emit_event(stream.ring, stream.allocator, "x", {})
    stream.ring.mark_sent(stream.ring.next_batch(1))
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


def test_load_stream_floor_and_errors() -> None:
    again = load_stream(None, floor=41)
    assert again.allocator.peek() == again.ring.next_sequence == 42
    assert list(again.skipped) == list(range(1, 42))
    for bad in (
        "[]",
        {"version": 99},
        {"version": 1, "ring": [], "sequence": {}},
        {"version": 1, "ring": {}, "sequence": {"last_used": 0}, "last_change_id": -3},
    ):
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


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("emit"), st.integers(1, 5)),
        st.tuples(st.just("send"), st.integers(0, 3)),
        st.tuples(st.just("answer"), st.just(0)),
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
    in_flight: list[Event] = []
    durable_sent = 0  # last_sent as the document on disk has it
    for op, arg in ops:
        ring, allocator = stream.ring, stream.allocator
        if op == "emit":
            for _ in range(arg):
                numbered.append(
                    emit_event(ring, allocator, "x", {"i": len(numbered)}).sequence_number
                )
        elif op == "send":
            in_flight = ring.next_batch(arg + 1)
            if in_flight:
                last = in_flight[-1].sequence_number
                ring.mark_sent(in_flight)
                if allocator.needs_reservation(last) or last > durable_sent:
                    mark = allocator.reserve(block_size=block)
                    disk = roundtrip(dump_stream(ring, allocator))
                    durable_sent = ring.last_sent
                    allocator.confirm(mark)
            for event in in_flight:
                assert event.sequence_number <= allocator.sendable_up_to
                previous = sent.setdefault(event.sequence_number, event)
                assert previous == event, "a sent number was reused for another event"
        elif op == "answer":
            if in_flight:
                ring.record_stored(in_flight, [])
            in_flight = []
        elif op == "save":
            disk = roundtrip(dump_stream(ring, allocator))
            durable_sent = ring.last_sent
        elif op == "restart":  # graceful: final write, then load
            disk = roundtrip(dump_stream(ring, allocator, clean=True))
            durable_sent = ring.last_sent
            resumed_at = allocator.last_used + 1
            stream = load_stream(disk, capacity=capacity)
            in_flight = []
            assert stream.allocator.peek() == resumed_at, "a clean restart left a hole"
        else:  # SIGKILL: everything since the last write is gone
            stream = load_stream(disk, capacity=capacity)
            durable_sent = stream.ring.last_sent
            in_flight = []
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
                    assert seq <= stream.ring.last_sent, "a sent number counts as never sent"
        assert stream.ring.next_sequence == stream.allocator.peek()
    if not any(op == "crash" for op, _ in ops):
        assert numbered == list(range(1, len(numbered) + 1))
