"""The panel's WebSocket API: what each command answers, what it refuses, and who may call it."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.roomdb.const import EVENT_CONFIG_CHANGED
from tests.rooms.conftest import db_rows, export_path, mapping_path, write_mapping

from .conftest import Ws

pytestmark = pytest.mark.usefixtures("rooms_entry")

EVERY_COMMAND: list[tuple[str, dict[str, Any]]] = [
    ("roomdb/rooms/list", {}),
    ("roomdb/config/update", {"domain": "activity", "room_id": "office", "config_data": {}}),
    ("roomdb/config/delete", {"domain": "activity", "room_id": "office"}),
    ("roomdb/mapping/status", {}),
    ("roomdb/mapping/generate", {"overwrite": True}),
    ("roomdb/sleep/nights", {}),
    (
        "roomdb/sleep/label_set",
        {"night_date": "2026-03-02", "bedtime": "2026-03-02T23:00", "wake": "2026-03-03T07:00"},
    ),
    ("roomdb/status/get", {}),
]


async def _export_file_exists(hass: HomeAssistant) -> bool:
    return await hass.async_add_executor_job(export_path(hass).exists)


async def test_rooms_list_is_the_matrix_with_reasons_and_the_stored_configs(
    ws: Ws, rooms_entry: MockConfigEntry
) -> None:
    await ws.result(
        "roomdb/config/update", domain="activity", room_id="office", config_data={"a": 1}
    )
    # A row the mapping no longer covers (as after a room was removed from the file).
    async with rooms_entry.runtime_data.database.transaction() as conn:
        await conn.execute(
            "INSERT INTO room_configs VALUES ('motion_lighting', 'attic', '{}', 3, 'c', 'u')"
        )
    listing = await ws.result("roomdb/rooms/list")

    assert listing["domains"] == [
        "motion_lighting",
        "vacuum_control",
        "activity",
        "climate_schedule",
        "ml",
    ]
    rooms = {room["room_id"]: room for room in listing["rooms"]}
    assert list(rooms) == ["kitchen", "hall", "office"]
    reasons = {
        room_id: {domain: cell["reason"] for domain, cell in room["domains"].items()}
        for room_id, room in rooms.items()
    }
    assert reasons["kitchen"]["climate_schedule"] == "capability_missing"
    assert reasons["kitchen"]["vacuum_control"] is None
    assert reasons["hall"]["vacuum_control"] == "capability_missing"
    assert reasons["office"] == {
        "motion_lighting": "capability_missing",
        "vacuum_control": "capability_missing",
        "activity": None,
        "climate_schedule": "capability_missing",
        "ml": "capability_missing",
    }
    assert rooms["kitchen"]["area_name"] == "Kitchen"
    assert rooms["kitchen"]["segment_id"] == "16"
    office = rooms["office"]["configs"]["activity"]
    assert office["config_data"] == {"a": 1}
    assert office["version"] == 1
    assert office["updated_at"] == office["created_at"]
    assert listing["unmapped"] == [
        {
            "room_id": "attic",
            "configs": {
                "motion_lighting": {
                    "config_data": {},
                    "version": 3,
                    "created_at": "c",
                    "updated_at": "u",
                }
            },
        }
    ]


async def test_update_and_delete_take_the_services_path(
    hass: HomeAssistant, ws: Ws, rooms_entry: MockConfigEntry
) -> None:
    changes = async_capture_events(hass, EVENT_CONFIG_CHANGED)
    pair = {"domain": "motion_lighting", "room_id": "kitchen"}

    created = await ws.result("roomdb/config/update", **pair, config_data={"timeout": 60})
    updated = await ws.result("roomdb/config/update", **pair, config_data={"timeout": 90})
    same = await ws.result("roomdb/config/update", **pair, config_data={"timeout": 90})

    assert (created["version"], created["action"]) == (1, "created")
    assert (updated["version"], updated["action"]) == (2, "updated")
    assert (same["version"], same["action"]) == (2, "unchanged")
    await hass.async_block_till_done()
    assert [event.data["version"] for event in changes] == [1, 2]
    assert rooms_entry.runtime_data.rooms.store.counters.ok == 3

    deleted = await ws.result("roomdb/config/delete", **pair)
    assert deleted == {
        "status": "ok",
        "domain": "motion_lighting",
        "room_id": "kitchen",
        "deleted": True,
        "version": 2,
    }
    assert await db_rows(rooms_entry) == {}
    again = await ws.result("roomdb/config/delete", **pair)
    assert again["deleted"] is False


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        (
            {"domain": "vacuum_control", "room_id": "hall", "config_data": {}},
            "admission_denied",
            'Room "hall" may not hold a "vacuum_control" configuration (capability_missing)',
        ),
        (
            {"domain": "lights", "room_id": "kitchen", "config_data": {}},
            "admission_denied",
            "(unknown_domain)",
        ),
        (
            {"domain": "activity", "room_id": "garage", "config_data": {}},
            "admission_denied",
            "(unknown_room)",
        ),
        (
            {"domain": "activity", "room_id": "   ", "config_data": {}},
            "invalid_input",
            "Invalid input: room_id must be a non-empty string",
        ),
    ],
)
async def test_refused_writes_are_translated_and_change_nothing(
    hass: HomeAssistant,
    ws: Ws,
    rooms_entry: MockConfigEntry,
    data: dict[str, Any],
    key: str,
    words: str,
) -> None:
    answer = await ws.send("roomdb/config/update", **data)

    assert not answer["success"]
    error = answer["error"]
    assert error["code"] == "service_validation_error"
    assert error["translation_key"] == key
    assert error["translation_domain"] == "roomdb"
    assert words in error["message"]
    assert await db_rows(rooms_entry) == {}
    await hass.async_block_till_done()
    assert not await _export_file_exists(hass)


@pytest.mark.parametrize(
    ("command", "data"),
    [
        ("roomdb/config/update", {"domain": "activity", "room_id": "office"}),
        ("roomdb/config/update", {"domain": "activity", "room_id": "office", "config_data": []}),
        ("roomdb/config/update", {"domain": "a" * 129, "room_id": "office", "config_data": {}}),
        ("roomdb/config/delete", {"domain": "activity"}),
        ("roomdb/config/update", {"domain": 5, "room_id": "office", "config_data": {}, "x": 1}),
        ("roomdb/sleep/nights", {"nights": 0}),
        ("roomdb/sleep/nights", {"nights": 63}),
        ("roomdb/sleep/label_set", {"night_date": "yesterday", "bedtime": "x", "wake": "y"}),
        ("roomdb/mapping/generate", {"overwrite": "perhaps"}),
    ],
)
async def test_malformed_commands_are_rejected_by_the_schema(
    hass: HomeAssistant, ws: Ws, rooms_entry: MockConfigEntry, command: str, data: dict[str, Any]
) -> None:
    before = (await hass.async_add_executor_job(mapping_path(hass).read_text), rooms_entry.state)
    answer = await ws.send(command, **data)

    assert not answer["success"]
    assert answer["error"]["code"] == "invalid_format"
    assert await db_rows(rooms_entry) == {}
    after = (await hass.async_add_executor_job(mapping_path(hass).read_text), rooms_entry.state)
    assert after == before


@pytest.mark.parametrize("entry_options", [{"write_interval": 60}])
async def test_a_write_too_soon_is_refused_with_the_wait(
    ws: Ws, rooms_entry: MockConfigEntry
) -> None:
    pair = {"domain": "activity", "room_id": "office"}
    await ws.result("roomdb/config/update", **pair, config_data={"n": 1})

    answer = await ws.send("roomdb/config/update", **pair, config_data={"n": 2})

    assert answer["error"]["code"] == "home_assistant_error"
    assert answer["error"]["translation_key"] == "write_rate_limit"
    assert "was written moments ago; try again in" in answer["error"]["message"]
    assert (await db_rows(rooms_entry))[("activity", "office")][1] == 1


@pytest.mark.parametrize(("command", "data"), EVERY_COMMAND)
async def test_non_admin_users_are_refused(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
    rooms_entry: MockConfigEntry,
    command: str,
    data: dict[str, Any],
) -> None:
    before = await hass.async_add_executor_job(mapping_path(hass).read_text)
    ws = Ws(await hass_ws_client(hass, hass_read_only_access_token))

    answer = await ws.send(command, **data)

    assert not answer["success"]
    assert answer["error"]["code"] == "unauthorized"
    assert await db_rows(rooms_entry) == {}
    assert await hass.async_add_executor_job(mapping_path(hass).read_text) == before
    labels = await rooms_entry.runtime_data.database.fetchall("SELECT * FROM labels")
    assert labels == []


async def test_commands_say_when_roomdb_is_not_loaded(
    hass: HomeAssistant, ws: Ws, rooms_entry: MockConfigEntry
) -> None:
    await hass.config_entries.async_unload(rooms_entry.entry_id)
    await hass.async_block_till_done()

    answer = await ws.send("roomdb/rooms/list")

    assert answer["error"]["translation_key"] == "not_loaded"
    assert answer["error"]["message"] == "RoomDB is not set up or not loaded"


async def test_mapping_status_shows_the_problems_with_their_lines(
    hass: HomeAssistant, ws: Ws, rooms_entry: MockConfigEntry
) -> None:
    good = await ws.result("roomdb/mapping/status")
    assert (good["status"], good["source"], good["rooms"]) == ("valid", "file", 3)

    await write_mapping(
        hass,
        'version: "3.1"\nrooms:\n  kitchen:\n    name: Kitchen\n    capabilities: []\n'
        "  kitchen:\n    name: Kitchen again\n    capabilities: []\n",
    )
    await rooms_entry.runtime_data.rooms.mapping.async_reload()
    broken = await ws.result("roomdb/mapping/status")

    assert (broken["status"], broken["source"], broken["rooms"]) == ("invalid", "file", 3)
    assert broken["error_count"] >= 1
    problems = [(error["line"], error["room_id"]) for error in broken["errors"]]
    assert (6, "kitchen") in problems, broken


@pytest.mark.parametrize("mapping_text", [None])
async def test_generate_writes_a_mapping_from_the_areas_and_never_replaces_unasked(
    hass: HomeAssistant, ws: Ws
) -> None:
    generated = await ws.result("roomdb/mapping/generate")

    assert generated["rooms"] == 4
    assert generated["status"] == "valid"
    assert sorted(generated["added"]) == ["garage", "hall", "kitchen", "office"]
    assert (await ws.result("roomdb/mapping/status"))["rooms"] == 4
    written = await hass.async_add_executor_job(mapping_path(hass).read_text)

    await write_mapping(hass, written + "# my edit\n")
    refused = await ws.send("roomdb/mapping/generate")
    assert refused["error"]["translation_key"] == "mapping_exists"
    assert "already exists" in refused["error"]["message"]
    kept = await hass.async_add_executor_job(mapping_path(hass).read_text)
    assert kept.endswith("# my edit\n")

    replaced = await ws.result("roomdb/mapping/generate", overwrite=True)
    assert replaced["rooms"] == 4
    assert await hass.async_add_executor_job(mapping_path(hass).read_text) == written


async def test_generate_reports_a_failed_write_and_keeps_the_file(
    hass: HomeAssistant, ws: Ws, rooms_entry: MockConfigEntry
) -> None:
    before = await hass.async_add_executor_job(mapping_path(hass).read_text)

    def full_disk(path: object, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    with patch("custom_components.roomdb.rooms.generate.write_bytes_atomic", full_disk):
        answer = await ws.send("roomdb/mapping/generate", overwrite=True)

    assert answer["error"]["code"] == "home_assistant_error"
    assert answer["error"]["translation_key"] == "mapping_write_failed"
    assert "No space left on device" in answer["error"]["message"]
    assert await hass.async_add_executor_job(mapping_path(hass).read_text) == before


async def test_generate_follows_the_path_policy(
    hass: HomeAssistant, ws: Ws, rooms_entry: MockConfigEntry
) -> None:
    path = mapping_path(hass)
    await hass.async_add_executor_job(path.unlink)
    await hass.async_add_executor_job(path.mkdir)  # a folder where the file should be

    answer = await ws.send("roomdb/mapping/generate", overwrite=True)

    assert answer["error"]["code"] == "service_validation_error"
    assert answer["error"]["translation_key"] == "path_not_file"
    assert await hass.async_add_executor_job(Path.is_dir, path)


async def test_status_reports_every_part(ws: Ws) -> None:
    status = await ws.result("roomdb/status/get")

    assert status["rooms"]["mapping"]["status"] == "valid"
    assert status["rooms"]["pipelines"]["activity"]["enabled"] is True
    assert status["event_stream"]["enabled"] is False
    assert status["event_stream"]["state"] == "disabled"
    assert status["alarm_sync"]["status"] == "disabled"
    assert status["alarm_sync"]["target"] is None
    assert status["ml"]["labeled_nights"] == 0
    assert "readiness" in status["ml"]


async def test_mapping_status_lists_warnings_with_what_a_room_loses(
    hass: HomeAssistant, ws: Ws, rooms_entry: MockConfigEntry
) -> None:
    await write_mapping(
        hass,
        'version: "3.1"\nrooms:\n  hall:\n    name: Hall\n'
        "    capabilities: [motion_lighting, vacuum_control]\n",
    )
    await rooms_entry.runtime_data.rooms.mapping.async_reload()

    status = await ws.result("roomdb/mapping/status")

    assert (status["status"], status["rooms"], status["error_count"]) == ("valid", 1, 0)
    assert status["warning_count"] == 1
    (warning,) = status["warnings"]
    assert warning["room_id"] == "hall"
    assert warning["loses"] == ["vacuum_control"]
    assert warning["line"] is not None
    listing = await ws.result("roomdb/rooms/list")
    assert listing["rooms"][0]["domains"]["vacuum_control"]["reason"] == "segment_missing"
