"""Room-database services end to end: real HA, real areas, real mapping file, real SQLite."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.roomdb.const import DOMAIN, EVENT_CONFIG_CHANGED

from .conftest import MAPPING, db_rows, rooms_of, write_mapping


async def call(hass: HomeAssistant, service: str, data: dict[str, Any], **kwargs: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True, **kwargs
    )


async def test_update_config_and_idempotency(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    events = async_capture_events(hass, EVENT_CONFIG_CHANGED)
    data = {"domain": "motion_lighting", "room_id": "kitchen", "config_data": {"timeout": 120}}
    first = await call(hass, "update_config", data)
    assert first == {
        "status": "ok",
        "domain": "motion_lighting",
        "room_id": "kitchen",
        "version": 1,
        "action": "created",
    }
    again = await call(hass, "update_config", data)
    assert (again["version"], again["action"]) == (1, "unchanged")
    data["config_data"] = {"timeout": 60}
    assert (await call(hass, "update_config", data))["version"] == 2
    await hass.async_block_till_done()
    assert [e.data for e in events] == [
        {"domain": "motion_lighting", "room_id": "kitchen", "version": 1, "action": "created"},
        {"domain": "motion_lighting", "room_id": "kitchen", "version": 2, "action": "updated"},
    ]
    assert await db_rows(rooms_entry) == {
        ("motion_lighting", "kitchen"): (json.dumps({"timeout": 60}, separators=(",", ":")), 2)
    }


@pytest.mark.parametrize(
    ("domain", "room_id", "reason"),
    [
        ("ml", "hall", "capability_missing"),
        ("vacuum_control", "hall", "capability_missing"),
        ("vacuum_control", "office", "capability_missing"),
        ("activity", "garage", "unknown_room"),
        ("sprinklers", "kitchen", "unknown_domain"),
    ],
)
async def test_update_config_denied_changes_nothing(
    hass: HomeAssistant, rooms_entry: MockConfigEntry, domain: str, room_id: str, reason: str
) -> None:
    events = async_capture_events(hass, EVENT_CONFIG_CHANGED)
    with pytest.raises(ServiceValidationError) as info:
        await call(hass, "update_config", {"domain": domain, "room_id": room_id, "config_data": {}})
    assert info.value.translation_key == "admission_denied"
    assert info.value.translation_placeholders == {
        "room_id": room_id,
        "domain": domain,
        "reason": reason,
    }
    assert room_id in str(info.value) and domain in str(info.value)
    assert await db_rows(rooms_entry) == {}
    await hass.async_block_till_done()
    assert events == []
    assert rooms_of(rooms_entry).store.counters.denied == 1


@pytest.mark.parametrize("entry_options", [{"write_interval": 30, "write_jitter": 0.2}])
async def test_update_config_rate_limited(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    data = {"domain": "activity", "room_id": "hall", "config_data": {"n": 1}}
    await call(hass, "update_config", data)
    data["config_data"] = {"n": 2}
    with pytest.raises(HomeAssistantError) as info:
        await call(hass, "update_config", data)
    assert not isinstance(info.value, ServiceValidationError)
    assert info.value.translation_key == "write_rate_limit"
    retry_after = float(info.value.translation_placeholders["retry_after"])
    assert 30 * 0.8 - 1 <= retry_after <= 30 * 1.2
    rows = await db_rows(rooms_entry)
    assert rows[("activity", "hall")] == ('{"n":1}', 1)
    # A different room is its own key.
    data["room_id"] = "kitchen"
    assert (await call(hass, "update_config", data))["status"] == "ok"


async def test_update_config_input_errors(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    with pytest.raises(vol.Invalid):
        await call(hass, "update_config", {"domain": "activity", "room_id": "hall"})
    with pytest.raises(vol.Invalid):
        await call(
            hass, "update_config", {"domain": "activity", "room_id": "hall", "config_data": [1]}
        )
    with pytest.raises(ServiceValidationError) as info:
        await call(
            hass,
            "update_config",
            {"domain": "activity", "room_id": "hall", "config_data": {"x": float("nan")}},
        )
    assert info.value.translation_key == "invalid_input"
    assert await db_rows(rooms_entry) == {}


async def test_mutating_services_need_an_admin(
    hass: HomeAssistant, rooms_entry: MockConfigEntry, hass_read_only_user: User
) -> None:
    context = Context(user_id=hass_read_only_user.id)
    for service, data in (
        ("update_config", {"domain": "activity", "room_id": "hall", "config_data": {}}),
        ("delete_config", {"domain": "activity", "room_id": "hall"}),
        ("bulk_update", {"items": []}),
        ("reload_mapping", {}),
        ("seed_from_mapping", {}),
        ("validate_mapping", {}),
        ("export", {}),
    ):
        with pytest.raises(Unauthorized):
            await call(hass, service, data, context=context)
    assert await db_rows(rooms_entry) == {}


async def test_delete_config(hass: HomeAssistant, rooms_entry: MockConfigEntry) -> None:
    events = async_capture_events(hass, EVENT_CONFIG_CHANGED)
    key = {"domain": "activity", "room_id": "hall"}
    await call(hass, "update_config", {**key, "config_data": {"a": 1}})
    response = await call(hass, "delete_config", key)
    assert response == {
        "status": "ok",
        "domain": "activity",
        "room_id": "hall",
        "deleted": True,
        "version": 1,
    }
    assert (await call(hass, "delete_config", key))["deleted"] is False
    with pytest.raises(ServiceValidationError) as info:
        await call(hass, "delete_config", {"domain": "ml", "room_id": "hall"})
    assert info.value.translation_key == "admission_denied"
    await hass.async_block_till_done()
    assert [e.data["action"] for e in events] == ["created", "deleted"]
    assert await db_rows(rooms_entry) == {}


@pytest.mark.parametrize("entry_options", [{"write_interval": 60, "write_jitter": 0.2}])
async def test_bulk_update_1000_mixed_items(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    await call(
        hass, "update_config", {"domain": "activity", "room_id": "office", "config_data": {}}
    )
    items: list[Any] = []
    expected: list[str] = []
    rooms = ("kitchen", "hall")
    for i in range(1000):
        match i % 5:
            case 0:  # valid, but only the first write per key passes the limiter
                items.append(
                    {"domain": "motion_lighting", "room_id": rooms[i % 2], "config_data": {"i": i}}
                )
                expected.append("ok" if i < 2 * 5 else "retry")
            case 1:  # ML-like domain in a room without it
                items.append({"domain": "ml", "room_id": "hall", "config_data": {}})
                expected.append("denied")
            case 2:  # vacuum_control in a room without a segment
                items.append({"domain": "vacuum_control", "room_id": "office", "config_data": {}})
                expected.append("denied")
            case 3:  # malformed
                items.append({"domain": "activity", "room_id": "hall"} if i % 2 else "junk")
                expected.append("error")
            case _:  # limited: written just before the bulk call
                items.append({"domain": "activity", "room_id": "office", "config_data": {"i": i}})
                expected.append("retry")
    response = await call(hass, "bulk_update", {"items": items})
    assert response["status"] == "partial"
    assert [r["status"] for r in response["results"]] == expected
    assert response["counts"] == {
        "ok": expected.count("ok"),
        "denied": expected.count("denied"),
        "retry": expected.count("retry"),
        "error": expected.count("error"),
    }
    denied = response["results"][1]
    assert denied == {
        "domain": "ml",
        "room_id": "hall",
        "status": "denied",
        "error": "admission_denied",
        "message": denied["message"],
        "reason": "capability_missing",
    }
    assert response["results"][4]["error"] == "write_rate_limit"
    assert response["results"][4]["retry_after"] > 0
    assert response["results"][3]["error"] == "invalid_input"
    rows = await db_rows(rooms_entry)
    assert set(rows) == {
        ("activity", "office"),
        ("motion_lighting", "kitchen"),
        ("motion_lighting", "hall"),
    }
    assert rows[("motion_lighting", "kitchen")] == ('{"i":0}', 1)
    assert rows[("motion_lighting", "hall")] == ('{"i":5}', 1)


async def test_bulk_update_all_ok_and_limits(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    response = await call(
        hass,
        "bulk_update",
        {"items": [{"domain": "activity", "room_id": "hall", "config_data": {"a": 1}}]},
    )
    assert response["status"] == "ok"
    assert response["results"] == [
        {"domain": "activity", "room_id": "hall", "status": "ok", "action": "created", "version": 1}
    ]
    assert (await call(hass, "bulk_update", {"items": []}))["results"] == []
    with pytest.raises(vol.Invalid):
        await call(hass, "bulk_update", {})
    with pytest.raises(vol.Invalid):
        await call(hass, "bulk_update", {"items": [{}] * 10_001})


async def test_seed_from_mapping(hass: HomeAssistant, rooms_entry: MockConfigEntry) -> None:
    await call(
        hass,
        "update_config",
        {"domain": "motion_lighting", "room_id": "kitchen", "config_data": {"timeout": 45}},
    )
    dry = await call(hass, "seed_from_mapping", {"dry_run": True})
    assert dry["dry_run"] is True
    planned = {(r["domain"], r["room_id"]): r for r in dry["results"]}
    # Only pairs the mapping allows; kitchen's own timeout is kept (fill), enabled added.
    assert set(planned) == {
        ("motion_lighting", "kitchen"),
        ("motion_lighting", "hall"),
        ("vacuum_control", "kitchen"),
        ("activity", "kitchen"),
        ("activity", "hall"),
        ("activity", "office"),
        ("ml", "kitchen"),
    }
    assert planned[("motion_lighting", "kitchen")]["config_data"] == {
        "timeout": 45,
        "enabled": True,
    }
    assert planned[("vacuum_control", "kitchen")]["config_data"] == {
        "enabled": True,
        "segment_id": "16",
    }
    assert {"room_id": "hall", "domain": "vacuum_control", "reason": "capability_missing"} in dry[
        "skipped"
    ]
    assert len(await db_rows(rooms_entry)) == 1

    seeded = await call(hass, "seed_from_mapping", {})
    assert seeded["status"] == "ok"
    assert seeded["counts"]["ok"] == 7
    rows = await db_rows(rooms_entry)
    assert len(rows) == 7
    assert json.loads(rows[("motion_lighting", "kitchen")][0]) == {"timeout": 45, "enabled": True}
    assert rows[("motion_lighting", "kitchen")][1] == 2
    assert json.loads(rows[("motion_lighting", "hall")][0]) == {"timeout": 300, "enabled": True}

    # Seeding again changes nothing (no version bumps).
    again = await call(hass, "seed_from_mapping", {})
    assert {r["action"] for r in again["results"]} == {"unchanged"}
    assert await db_rows(rooms_entry) == rows

    # Restricting to a domain and rooms, naming a room that cannot hold it.
    narrow = await call(
        hass,
        "seed_from_mapping",
        {"domain": "vacuum_control", "rooms": ["kitchen", "office", "attic"], "dry_run": True},
    )
    assert [(r["room_id"], r["action"]) for r in narrow["results"]] == [("kitchen", "unchanged")]
    assert {(s["room_id"], s["reason"]) for s in narrow["skipped"]} == {
        ("office", "capability_missing"),
        ("attic", "unknown_room"),
    }


async def test_reload_mapping_diff(hass: HomeAssistant, rooms_entry: MockConfigEntry) -> None:
    unchanged = await call(hass, "reload_mapping", {})
    assert unchanged == {
        "rooms": 3,
        "added": [],
        "removed": [],
        "changed": [],
        "status": "valid",
        "errors": [],
        "warnings": [],
    }
    new = (
        MAPPING.replace(
            "capabilities: [motion_lighting, activity]\n", "capabilities: [activity]\n"
        ).replace(
            "  office:\n    name: Office\n    area_id: office\n    capabilities: [activity]\n", ""
        )
        + "  garage:\n    name: Garage\n    area_id: garage\n    capabilities: [ml]\n"
    )
    await write_mapping(hass, new)
    response = await call(hass, "reload_mapping", {})
    assert response["rooms"] == 3
    assert response["added"] == ["garage"]
    assert response["removed"] == ["office"]
    assert response["changed"] == [
        {
            "room_id": "hall",
            "capabilities_added": [],
            "capabilities_removed": ["motion_lighting"],
            "fields_changed": [],
        }
    ]
    # The new mapping is in force at once.
    await call(hass, "update_config", {"domain": "ml", "room_id": "garage", "config_data": {}})
    with pytest.raises(ServiceValidationError):
        await call(
            hass, "update_config", {"domain": "activity", "room_id": "office", "config_data": {}}
        )


async def test_reload_mapping_broken_file_fails_and_keeps_mapping(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    await write_mapping(hass, 'version: "4"\nrooms:\n  hall:\n    name: Hall\n')
    with pytest.raises(HomeAssistantError) as info:
        await call(hass, "reload_mapping", {})
    assert info.value.translation_key == "mapping_reload_failed"
    assert "version" in info.value.translation_placeholders["errors"]
    assert len(rooms_of(rooms_entry).mapping.mapping.rooms) == 3


async def test_validate_mapping(hass: HomeAssistant, rooms_entry: MockConfigEntry) -> None:
    response = await call(hass, "validate_mapping", {})
    assert response["valid"] is True
    assert response["errors"] == []
    assert response["matrix"]["vacuum_control"] == {
        "kitchen": True,
        "hall": False,
        "office": False,
    }
    assert response["matrix"]["ml"]["kitchen"] is True

    await write_mapping(hass, "version: 3.1\nrooms:\n  x: {name: X, area_id: nowhere}\n")
    other = await call(hass, "validate_mapping", {"path": "roomdb/area_mapping.yaml"})
    assert other["valid"] is False
    assert other["matrix"] == {}
    codes = {e["code"] for e in other["errors"]}
    assert "wrong_version" in codes
    missing = await call(hass, "validate_mapping", {"path": "roomdb/nope.yaml"})
    assert missing["errors"][0]["code"] == "file_missing"
    with pytest.raises(ServiceValidationError) as info:
        await call(hass, "validate_mapping", {"path": "../secrets.yaml"})
    assert info.value.translation_key == "path_outside_config"


async def test_validate_mapping_without_loaded_entry(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    await hass.config_entries.async_unload(rooms_entry.entry_id)
    response = await call(hass, "validate_mapping", {})
    assert response["valid"] is True
    assert response["rooms"] == 3
    with pytest.raises(ServiceValidationError) as info:
        await call(
            hass, "update_config", {"domain": "activity", "room_id": "hall", "config_data": {}}
        )
    assert info.value.translation_key == "not_loaded"
