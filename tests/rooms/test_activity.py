"""Activity pipeline: real registries and states in, room activity configs out."""

from __future__ import annotations

from datetime import timedelta
import json
import random
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
)
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.roomdb.rooms import pipeline_writer as writer_module
from custom_components.roomdb.rooms.activity import RoomActivity
from custom_components.roomdb.rooms.pipeline_writer import PipelineWriter
from custom_components.roomdb.rooms.store import WriteResult, WriteStatus

from .conftest import MAPPING, db_rows, rooms_of

KITCHEN_MOTION = "binary_sensor.kitchen_motion"
HALL_OCCUPANCY = "binary_sensor.hall_occupancy"
OFFICE_PRESENCE = "binary_sensor.office_presence"
GARAGE_MOTION = "binary_sensor.garage_motion"
KITCHEN_DOOR = "binary_sensor.kitchen_door"


@pytest.fixture
async def sensors(
    hass: HomeAssistant,
    areas: dict[str, str],
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Activity sensors: own area (kitchen), via the device's area (hall), unmapped (garage)."""
    source = MockConfigEntry(domain="test")
    source.add_to_hass(hass)
    hall_device = device_registry.async_get_or_create(
        config_entry_id=source.entry_id, identifiers={("test", "hall-hub")}
    )
    device_registry.async_update_device(hall_device.id, area_id="hall")

    def add(object_id: str, device_class: str, **kwargs: Any) -> None:
        entity_registry.async_get_or_create(
            "binary_sensor",
            "test",
            object_id,
            suggested_object_id=object_id,
            original_device_class=device_class,
            config_entry=source,
            **kwargs,
        )

    add("kitchen_motion", "motion")
    entity_registry.async_update_entity(KITCHEN_MOTION, area_id="kitchen")
    add("kitchen_door", "door")  # not an activity sensor
    entity_registry.async_update_entity(KITCHEN_DOOR, area_id="kitchen")
    add("hall_occupancy", "occupancy", device_id=hall_device.id)
    add("office_presence", "presence")
    entity_registry.async_update_entity(OFFICE_PRESENCE, area_id="office")
    add("garage_motion", "motion")
    entity_registry.async_update_entity(GARAGE_MOTION, area_id="garage")
    for entity_id in (KITCHEN_MOTION, HALL_OCCUPANCY, OFFICE_PRESENCE, GARAGE_MOTION, KITCHEN_DOOR):
        hass.states.async_set(entity_id, "off")


@pytest.fixture
async def entry(sensors: None, rooms_entry: MockConfigEntry) -> MockConfigEntry:
    return rooms_entry


async def activity(entry: MockConfigEntry) -> dict[str, tuple[dict[str, Any], int]]:
    return {
        room: (json.loads(text), version)
        for (domain, room), (text, version) in (await db_rows(entry)).items()
        if domain == "activity"
    }


async def test_room_activity_is_written(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    pipeline = rooms_of(entry).activity
    assert pipeline is not None
    assert set(pipeline.entity_rooms) == {KITCHEN_MOTION, HALL_OCCUPANCY, OFFICE_PRESENCE}
    assert await activity(entry) == {}

    freezer.move_to("2026-03-01T10:00:00+00:00")
    hass.states.async_set(KITCHEN_MOTION, "on")
    await hass.async_block_till_done()
    data, version = (await activity(entry))["kitchen"]
    assert version == 1
    assert data["active"] is True
    assert data["last_active"] == "2026-03-01T10:00:00+00:00"
    assert data["active_since"] == "2026-03-01T10:00:00+00:00"
    assert data["last_entity"] == KITCHEN_MOTION

    freezer.tick(timedelta(minutes=5))
    hass.states.async_set(KITCHEN_MOTION, "off")
    hass.states.async_set(HALL_OCCUPANCY, "on")  # via the device's area
    hass.states.async_set(GARAGE_MOTION, "on")  # area not mapped
    hass.states.async_set(KITCHEN_DOOR, "on")  # not an activity device class
    await hass.async_block_till_done()
    rows = await activity(entry)
    data, version = rows["kitchen"]
    assert version == 2
    assert data["active"] is False
    assert data["active_minutes_today"] == 5.0
    assert data["last_active"] == "2026-03-01T10:05:00+00:00"
    assert rows["hall"][0]["active"] is True
    assert set(rows) == {"kitchen", "hall"}

    # A second active period the same day adds up.
    freezer.tick(timedelta(minutes=1))
    hass.states.async_set(KITCHEN_MOTION, "on")
    await hass.async_block_till_done()
    freezer.tick(timedelta(minutes=2, seconds=30))
    hass.states.async_set(KITCHEN_MOTION, "unavailable")
    await hass.async_block_till_done()
    assert (await activity(entry))["kitchen"][0]["active_minutes_today"] == 7.5


async def test_user_keys_in_the_activity_config_are_kept(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await hass.services.async_call(
        "roomdb",
        "update_config",
        {"domain": "activity", "room_id": "office", "config_data": {"threshold": 3}},
        blocking=True,
    )
    hass.states.async_set(OFFICE_PRESENCE, "on")
    await hass.async_block_till_done()
    data, version = (await activity(entry))["office"]
    assert data["threshold"] == 3 and data["active"] is True
    assert version == 2


@pytest.mark.parametrize(
    "mapping_text",
    [
        MAPPING.replace(
            "capabilities: [motion_lighting, activity]", "capabilities: [motion_lighting]"
        )
    ],
)
async def test_room_without_activity_capability_is_not_written(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    rooms = rooms_of(entry)
    assert rooms.activity is not None
    assert HALL_OCCUPANCY not in rooms.activity.entity_rooms
    hass.states.async_set(HALL_OCCUPANCY, "on")
    await hass.async_block_till_done()
    assert await db_rows(entry) == {}

    # Even a write the pipeline attempts for it is refused by admission, and nothing changes.
    result = await rooms.activity.writer.async_write("activity", "hall", {"active": True})
    assert result is not None and result.status is WriteStatus.DENIED
    assert await db_rows(entry) == {}
    assert rooms.store.counters.denied == 1


@pytest.mark.parametrize("entry_options", [{"activity_enabled": False, "write_interval": 0}])
async def test_pipeline_can_be_disabled(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert rooms_of(entry).activity is None
    hass.states.async_set(KITCHEN_MOTION, "on")
    await hass.async_block_till_done()
    assert await db_rows(entry) == {}
    assert rooms_of(entry).health()["pipelines"]["activity"] == {"enabled": False}


async def test_registry_changes_rebuild_the_map(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    pipeline = rooms_of(entry).activity
    assert pipeline is not None
    entity_registry.async_update_entity(GARAGE_MOTION, area_id="office")
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert pipeline.entity_rooms[GARAGE_MOTION] == ["office"]
    hass.states.async_set(GARAGE_MOTION, "on")
    await hass.async_block_till_done()
    assert (await activity(entry))["office"][0]["last_entity"] == GARAGE_MOTION


async def test_deleted_area_idles_only_that_rooms_pipeline(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    areas: dict[str, str],
    area_registry: ar.AreaRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    area_registry.async_delete(areas["Kitchen"])
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    hass.states.async_set(KITCHEN_MOTION, "on")
    hass.states.async_set(HALL_OCCUPANCY, "on")
    await hass.async_block_till_done()
    # The kitchen's sensors no longer reach it; the hall is unaffected.
    assert set(await activity(entry)) == {"hall"}
    # The room itself is still in force: its activity config can be written by hand.
    await hass.services.async_call(
        "roomdb",
        "update_config",
        {"domain": "activity", "room_id": "kitchen", "config_data": {"note": "manual"}},
        blocking=True,
    )
    assert (await activity(entry))["kitchen"][0] == {"note": "manual"}


async def test_sensor_already_on_at_start_and_restart_restore(
    hass: HomeAssistant, sensors: None, rooms_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    # Started with every sensor off; turn one on, then restart while it is still on.
    hass.states.async_set(OFFICE_PRESENCE, "on")
    await hass.async_block_till_done()
    assert (await activity(rooms_entry))["office"][0]["active"] is True
    await hass.config_entries.async_unload(rooms_entry.entry_id)
    freezer.tick(timedelta(hours=1))
    hass.states.async_set(OFFICE_PRESENCE, "off")  # went off while RoomDB was not running
    assert await hass.config_entries.async_setup(rooms_entry.entry_id)
    await hass.async_block_till_done()
    data = (await activity(rooms_entry))["office"][0]
    assert data["active"] is False
    assert data["active_minutes_today"] == 0.0  # the downtime is not counted

    # Restart while a sensor is on: the session continues, counted from the restart.
    hass.states.async_set(OFFICE_PRESENCE, "on")
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(rooms_entry.entry_id)
    freezer.tick(timedelta(hours=1))
    assert await hass.config_entries.async_setup(rooms_entry.entry_id)
    await hass.async_block_till_done()
    freezer.tick(timedelta(minutes=3))
    hass.states.async_set(OFFICE_PRESENCE, "off")
    await hass.async_block_till_done()
    assert (await activity(rooms_entry))["office"][0]["active_minutes_today"] == 3.0


def test_minutes_count_only_today() -> None:
    from homeassistant.util import dt as dt_util

    room = RoomActivity("kitchen")
    start = dt_util.as_utc(dt_util.parse_datetime("2026-03-01T23:50:00+00:00"))  # type: ignore[arg-type]
    with patch.object(dt_util, "DEFAULT_TIME_ZONE", dt_util.UTC):
        room.start(start, "x")
        room.stop(start + timedelta(minutes=20), "x")
    assert room.day is not None and room.day.isoformat() == "2026-03-02"
    assert room.minutes_today == 10.0


async def test_identical_writes_within_5s_are_deduplicated(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    rooms = rooms_of(entry)
    now = [100.0]
    writer = PipelineWriter(hass, rooms.store, "test", clock=lambda: now[0])
    first = await writer.async_write("activity", "hall", {"active": True})
    assert first is not None and first.ok
    assert await writer.async_write("activity", "hall", {"active": True}) is None
    now[0] += 4.9
    assert await writer.async_write("activity", "hall", {"active": True}) is None
    changed = await writer.async_write("activity", "hall", {"active": False})
    assert changed is not None and changed.version == 2
    now[0] += 5.1
    assert await writer.async_write("activity", "hall", {"active": False}) is not None
    assert writer.health()["deduplicated"] == 2
    assert (await activity(entry))["hall"][1] == 2


class RetryingStore:
    """A store that refuses every write with ``retry`` (retry_after 0) until told otherwise."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.accept = False

    async def upsert(self, domain: str, room_id: str, data: Any, **_: Any) -> WriteResult:
        self.calls.append(data)
        if self.accept:
            return WriteResult(domain, room_id, WriteStatus.OK, version=1)
        return WriteResult(domain, room_id, WriteStatus.RETRY, retry_after=0.0)


async def test_retry_backs_off_exponentially_with_jitter_and_cap(hass: HomeAssistant) -> None:
    store = RetryingStore()
    writer = PipelineWriter(hass, store, "test", rng=random.Random(3))  # type: ignore[arg-type]
    delays: list[float] = []
    scheduled: list[Any] = []

    def fake_call_later(_hass: HomeAssistant, delay: float, action: Any) -> Any:
        delays.append(delay)
        scheduled.append(action)
        return lambda: None

    with patch.object(writer_module, "async_call_later", fake_call_later):
        result = await writer.async_write("activity", "hall", {"n": 1})
        assert result is not None and result.status is WriteStatus.RETRY
        # A newer patch while the retry is pending replaces the pending one.
        assert await writer.async_write("activity", "hall", {"n": 2}) is None
        for _ in range(9):
            action = scheduled.pop()
            writer._timers.pop(("activity", "hall"))
            await action(None)
        store.accept = True
        await scheduled.pop()(None)
    assert store.calls[0] == {"n": 1}
    assert store.calls[1:] == [{"n": 2}] * 10
    for attempt, delay in enumerate(delays):
        nominal = min(60.0, 2.0 * 2.0**attempt)  # 2, 4, 8 … 60 s
        assert nominal * 0.75 <= delay <= min(60.0, nominal * 1.25)
    assert delays[-1] <= 60.0 and delays[-2] <= 60.0
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered, not a fixed ladder
    assert writer.backoff(("activity", "hall")).attempt == 0  # reset after the success
    assert writer.health()["retries"] == 10


@pytest.mark.parametrize("entry_options", [{"write_interval": 30, "write_jitter": 0.2}])
async def test_rate_limited_transition_is_retried_later(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    rooms = rooms_of(entry)
    assert rooms.activity is not None
    clock = [500.0]
    rooms.store.clock = lambda: clock[0]
    hass.states.async_set(KITCHEN_MOTION, "on")
    await hass.async_block_till_done()
    hass.states.async_set(KITCHEN_MOTION, "off")
    await hass.async_block_till_done()
    assert (await activity(entry))["kitchen"][0]["active"] is True
    assert rooms.activity.writer.health()["pending_retries"] == 1
    assert rooms.store.counters.retry == 1

    clock[0] += 37
    freezer.tick(timedelta(seconds=37))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    data, version = (await activity(entry))["kitchen"]
    assert (data["active"], version) == (False, 2)
    assert rooms.activity.writer.health()["pending_retries"] == 0


@pytest.mark.parametrize("entry_options", [{"write_interval": 30, "write_jitter": 0.2}])
async def test_unload_cancels_pending_retries(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    rooms = rooms_of(entry)
    assert rooms.activity is not None
    hass.states.async_set(KITCHEN_MOTION, "on")
    await hass.async_block_till_done()
    hass.states.async_set(KITCHEN_MOTION, "off")
    await hass.async_block_till_done()
    writer = rooms.activity.writer
    assert writer.health()["pending_retries"] == 1
    await hass.config_entries.async_unload(entry.entry_id)
    assert writer.health()["pending_retries"] == 0
