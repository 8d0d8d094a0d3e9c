"""Sequence numbers: consecutive hand-out, the write-ahead reservation and restore rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from custom_components.roomdb.events.sequence import SequenceAllocator


def roundtrip(doc: dict[str, Any]) -> Any:
    return json.loads(json.dumps(doc))


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
