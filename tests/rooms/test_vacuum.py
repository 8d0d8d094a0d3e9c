"""Vacuum pipeline: clean requests on the bus + vacuum states in, vacuum_control writes out."""

from __future__ import annotations

from datetime import timedelta
import json
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service

from custom_components.roomdb.rooms.vacuum import command_segments, rooms_for_request

from .conftest import MAPPING, db_rows, rooms_of

ROBOT = "vacuum.robot"


@pytest.fixture
async def robot(
    hass: HomeAssistant, areas: dict[str, str], entity_registry: er.EntityRegistry
) -> None:
    """A vacuum entity with HA's segment mapping options, plus mocked vacuum services."""
    entity_registry.async_get_or_create("vacuum", "test", "robot", suggested_object_id="robot")
    entity_registry.async_update_entity_options(
        ROBOT, "vacuum", {"area_mapping": {"kitchen": ["16"], "garage": ["99"]}}
    )
    hass.states.async_set(ROBOT, "docked")
    async_mock_service(hass, "vacuum", "clean_area")
    async_mock_service(hass, "vacuum", "send_command")
    async_mock_service(hass, "vacuum", "start")


@pytest.fixture
async def entry(robot: None, rooms_entry: MockConfigEntry) -> MockConfigEntry:
    return rooms_entry


async def clean_area(hass: HomeAssistant, *areas: str) -> None:
    await hass.services.async_call(
        "vacuum",
        "clean_area",
        {"cleaning_area_id": list(areas)},
        target={"entity_id": ROBOT},
        blocking=True,
    )
    await hass.async_block_till_done()


async def run_robot(hass: HomeAssistant, *states: str) -> None:
    for state in states:
        hass.states.async_set(ROBOT, state)
        await hass.async_block_till_done()


async def vacuum_rows(entry: MockConfigEntry) -> dict[str, tuple[dict[str, Any], int]]:
    return {
        room: (json.loads(text), version)
        for (domain, room), (text, version) in (await db_rows(entry)).items()
        if domain == "vacuum_control"
    }


