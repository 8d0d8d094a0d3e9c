"""Per-room tolerance: a room the mapping cannot fully describe is kept and loses only that part.

Everything here goes through the public contract: services, the health view, the
``room_configs`` table and HA's issue registry, with real areas in HA's area registry.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import area_registry as ar, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.roomdb.const import DOMAIN, ISSUE_MAPPING_INVALID

from .conftest import admission, db_rows, write_mapping

# The repair issue's id is public: users and automations see it in the issue registry.
ISSUE_MAPPING_ROOMS = "mapping_rooms"
ALL_DOMAINS = ("motion_lighting", "vacuum_control", "activity", "climate_schedule", "ml")

# kitchen asks for all five domains (line 10) but has no segment_id.
NO_SEGMENT = """\
version: "3.1"
rooms:
  hall:
    name: Hall
    area_id: hall
    capabilities: [motion_lighting, activity]
  kitchen:
    name: Kitchen
    area_id: kitchen
    capabilities: [motion_lighting, vacuum_control, activity, climate_schedule, ml]
  office:
    name: Office
    area_id: office
    capabilities: [activity, vacuum_control]
    segment_id: "7"
"""

# The same home with kitchen's segment given: the reference for "other rooms untouched".
WITH_SEGMENT = NO_SEGMENT.replace(
    "climate_schedule, ml]\n", 'climate_schedule, ml]\n    segment_id: "16"\n'
)


async def call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


async def health(hass_client: ClientSessionGenerator) -> dict[str, Any]:
    client = await hass_client()
    response = await client.get("/api/roomdb/health")
    assert response.status == HTTPStatus.OK
    body: dict[str, Any] = await response.json()
    return body


def rooms_issue(issue_registry: ir.IssueRegistry) -> ir.IssueEntry | None:
    return issue_registry.async_get_issue(DOMAIN, ISSUE_MAPPING_ROOMS)


@pytest.mark.parametrize("mapping_text", [NO_SEGMENT], ids=["no_segment"])
async def test_room_without_segment_keeps_four_domains(
    hass: HomeAssistant,
    rooms_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    hass_client: ClientSessionGenerator,
) -> None:
    refused: dict[str, str] = {}
    for domain in ALL_DOMAINS:
        try:
            await call(
                hass,
                "update_config",
                {"domain": domain, "room_id": "kitchen", "config_data": {"n": 1}},
            )
        except ServiceValidationError as err:
            assert err.translation_key == "admission_denied"
            refused[domain] = (err.translation_placeholders or {})["reason"]
    assert refused == {"vacuum_control": "segment_missing"}
    rows = await db_rows(rooms_entry)
    assert sorted(domain for domain, room in rows if room == "kitchen") == sorted(
        set(ALL_DOMAINS) - {"vacuum_control"}
    )

    # The other rooms are admitted exactly as with kitchen's segment given.
    degraded = await admission(hass)
    await write_mapping(hass, WITH_SEGMENT)
    await call(hass, "reload_mapping", {})
    reference = await admission(hass)
    assert {k: v for k, v in degraded.items() if k[1] != "kitchen"} == {
        k: v for k, v in reference.items() if k[1] != "kitchen"
    }
    assert reference[("vacuum_control", "kitchen")] == "ok"
    await write_mapping(hass, NO_SEGMENT)
    await call(hass, "reload_mapping", {})

    report = await call(hass, "validate_mapping", {})
    assert report["valid"] is True
    assert report["rooms"] == 3
    assert report["errors"] == []
    assert report["warnings"] == [
        {
            "room_id": "kitchen",
            "line": 10,
            "key": "segment_id",
            "code": "segment_missing",
            "message": report["warnings"][0]["message"],
            "loses": ["vacuum_control"],
        }
    ]
    assert report["matrix"]["vacuum_control"] == {"hall": False, "kitchen": False, "office": True}
    assert report["matrix"]["ml"]["kitchen"] is True

    mapping = (await health(hass_client))["mapping"]
    assert mapping["status"] == "valid"
    assert mapping["rooms"] == 3
    assert [w["code"] for w in mapping["warnings"]] == ["segment_missing"]
    issue = rooms_issue(issue_registry)
    assert issue is not None
    assert issue.translation_key == ISSUE_MAPPING_ROOMS
    assert (issue.translation_placeholders or {})["rooms"] == "kitchen"
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_MAPPING_INVALID) is None

    # Fixing the file clears the warning and the issue.
    await write_mapping(hass, WITH_SEGMENT)
    response = await call(hass, "reload_mapping", {})
    assert response["warnings"] == []
    assert rooms_issue(issue_registry) is None
    assert (await health(hass_client))["mapping"]["warnings"] == []


async def test_deleted_area_keeps_every_room_and_clears_when_recreated(
    hass: HomeAssistant,
    rooms_entry: MockConfigEntry,
    areas: dict[str, str],
    area_registry: ar.AreaRegistry,
    issue_registry: ir.IssueRegistry,
    hass_client: ClientSessionGenerator,
) -> None:
    # Before the first HTTP client freezes the router.
    assert await async_setup_component(hass, "diagnostics", {})
    before = await admission(hass)
    assert rooms_issue(issue_registry) is None

    area_registry.async_delete(areas["Hall"])
    # No reload, no poll, no time passing: the registry event alone updates the status.
    await hass.async_block_till_done()

    assert await admission(hass) == before
    seeded = await call(hass, "seed_from_mapping", {})
    assert seeded["counts"] == {"ok": 7, "denied": 0, "retry": 0, "error": 0}
    mapping = (await health(hass_client))["mapping"]
    assert mapping["rooms"] == 3
    assert [(w["room_id"], w["code"], w["line"]) for w in mapping["warnings"]] == [
        ("hall", "unknown_area", 10)
    ]
    assert mapping["warnings"][0]["loses"] == [
        "activity_sensors",
        "vacuum_clean_area",
        "ml_room_events",
    ]
    issue = rooms_issue(issue_registry)
    assert issue is not None
    assert (issue.translation_placeholders or {})["rooms"] == "hall"
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, rooms_entry)
    assert diagnostics["rooms"]["mapping"]["limited_rooms"] == ["hall"]
    assert diagnostics["rooms"]["mapping"]["warning_count"] == 1
    report = await call(hass, "validate_mapping", {})
    assert report["valid"] is True
    assert [(w["room_id"], w["code"]) for w in report["warnings"]] == [("hall", "unknown_area")]

    # A second area gone: both rooms named.
    area_registry.async_delete(areas["Office"])
    await hass.async_block_till_done()
    issue = rooms_issue(issue_registry)
    assert issue is not None
    assert (issue.translation_placeholders or {})["rooms"] == "hall, office"

    # A rename keeps the id, so the kitchen is unaffected; renaming the garage to a name close
    # to the missing area makes the warning (and the issue) suggest it, live.
    area_registry.async_update(areas["Kitchen"], name="Cooking")
    area_registry.async_update(areas["Garage"], name="Hallway")
    await hass.async_block_till_done()
    warnings = (await health(hass_client))["mapping"]["warnings"]
    assert [w["room_id"] for w in warnings] == ["hall", "office"]
    assert "did you mean 'garage', named 'Hallway'" in warnings[0]["message"]
    assert (issue := rooms_issue(issue_registry)) is not None
    assert "named 'Hallway'" in (issue.translation_placeholders or {})["problems"]

    # Re-creating the areas (same names, so the same ids) clears the warnings and the issue.
    assert area_registry.async_create("Hall").id == "hall"
    await hass.async_block_till_done()
    assert (issue := rooms_issue(issue_registry)) is not None
    assert (issue.translation_placeholders or {})["rooms"] == "office"
    area_registry.async_create("Office")
    await hass.async_block_till_done()
    assert rooms_issue(issue_registry) is None
    assert (await health(hass_client))["mapping"]["warnings"] == []
    assert await admission(hass) == before


@pytest.mark.parametrize("mapping_text", [NO_SEGMENT], ids=["no_segment"])
@pytest.mark.parametrize(
    ("broken", "code"),
    [
        ("rooms: [", "yaml_syntax"),
        ('version: "2.0"\nrooms: {}\n', "wrong_version"),
        ('version: "3.1"\n', "missing_field"),
        ("", "empty_document"),
        (
            'version: "3.1"\nrooms:\n' + "".join(f"  r{i}: {{}}\n" for i in range(501)),
            "too_many_rooms",
        ),
        ('version: "3.1"\nrooms:\n  a:' + " [" * 40 + " ]" * 40 + "\n", "yaml_syntax"),
        ("#" * (1024 * 1024 + 1), "file_too_large"),
    ],
    ids=[
        "bad_yaml",
        "wrong_version",
        "no_rooms",
        "empty",
        "too_many_rooms",
        "too_deep",
        "too_large",
    ],
)
async def test_whole_file_error_keeps_last_good_mapping(
    hass: HomeAssistant,
    rooms_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    hass_client: ClientSessionGenerator,
    broken: str,
    code: str,
) -> None:
    before = await admission(hass)
    assert before[("vacuum_control", "kitchen")] == "segment_missing"
    await write_mapping(hass, broken)
    with pytest.raises(HomeAssistantError) as info:
        await call(hass, "reload_mapping", {})
    assert info.value.translation_key == "mapping_reload_failed"

    # The last good mapping (with its degraded room) stays in force.
    assert await admission(hass) == before
    await call(
        hass, "update_config", {"domain": "ml", "room_id": "kitchen", "config_data": {"a": 1}}
    )
    mapping = (await health(hass_client))["mapping"]
    assert mapping["status"] == "invalid"
    assert mapping["rooms"] == 3
    assert code in {e["code"] for e in mapping["errors"]}
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_MAPPING_INVALID) is not None
    # The rooms of the mapping in force still have their problem, so that issue stays.
    assert (issue := rooms_issue(issue_registry)) is not None
    assert (issue.translation_placeholders or {})["rooms"] == "kitchen"

    report = await call(hass, "validate_mapping", {})
    assert report["valid"] is False
    assert report["warnings"] == []
    assert code in {e["code"] for e in report["errors"]}


async def test_issue_is_current_after_the_entry_is_reloaded(
    hass: HomeAssistant,
    rooms_entry: MockConfigEntry,
    areas: dict[str, str],
    area_registry: ar.AreaRegistry,
    issue_registry: ir.IssueRegistry,
) -> None:
    area_registry.async_delete(areas["Office"])
    await hass.async_block_till_done()
    assert rooms_issue(issue_registry) is not None

    # Fixed while RoomDB was not loaded: the next start must not leave the old issue behind.
    assert await hass.config_entries.async_unload(rooms_entry.entry_id)
    area_registry.async_create("Office")
    assert await hass.config_entries.async_setup(rooms_entry.entry_id)
    await hass.async_block_till_done()
    assert rooms_issue(issue_registry) is None
