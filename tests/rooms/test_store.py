"""The one write path (admission, limiter, idempotent upsert) against a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
import json
from pathlib import Path
import random
import sqlite3
from typing import Any

import pytest

from custom_components.roomdb.db.database import Database
from custom_components.roomdb.rooms.limiter import WriteLimiter
from custom_components.roomdb.rooms.mapping import AreaMapping, Room
from custom_components.roomdb.rooms.store import (
    Action,
    ConfigChange,
    RoomConfigStore,
    WriteMode,
    WriteRequest,
    WriteStatus,
    merge_config,
)

MAPPING = AreaMapping(
    rooms={
        "kitchen": Room(
            "kitchen",
            "Kitchen",
            ("motion_lighting", "vacuum_control", "activity", "ml"),
            area_id="kitchen",
            segment_id="16",
        ),
        "hall": Room("hall", "Hall", ("motion_lighting", "activity")),
        # Not producible by a valid file, but admission must still refuse it.
        "studio": Room("studio", "Studio", ("vacuum_control",)),
    }
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(tmp_path / "rooms.db")
    await db.open()
    yield db
    await db.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def changes() -> list[ConfigChange]:
    return []


def make_store(
    database: Database,
    clock: Clock,
    changes: list[ConfigChange],
    *,
    interval: float = 0.0,
    jitter: float = 0.0,
    mapping: AreaMapping = MAPPING,
) -> RoomConfigStore:
    return RoomConfigStore(
        database,
        lambda: mapping,
        WriteLimiter(interval, jitter, random.Random(7)),
        clock=clock,
        on_change=lambda batch, _ctx: changes.extend(batch),
    )


@pytest.fixture
def store(database: Database, clock: Clock, changes: list[ConfigChange]) -> RoomConfigStore:
    return make_store(database, clock, changes)


async def rows(database: Database) -> dict[tuple[str, str], tuple[Any, int]]:
    result = await database.fetchall(
        "SELECT config_domain, room_id, config_data, version FROM room_configs"
    )
    return {(r[0], r[1]): (json.loads(r[2]), r[3]) for r in result}


async def test_insert_update_and_identical_payload(
    store: RoomConfigStore, database: Database, changes: list[ConfigChange]
) -> None:
    first = await store.upsert("motion_lighting", "kitchen", {"timeout": 120, "enabled": True})
    assert (first.status, first.action, first.version) == (WriteStatus.OK, Action.CREATED, 1)

    # Same content, other key order: canonical JSON is equal, so no version bump.
    same = await store.upsert("motion_lighting", "kitchen", {"enabled": True, "timeout": 120})
    assert (same.status, same.action, same.version) == (WriteStatus.OK, Action.UNCHANGED, 1)

    second = await store.upsert("motion_lighting", "kitchen", {"timeout": 60})
    assert (second.action, second.version) == (Action.UPDATED, 2)
    third = await store.upsert("motion_lighting", "kitchen", {"timeout": 30})
    assert third.version == 3

    assert await rows(database) == {("motion_lighting", "kitchen"): ({"timeout": 30}, 3)}
    assert [(c.action, c.version) for c in changes] == [
        (Action.CREATED, 1),
        (Action.UPDATED, 2),
        (Action.UPDATED, 3),
    ]
    assert changes[0].as_event_data() == {
        "domain": "motion_lighting",
        "room_id": "kitchen",
        "version": 1,
        "action": "created",
    }
    assert store.counters.as_dict() == {
        "writes": {"ok": 4, "retry": 0, "error": 0},
        "admission": {"denied": 0},
        "writes.ok": 4,
        "writes.retry": 0,
        "writes.error": 0,
        "admission.denied": 0,
    }
    stored = await store.get("motion_lighting", "kitchen")
    assert stored is not None
    assert stored.config_data == {"timeout": 30}
    assert stored.created_at <= stored.updated_at
    assert await store.get("motion_lighting", "hall") is None


async def test_foreign_non_canonical_text_counts_as_identical(
    store: RoomConfigStore, database: Database
) -> None:
    await database.execute_write(
        "INSERT INTO room_configs VALUES ('activity', 'hall', '{ \"b\": 1,  \"a\": 2 }', 4, "
        "'then', 'then')"
    )
    result = await store.upsert("activity", "hall", {"a": 2, "b": 1})
    assert (result.action, result.version) == (Action.UNCHANGED, 4)


@pytest.mark.parametrize(
    ("domain", "room_id", "reason"),
    [
        ("ml", "hall", "capability_missing"),  # ML-like domain in a room without it
        ("vacuum_control", "hall", "capability_missing"),  # no vacuum in the hall
        ("vacuum_control", "studio", "segment_missing"),  # capability but no segment_id
        ("motion_lighting", "attic", "unknown_room"),
        ("sprinklers", "kitchen", "unknown_domain"),
    ],
)
async def test_disallowed_pairs_write_nothing(
    store: RoomConfigStore,
    database: Database,
    changes: list[ConfigChange],
    domain: str,
    room_id: str,
    reason: str,
) -> None:
    await store.upsert("motion_lighting", "kitchen", {"timeout": 1})
    before = await rows(database)
    changes.clear()

    single = await store.upsert(domain, room_id, {"x": 1})
    bulk = await store.bulk_upsert([WriteRequest(domain, room_id, {"x": 2})])
    patch = await store.upsert(domain, room_id, {"x": 3}, mode=WriteMode.PATCH, source="activity")

    for result in (single, bulk[0], patch):
        assert result.status is WriteStatus.DENIED
        assert result.error == "admission_denied"
        assert result.denial is not None
        assert result.denial.placeholders == {
            "room_id": room_id,
            "domain": domain,
            "reason": reason,
        }
        assert result.as_item()["reason"] == reason
    assert await rows(database) == before
    assert changes == []
    assert store.counters.denied == 3


async def test_invalid_input_is_an_error_item(store: RoomConfigStore, database: Database) -> None:
    results = await store.bulk_upsert(
        [
            WriteRequest("motion_lighting", "kitchen", {"nan": float("nan")}),
            WriteRequest("motion_lighting", "kitchen", {"when": object()}),
            WriteRequest("motion_lighting", "kitchen", ["not", "an", "object"]),  # type: ignore[arg-type]
            WriteRequest("", "kitchen", {}),
            WriteRequest("motion_lighting", 5, {}),  # type: ignore[arg-type]
            WriteRequest("motion_lighting", "k" * 200, {}),
        ]
    )
    assert [r.status for r in results] == [WriteStatus.ERROR] * 6
    assert {r.error for r in results} == {"invalid_input"}
    assert "not valid JSON" in (results[0].message or "")
    assert "must be an object" in (results[2].message or "")
    assert "longer than" in (results[5].message or "")
    assert await rows(database) == {}
    assert store.counters.error == 6


async def test_limiter_with_jitter_bounds(
    database: Database, clock: Clock, changes: list[ConfigChange]
) -> None:
    interval, jitter = 10.0, 0.2
    store = make_store(database, clock, changes, interval=interval, jitter=jitter)
    waits = []
    for _ in range(200):
        ok = await store.upsert("activity", "hall", {"t": clock.now})
        assert ok.status is WriteStatus.OK
        limited = await store.upsert("activity", "hall", {"t": -1})
        assert limited.status is WriteStatus.RETRY
        assert limited.error == "write_rate_limit"
        assert limited.retry_after is not None
        waits.append(limited.retry_after)
        # Other keys are not affected by this key's window.
        assert (await store.upsert("activity", "kitchen", {"t": clock.now})).ok
        clock.now += interval * (1 + jitter) + 0.001
    assert min(waits) >= interval * (1 - jitter)
    assert max(waits) <= interval * (1 + jitter)
    assert max(waits) - min(waits) > interval * jitter  # the jitter really spreads the windows
    assert store.counters.retry == 200
    version = (await rows(database))[("activity", "hall")][1]
    assert version == 200


async def test_bulk_of_1000_mixed_items(
    database: Database, clock: Clock, changes: list[ConfigChange]
) -> None:
    mapping = AreaMapping(
        rooms={
            f"room_{i}": Room(f"room_{i}", f"Room {i}", ("motion_lighting", "activity"))
            for i in range(400)
        }
    )
    store = make_store(database, clock, changes, interval=60.0, jitter=0.2, mapping=mapping)
    # Pre-write 10 keys so their limiter windows are open: later items for them are "retry".
    for i in range(10):
        assert (await store.upsert("motion_lighting", f"room_{i}", {"seed": i})).ok
    requests: list[WriteRequest] = []
    expected: list[WriteStatus] = []
    for i in range(1000):
        kind = i % 4
        if kind == 0:
            requests.append(WriteRequest("motion_lighting", f"room_{100 + i // 4}", {"i": i}))
            expected.append(WriteStatus.OK)
        elif kind == 1:
            requests.append(WriteRequest("ml", f"room_{i % 400}", {"i": i}))
            expected.append(WriteStatus.DENIED)
        elif kind == 2:
            requests.append(WriteRequest("activity", f"room_{i % 400}", {"bad": float("inf")}))
            expected.append(WriteStatus.ERROR)
        else:
            requests.append(WriteRequest("motion_lighting", f"room_{i % 10}", {"i": i}))
            expected.append(WriteStatus.RETRY)
    changes.clear()
    results = await store.bulk_upsert(requests)
    assert [r.status for r in results] == expected
    assert [(r.domain, r.room_id) for r in results] == [(q.domain, q.room_id) for q in requests]
    stored = await rows(database)
    assert len(stored) == 10 + 250
    for i in range(0, 1000, 4):
        assert stored[("motion_lighting", f"room_{100 + i // 4}")] == ({"i": i}, 1)
    for i in range(10):
        assert stored[("motion_lighting", f"room_{i}")] == ({"seed": i}, 1)
    assert len(changes) == 250
    assert store.counters.as_dict() == {
        "writes": {"ok": 260, "retry": 250, "error": 250},
        "admission": {"denied": 250},
        "writes.ok": 260,
        "writes.retry": 250,
        "writes.error": 250,
        "admission.denied": 250,
    }


async def test_repeated_key_in_one_bulk_without_limiter(
    store: RoomConfigStore, database: Database, changes: list[ConfigChange]
) -> None:
    results = await store.bulk_upsert(
        [
            WriteRequest("activity", "hall", {"n": 1}),
            WriteRequest("activity", "hall", {"n": 1}),
            WriteRequest("activity", "hall", {"n": 2}),
            WriteRequest("activity", "hall", {"m": 0}, WriteMode.PATCH),
        ]
    )
    assert [(r.action, r.version) for r in results] == [
        (Action.CREATED, 1),
        (Action.UNCHANGED, 1),
        (Action.UPDATED, 2),
        (Action.UPDATED, 3),
    ]
    assert await rows(database) == {("activity", "hall"): ({"n": 2, "m": 0}, 3)}
    assert [c.version for c in changes] == [1, 2, 3]


def test_merge_modes() -> None:
    existing = {"a": 1, "b": 2}
    assert merge_config(existing, {"b": 3}, WriteMode.REPLACE) == {"b": 3}
    assert merge_config(existing, {"b": 3, "c": 4}, WriteMode.PATCH) == {"a": 1, "b": 3, "c": 4}
    assert merge_config(existing, {"b": 3, "c": 4}, WriteMode.FILL) == {"a": 1, "b": 2, "c": 4}
    assert merge_config(None, {"b": 3}, WriteMode.FILL) == {"b": 3}


async def test_stored_non_object_is_replaced_by_patch(
    store: RoomConfigStore, database: Database
) -> None:
    await database.execute_write(
        "INSERT INTO room_configs VALUES ('activity', 'hall', '[1, 2]', 1, 'x', 'x')"
    )
    result = await store.upsert("activity", "hall", {"a": 1}, mode=WriteMode.PATCH)
    assert (result.action, result.version) == (Action.UPDATED, 2)
    stored = await store.get("activity", "hall")
    assert stored is not None and stored.config_data == {"a": 1}


async def test_delete(database: Database, clock: Clock, changes: list[ConfigChange]) -> None:
    store = make_store(database, clock, changes, interval=5.0)
    await store.upsert("motion_lighting", "kitchen", {"a": 1})
    await store.upsert("ml", "kitchen", {"a": 1})

    limited = await store.delete("motion_lighting", "kitchen")
    assert limited.status is WriteStatus.RETRY
    clock.now += 10
    deleted = await store.delete("motion_lighting", "kitchen")
    assert (deleted.status, deleted.action, deleted.version) == (WriteStatus.OK, Action.DELETED, 1)
    assert changes[-1].as_event_data()["action"] == "deleted"

    missing = await store.delete("motion_lighting", "kitchen")
    assert (missing.status, missing.action) == (WriteStatus.OK, Action.MISSING)
    typo = await store.delete("motion_lihgting", "kitchen")
    assert typo.status is WriteStatus.DENIED
    assert (await store.delete("", "kitchen")).status is WriteStatus.ERROR

    # A row the mapping no longer allows can still be cleaned up.
    store._mapping = lambda: AreaMapping(rooms={})
    clock.now += 10
    orphan = await store.delete("ml", "kitchen")
    assert orphan.action is Action.DELETED
    assert await rows(database) == {}


async def test_preview_writes_nothing(store: RoomConfigStore, database: Database) -> None:
    await store.upsert("motion_lighting", "kitchen", {"timeout": 60})
    await store.upsert("activity", "hall", {"a": 1})
    results = await store.preview(
        [
            WriteRequest(
                "motion_lighting", "kitchen", {"timeout": 300, "enabled": True}, WriteMode.FILL
            ),
            WriteRequest("motion_lighting", "hall", {"timeout": 300}, WriteMode.FILL),
            WriteRequest("ml", "hall", {}),
            WriteRequest("activity", "hall", {"a": 1}),
            WriteRequest("activity", "kitchen", {"x": float("nan")}),
            WriteRequest("motion_lighting", "hall", {"enabled": False}, WriteMode.PATCH),
        ]
    )
    assert [(r.status, r.action, r.version) for r in results] == [
        (WriteStatus.OK, Action.UPDATED, 2),
        (WriteStatus.OK, Action.CREATED, 1),
        (WriteStatus.DENIED, None, None),
        (WriteStatus.OK, Action.UNCHANGED, 1),
        (WriteStatus.ERROR, None, None),
        (WriteStatus.OK, Action.UPDATED, 2),
    ]
    assert results[-1].config_data == {"timeout": 300, "enabled": False}
    assert results[0].config_data == {"timeout": 60, "enabled": True}
    assert await rows(database) == {
        ("motion_lighting", "kitchen"): ({"timeout": 60}, 1),
        ("activity", "hall"): ({"a": 1}, 1),
    }
    assert store.counters.ok == 2


async def test_database_failure_reports_every_item(
    store: RoomConfigStore, database: Database
) -> None:
    await database.close()
    results = await store.bulk_upsert(
        [WriteRequest("activity", "hall", {}), WriteRequest("activity", "kitchen", {})]
    )
    assert [(r.status, r.error) for r in results] == [
        (WriteStatus.ERROR, "database_unavailable")
    ] * 2
    assert (await store.delete("activity", "hall")).error == "database_unavailable"
    assert store.counters.error == 3


async def test_busy_database_is_a_retry(
    store: RoomConfigStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy(*_args: Any, **_kwargs: Any) -> Any:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(store, "_lookup", busy)
    result = await store.upsert("activity", "hall", {})
    assert (result.status, result.error) == (WriteStatus.RETRY, "database_unavailable")


async def test_export_rows_and_domain_reads(store: RoomConfigStore) -> None:
    await store.upsert("activity", "hall", {"a": 1})
    await store.upsert("activity", "kitchen", {"a": 2})
    await store.upsert("motion_lighting", "hall", {"t": 3})
    exported = await store.export_rows()
    assert [(d, r, json.loads(t), v) for d, r, t, v, _u in exported] == [
        ("activity", "hall", {"a": 1}, 1),
        ("activity", "kitchen", {"a": 2}, 1),
        ("motion_lighting", "hall", {"t": 3}, 1),
    ]
    assert set(await store.get_domain("activity")) == {"hall", "kitchen"}
