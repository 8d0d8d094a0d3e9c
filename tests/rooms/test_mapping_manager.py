"""The mapping in force: missing file, polling, broken file + repair issue, last good kept."""

from __future__ import annotations

from datetime import timedelta
import logging
from pathlib import Path
from typing import Any, TextIO

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.roomdb.const import DOMAIN, ISSUE_MAPPING_INVALID, ISSUE_MAPPING_ROOMS
from custom_components.roomdb.rooms.mapping_manager import POLL_INTERVAL

from .conftest import MAPPING, mapping_path, rooms_of, write_mapping

# A room whose capabilities are not a list cannot be read: the whole file is rejected.
BROKEN = (
    'version: "3.1"\nrooms:\n  kitchen:\n    name: Kitchen\n    capabilities: [vacuum_control\n'
)
"""Unreadable as YAML (an unclosed list): rejected as a whole."""


async def poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    freezer.tick(POLL_INTERVAL + timedelta(seconds=1))
    async_fire_time_changed(hass)
    # The interval job runs as a background task.
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.mark.parametrize("mapping_text", [None])
async def test_missing_file_is_the_empty_mapping(
    hass: HomeAssistant, rooms_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    rooms = rooms_of(rooms_entry)
    assert rooms.mapping.mapping.rooms == {}
    assert rooms.mapping.health()["status"] == "missing"
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_MAPPING_INVALID) is None
    response = await hass.services.async_call(
        DOMAIN, "reload_mapping", {}, blocking=True, return_response=True
    )
    assert response == {
        "rooms": 0,
        "added": [],
        "removed": [],
        "changed": [],
        "status": "missing",
        "errors": [],
        "warnings": [],
    }


@pytest.mark.parametrize("mapping_text", [None])
async def test_poll_picks_up_a_new_file(
    hass: HomeAssistant, rooms_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    rooms = rooms_of(rooms_entry)
    await write_mapping(hass, MAPPING)
    await poll(hass, freezer)
    assert list(rooms.mapping.mapping.rooms) == ["kitchen", "hall", "office"]
    assert rooms.mapping.health()["status"] == "valid"
    # Nothing changed: the next poll does not re-read.
    loaded_at = rooms.mapping.loaded_at
    await poll(hass, freezer)
    assert rooms.mapping.loaded_at == loaded_at


async def test_broken_file_keeps_last_good_and_raises_issue_until_fixed(
    hass: HomeAssistant,
    rooms_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    rooms = rooms_of(rooms_entry)
    good = rooms.mapping.mapping
    await write_mapping(hass, BROKEN)
    await poll(hass, freezer)

    assert rooms.mapping.mapping is good
    assert rooms.mapping.health()["status"] == "invalid"
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE_MAPPING_INVALID)
    assert issue is not None
    assert issue.translation_key == ISSUE_MAPPING_INVALID
    assert issue.severity is ir.IssueSeverity.WARNING
    placeholders = issue.translation_placeholders or {}
    assert "invalid YAML" in placeholders["errors"]
    assert placeholders["rooms"] == "3"
    assert "line 6" in placeholders["errors"]
    # The old mapping still admits writes.
    await hass.services.async_call(
        DOMAIN,
        "update_config",
        {"domain": "activity", "room_id": "office", "config_data": {}},
        blocking=True,
    )

    fixed = MAPPING + "  garage:\n    name: Garage\n    capabilities: [ml]\n"
    await write_mapping(hass, fixed)
    await poll(hass, freezer)
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_MAPPING_INVALID) is None
    assert "garage" in rooms.mapping.mapping.rooms
    assert rooms.mapping.health()["status"] == "valid"


def _write_and_hold(path: Path, text: str) -> TextIO:
    """Rewrite the file in place and keep it open (one executor job: no poll sees it empty)."""
    handle = path.open("w", encoding="utf-8")
    handle.write(text)
    handle.flush()
    return handle


