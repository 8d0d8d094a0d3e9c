"""A generated family of homes, each with a random subset of rooms broken in one of several ways.

Exactly the broken rooms lose exactly what their problem costs them, and every other room is
admitted as it would be in the same home with nothing broken. Expectations are computed here
from how each room was generated, not from RoomDB's own rules.
"""

from __future__ import annotations

import random
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar, issue_registry as ir
from homeassistant.util import slugify
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.const import DOMAIN

from .conftest import admission, write_mapping

ISSUE_MAPPING_ROOMS = "mapping_rooms"
DOMAINS = ("motion_lighting", "vacuum_control", "activity", "climate_schedule", "ml")
VACUUM = "vacuum_control"
# How a room is broken -> the warning code it must get (None: not broken).
WAYS: dict[str, str | None] = {
    "fine": None,
    "no_segment": "segment_missing",
    "unquoted_segment": "wrong_type",
    "unknown_area": "unknown_area",
    "deleted_area": "unknown_area",
    "typo_capability": "unknown_capability",
    "no_name": "missing_field",
    "capabilities_not_a_list": "wrong_type",
}
SEGMENT_BROKEN = frozenset({"no_segment", "unquoted_segment"})
HOMES = 12


async def call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


def generate_home(rng: random.Random, home: int) -> dict[str, tuple[str, tuple[str, ...]]]:
    """``{room_id: (way, capabilities)}``: 2-9 rooms, about a third of them broken."""
    rooms: dict[str, tuple[str, tuple[str, ...]]] = {}
    for n in range(rng.randint(2, 9)):
        way = "fine" if rng.random() < 0.4 else rng.choice(list(WAYS))
        capabilities = [d for d in DOMAINS if rng.random() < 0.5]
        if way == "capabilities_not_a_list" and not capabilities:
            capabilities.append(rng.choice(DOMAINS))
        if way in SEGMENT_BROKEN and VACUUM not in capabilities:
            capabilities.append(VACUUM)
        rooms[f"h{home}_r{n}"] = (way, tuple(capabilities))
    return rooms


def render(rooms: dict[str, tuple[str, tuple[str, ...]]], *, broken: bool) -> str:
    lines = ['version: "3.1"', "rooms:"]
    for room_id, (generated_way, capabilities) in rooms.items():
        way = generated_way if broken else "fine"
        listed = list(capabilities) + (["motion_lightning"] if way == "typo_capability" else [])
        lines.append(f"  {room_id}:")
        if way != "no_name":
            lines.append(f"    name: Room {room_id}")
        lines.append(f"    area_id: {'nowhere_' + room_id if way == 'unknown_area' else room_id}")
        if way == "capabilities_not_a_list":
            lines.append(f"    capabilities: {', '.join(listed) or 'none'}")
        else:
            lines.append(f"    capabilities: [{', '.join(listed)}]")
        if way == "unquoted_segment":
            lines.append("    segment_id: 12")
        elif way != "no_segment" and VACUUM in capabilities:
            lines.append(f'    segment_id: "{room_id}"')
    return "\n".join(lines) + "\n"


def expected_admission(
    rooms: dict[str, tuple[str, tuple[str, ...]]],
) -> dict[tuple[str, str], str]:
    answer: dict[tuple[str, str], str] = {}
    for room_id, (way, capabilities) in rooms.items():
        for domain in DOMAINS:
            if domain not in capabilities or way == "capabilities_not_a_list":
                answer[domain, room_id] = "capability_missing"
            elif domain == VACUUM and way in SEGMENT_BROKEN:
                answer[domain, room_id] = "segment_missing"
            else:
                answer[domain, room_id] = "ok"
    return answer


@pytest.mark.parametrize("seed", [20261206, 7, 4242])
async def test_generated_homes_lose_exactly_what_is_broken(
    hass: HomeAssistant,
    rooms_entry: MockConfigEntry,
    area_registry: ar.AreaRegistry,
    issue_registry: ir.IssueRegistry,
    seed: int,
) -> None:
    rng = random.Random(seed)
    ways_seen: set[str] = set()
    for home in range(HOMES):
        rooms = generate_home(rng, home)
        ways_seen |= {way for way, _caps in rooms.values()}
        created = {
            room_id: area_registry.async_create(f"{room_id}").id
            for room_id, (way, _caps) in rooms.items()
            if way != "unknown_area"
        }
        assert all(area_id == slugify(room_id) for room_id, area_id in created.items())

        # The same home with nothing broken is the reference for the rooms that are fine.
        await write_mapping(hass, render(rooms, broken=False))
        await call(hass, "reload_mapping", {})
        reference = await admission(hass)

        await write_mapping(hass, render(rooms, broken=True))
        response = await call(hass, "reload_mapping", {})
        assert response["rooms"] == len(rooms)
        for room_id, (way, _caps) in rooms.items():
            if way == "deleted_area":
                area_registry.async_delete(created[room_id])
        await hass.async_block_till_done()

        got = await admission(hass)
        assert got == expected_admission(rooms), home
        fine = {room_id for room_id, (way, _caps) in rooms.items() if way == "fine"}
        assert {k: v for k, v in got.items() if k[1] in fine} == {
            k: v for k, v in reference.items() if k[1] in fine
        }

        broken = {room_id: WAYS[way] for room_id, (way, _caps) in rooms.items() if WAYS[way]}
        report = await call(hass, "validate_mapping", {})
        assert report["valid"] is True
        assert report["errors"] == []
        assert {w["room_id"]: w["code"] for w in report["warnings"]} == broken, home
        assert len(report["warnings"]) == len(broken)
        issue = issue_registry.async_get_issue(DOMAIN, ISSUE_MAPPING_ROOMS)
        if broken:
            assert issue is not None
            assert (issue.translation_placeholders or {})["rooms"] == ", ".join(sorted(broken))
        else:
            assert issue is None

        for area_id in created.values():
            if area_registry.async_get_area(area_id) is not None:
                area_registry.async_delete(area_id)
        await hass.async_block_till_done()
    assert ways_seen == set(WAYS)