async def test_finished_room_clean_writes_last_cleaned(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await hass.services.async_call(
        "roomdb",
        "seed_from_mapping",
        {"domain": "vacuum_control"},
        blocking=True,
    )
    await clean_area(hass, "kitchen")
    assert await vacuum_rows(entry) == {"kitchen": ({"enabled": True, "segment_id": "16"}, 1)}
    await run_robot(hass, "docked")  # not started yet: nothing
    assert (await vacuum_rows(entry))["kitchen"][1] == 1
    await run_robot(hass, "cleaning", "returning")
    data, version = (await vacuum_rows(entry))["kitchen"]
    assert version == 2
    assert data["enabled"] is True and data["segment_id"] == "16"  # kept (patch mode)
    assert data["last_cleaned_by"] == ROBOT
    assert data["last_result"] == "completed"
    assert data["last_cleaned"]
    assert rooms_of(entry).vacuum is not None
    assert rooms_of(entry).vacuum.jobs == {}  # type: ignore[union-attr]


async def test_capability_guard(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    rooms = rooms_of(entry)
    await hass.services.async_call(
        "roomdb",
        "update_config",
        {"domain": "motion_lighting", "room_id": "hall", "config_data": {"timeout": 60}},
        blocking=True,
    )
    before = await db_rows(entry)
    # Hall and office have no segment (and no vacuum_control): nothing is written for them,
    # and motion_lighting is never touched.
    await clean_area(hass, "hall", "office")
    await run_robot(hass, "cleaning", "docked")
    assert await db_rows(entry) == before
    assert rooms.store.counters.denied == 2

    await clean_area(hass, "kitchen", "hall")
    await run_robot(hass, "cleaning", "docked")
    rows = await db_rows(entry)
    assert set(rows) - set(before) == {("vacuum_control", "kitchen")}
    assert rows[("motion_lighting", "hall")] == before[("motion_lighting", "hall")]


async def test_segment_clean_command_and_error_state(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await hass.services.async_call(
        "vacuum",
        "send_command",
        {"entity_id": ROBOT, "command": "app_segment_clean", "params": [16]},
        blocking=True,
    )
    await run_robot(hass, "cleaning", "error", "docked")
    assert await vacuum_rows(entry) == {}  # an error drops the job

    await hass.services.async_call(
        "vacuum",
        "send_command",
        {"entity_id": ROBOT, "command": "segment_clean", "params": {"segment_ids": ["16"]}},
        blocking=True,
    )
    await run_robot(hass, "cleaning", "idle")
    assert (await vacuum_rows(entry))["kitchen"][0]["last_result"] == "completed"

    # Commands that are not segment cleans, and full cleans, name no room.
    await hass.services.async_call(
        "vacuum", "send_command", {"entity_id": ROBOT, "command": "locate"}, blocking=True
    )
    await hass.services.async_call("vacuum", "start", {"entity_id": ROBOT}, blocking=True)
    await hass.async_block_till_done()
    assert rooms_of(entry).vacuum.jobs == {}  # type: ignore[union-attr]


async def test_request_without_target_waits_for_any_vacuum(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await hass.services.async_call(
        "vacuum",
        "send_command",
        {"command": "clean_segments", "params": {"segments": "16"}},
        blocking=True,
    )
    await hass.async_block_till_done()
    hass.states.async_set("vacuum.other", "cleaning")
    hass.states.async_set("vacuum.other", "docked")
    await hass.async_block_till_done()
    assert (await vacuum_rows(entry))["kitchen"][0]["last_cleaned_by"] == "vacuum.other"


@pytest.mark.parametrize(
    "entry_options", [{"vacuum_optimistic_writeback": True, "write_interval": 0}]
)
async def test_optimistic_writeback(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await clean_area(hass, "kitchen")
    data = (await vacuum_rows(entry))["kitchen"][0]
    assert data["last_result"] == "requested"
    assert rooms_of(entry).vacuum.jobs == {}  # type: ignore[union-attr]


@pytest.mark.parametrize("entry_options", [{"vacuum_dry_run": True, "write_interval": 0}])
async def test_dry_run_only_logs(
    hass: HomeAssistant, entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.roomdb.rooms.vacuum")
    await clean_area(hass, "kitchen", "hall")
    await run_robot(hass, "cleaning", "docked")
    assert await db_rows(entry) == {}
    assert "Dry run: would write vacuum_control for room kitchen" in caplog.text
    health = rooms_of(entry).health()["pipelines"]["vacuum"]
    assert health["dry_run"] is True
    assert [(e["room_id"], e["admitted"], e["reason"]) for e in health["dry_run_log"]] == [
        ("kitchen", True, None),
        ("hall", False, "capability_missing"),
    ]


@pytest.mark.parametrize("entry_options", [{"vacuum_enabled": False, "write_interval": 0}])
async def test_vacuum_pipeline_can_be_disabled(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert rooms_of(entry).vacuum is None
    await clean_area(hass, "kitchen")
    await run_robot(hass, "cleaning", "docked")
    assert await db_rows(entry) == {}


def test_request_matching_helpers() -> None:
    from custom_components.roomdb.rooms.mapping_parse import parse_mapping

    mapping = parse_mapping(MAPPING).mapping
    assert mapping is not None
    assert rooms_for_request(mapping, ["kitchen"]) == ("kitchen",)
    assert rooms_for_request(mapping, [], ["16"]) == ("kitchen",)
    assert rooms_for_request(mapping, ["garage"], ["99"]) == ()
    assert command_segments([16, "17"]) == ["16", "17"]
    assert command_segments({"segment_id": 3}) == ["3"]
    assert command_segments({"rooms": [1]}) == ["1"]
    assert command_segments({"other": 1}) == []
    assert command_segments(None) == []
    assert command_segments(4.5) == []


async def test_requests_naming_no_room_and_stale_jobs(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    pipeline = rooms_of(entry).vacuum
    assert pipeline is not None
    # Garage is mapped to a segment on the robot but is not a room: nothing to wait for.
    await clean_area(hass, "garage")
    assert pipeline.jobs == {}
    # A vacuum that is not in the entity registry still matches rooms by area.
    await hass.services.async_call(
        "vacuum",
        "clean_area",
        {"cleaning_area_id": ["kitchen"]},
        target={"entity_id": "vacuum.unregistered"},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert pipeline.jobs["vacuum.unregistered"].room_ids == ("kitchen",)
    hass.states.async_set("vacuum.unregistered", "cleaning")
    hass.states.async_remove("vacuum.unregistered")  # removed mid-job: ignored
    await hass.async_block_till_done()
    # Jobs older than the timeout are dropped when the next request comes in.
    freezer.tick(timedelta(hours=5))
    await clean_area(hass, "kitchen")
    assert set(pipeline.jobs) == {ROBOT}


async def test_malformed_area_mapping_option_is_ignored(
    hass: HomeAssistant, entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    entity_registry.async_update_entity_options(ROBOT, "vacuum", {"area_mapping": ["16"]})
    await clean_area(hass, "kitchen")
    assert rooms_of(entry).vacuum.jobs[ROBOT].room_ids == ("kitchen",)  # type: ignore[union-attr]