async def test_a_file_held_open_is_read_again_once_it_is_closed(
    hass: HomeAssistant,
    rooms_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Written in place by something inside Home Assistant: while it has the file open RoomDB
    # may not read it; once it is closed the same bytes must be read, with no further edit.
    rooms = rooms_of(rooms_entry)
    fixed = MAPPING + "  garage:\n    name: Garage\n    capabilities: [ml]\n"
    handle = await hass.async_add_executor_job(_write_and_hold, mapping_path(hass), fixed)
    try:
        for _ in range(3):
            await poll(hass, freezer)
        assert "garage" not in rooms.mapping.mapping.rooms
        assert rooms.mapping.health()["status"] == "invalid"
        issue = issue_registry.async_get_issue(DOMAIN, ISSUE_MAPPING_INVALID)
        assert issue is not None
        assert "is open in Home Assistant" in (issue.translation_placeholders or {})["errors"]
    finally:
        await hass.async_add_executor_job(handle.close)
    # Three polls refused, one warning: the same problem is not logged again.
    warned = [r for r in caplog.records if r.levelno >= logging.WARNING and "invalid" in r.message]
    assert len(warned) == 1

    await poll(hass, freezer)
    assert "garage" in rooms.mapping.mapping.rooms
    assert rooms.mapping.health()["status"] == "valid"
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_MAPPING_INVALID) is None


async def test_deleted_file_keeps_last_good(
    hass: HomeAssistant,
    rooms_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    rooms = rooms_of(rooms_entry)
    await hass.async_add_executor_job(mapping_path(hass).unlink)
    await poll(hass, freezer)
    assert len(rooms.mapping.mapping.rooms) == 3
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE_MAPPING_INVALID)
    assert issue is not None
    assert "does not exist" in (issue.translation_placeholders or {})["errors"]


async def test_restart_with_broken_file_uses_stored_last_good(
    hass: HomeAssistant, rooms_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    await hass.config_entries.async_unload(rooms_entry.entry_id)
    await write_mapping(hass, BROKEN)
    assert await hass.config_entries.async_setup(rooms_entry.entry_id)
    await hass.async_block_till_done()
    rooms = rooms_of(rooms_entry)
    assert list(rooms.mapping.mapping.rooms) == ["kitchen", "hall", "office"]
    assert rooms.mapping.health()["source"] == "last_good"
    assert rooms.mapping.health()["status"] == "invalid"
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE_MAPPING_INVALID)
    assert issue is not None
    assert (issue.translation_placeholders or {})["rooms"] == "3"


@pytest.mark.parametrize("mapping_text", [BROKEN])
async def test_first_start_with_broken_file_and_no_history(
    hass: HomeAssistant,
    rooms_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    hass_storage: dict[str, Any],
) -> None:
    rooms = rooms_of(rooms_entry)
    assert rooms.mapping.mapping.rooms == {}
    assert rooms.mapping.health()["source"] == "empty"
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_MAPPING_INVALID) is not None


async def test_unknown_area_keeps_the_room_and_area_changes_recheck(
    hass: HomeAssistant,
    rooms_entry: MockConfigEntry,
    area_registry: ar.AreaRegistry,
    issue_registry: ir.IssueRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    rooms = rooms_of(rooms_entry)
    await write_mapping(
        hass, MAPPING + "  attic:\n    name: Attic\n    area_id: attic\n    capabilities: [ml]\n"
    )
    await poll(hass, freezer)
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_MAPPING_INVALID) is None
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE_MAPPING_ROOMS)
    assert issue is not None
    assert "area registry" in (issue.translation_placeholders or {})["problems"]
    assert "attic" in rooms.mapping.mapping.rooms
    await hass.services.async_call(
        DOMAIN,
        "update_config",
        {"domain": "ml", "room_id": "attic", "config_data": {}},
        blocking=True,
    )

    # Creating the area clears the warning at once (no re-read, no time passing).
    area_registry.async_create("Attic")
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_MAPPING_ROOMS) is None
    assert rooms.mapping.health()["warnings"] == []


async def test_unusable_stored_last_good_is_ignored(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any], areas: Any
) -> None:
    hass_storage["roomdb.area_mapping"] = {
        "version": 1,
        "minor_version": 1,
        "key": "roomdb.area_mapping",
        "data": {"path": "x", "text": "rooms: [", "saved_at": "then"},
    }
    await write_mapping(hass, BROKEN)
    mock_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()
    rooms = rooms_of(mock_entry)
    assert rooms.mapping.mapping.rooms == {}
    assert rooms.mapping.health()["source"] == "empty"
    await hass.config_entries.async_unload(mock_entry.entry_id)
