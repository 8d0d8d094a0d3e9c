"""Limits on the area mapping file: no file stalls RoomDB's setup, the last good mapping stays.

A mapping file over 1 MiB, with more than 500 rooms, or nested deeper than YAML needs is refused
before it is parsed whole; the last good mapping (kept in RoomDB's store) stays in force and the
``mapping_invalid`` repair issue is raised.
"""

from __future__ import annotations

from pathlib import Path
import time
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.const import DOMAIN, ISSUE_MAPPING_INVALID

from .conftest import MAPPING, mapping_path, rooms_of, write_mapping


async def call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


STORED_ROOMS = ("kitchen", "hall", "office")


def _big_mapping(rooms: int, padding: int = 0) -> str:
    lines = ['version: "3.1"', "rooms:"]
    for index in range(rooms):
        lines.append(f"  room_{index}:")
        lines.append(f"    name: Room {index}")
        lines.append("    capabilities: [activity]")
    text = "\n".join(lines) + "\n"
    return text + "#" * padding + "\n" if padding else text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (_big_mapping(10, padding=1_100_000), "file_too_large"),
        (_big_mapping(501), "too_many_rooms"),
        ("[" * 100_000 + "]" * 100_000, "yaml_syntax"),
    ],
    ids=["over_1_mib", "501_rooms", "nested_100000_deep"],
)
async def test_oversized_mapping_at_setup_keeps_the_last_good_one(
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    issue_registry: ir.IssueRegistry,
    areas: Any,
    text: str,
    code: str,
) -> None:
    # The last good mapping from an earlier run, kept in RoomDB's store.
    hass_storage["roomdb.area_mapping"] = {
        "version": 1,
        "minor_version": 1,
        "key": "roomdb.area_mapping",
        "data": {"path": "x", "text": MAPPING, "saved_at": "yesterday"},
    }
    await write_mapping(hass, text)
    mock_entry.add_to_hass(hass)
    started = time.monotonic()
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()
    elapsed = time.monotonic() - started
    rooms = rooms_of(mock_entry)
    assert tuple(rooms.mapping.mapping.rooms) == STORED_ROOMS
    health = rooms.mapping.health()
    assert (health["status"], health["source"]) == ("invalid", "last_good")
    assert [error["code"] for error in health["errors"]] == [code], elapsed
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_MAPPING_INVALID) is not None
    await hass.config_entries.async_unload(mock_entry.entry_id)


async def test_validate_mapping_reports_the_limits(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    path: Path = mapping_path(hass)
    big = path.with_name("big.yaml")
    await hass.async_add_executor_job(big.write_text, _big_mapping(10, padding=2_000_000))
    response = await call(hass, "validate_mapping", {"path": "roomdb/big.yaml"})
    assert response["valid"] is False
    assert [error["code"] for error in response["errors"]] == ["file_too_large"]
    assert "1048576" in response["errors"][0]["message"]

    many = path.with_name("many.yaml")
    await hass.async_add_executor_job(many.write_text, _big_mapping(600))
    response = await call(hass, "validate_mapping", {"path": "roomdb/many.yaml"})
    assert [error["code"] for error in response["errors"]] == ["too_many_rooms"]
    assert "500" in response["errors"][0]["message"]
