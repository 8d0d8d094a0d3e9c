"""Fixtures for the room database glue: a mapping file, real HA areas, a loaded entry."""

from __future__ import annotations

from collections.abc import AsyncIterator
import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.const import DEFAULT_EXPORT_PATH, DEFAULT_MAPPING_PATH, DOMAIN
from custom_components.roomdb.rooms.runtime import RoomsRuntime
from tests.conftest import roomdb_set_up

# kitchen: everything (with a vacuum segment); hall: no vacuum, no ml; office: activity only.
MAPPING = """\
version: "3.1"
rooms:
  kitchen:
    name: Kitchen
    area_id: kitchen
    capabilities: [motion_lighting, vacuum_control, activity, ml]
    segment_id: "16"
  hall:
    name: Hall
    area_id: hall
    capabilities: [motion_lighting, activity]
  office:
    name: Office
    area_id: office
    capabilities: [activity]
"""

AREAS = ("Kitchen", "Hall", "Office", "Garage")


def mapping_path(hass: HomeAssistant) -> Path:
    return Path(hass.config.config_dir) / DEFAULT_MAPPING_PATH


def export_path(hass: HomeAssistant) -> Path:
    return Path(hass.config.config_dir) / DEFAULT_EXPORT_PATH


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


async def write_mapping(hass: HomeAssistant, text: str) -> None:
    await hass.async_add_executor_job(_write, mapping_path(hass), text)


def rooms_of(entry: MockConfigEntry) -> RoomsRuntime:
    rooms: RoomsRuntime = entry.runtime_data.rooms
    return rooms


async def sql_by_domain(entry: MockConfigEntry) -> dict[str, dict[str, Any]]:
    """Every stored room config as {domain: {room_id: {config_data, version, updated_at}}}."""
    rows = await entry.runtime_data.database.fetchall(
        "SELECT config_domain, room_id, config_data, version, updated_at FROM room_configs"
    )
    result: dict[str, dict[str, Any]] = {}
    for domain, room_id, text, version, updated_at in rows:
        result.setdefault(domain, {})[room_id] = {
            "config_data": json.loads(text),
            "version": version,
            "updated_at": updated_at,
        }
    return result


async def db_rows(entry: MockConfigEntry) -> dict[tuple[str, str], tuple[str, int]]:
    """Everything in room_configs: {(domain, room_id): (config_data text, version)}."""
    rows = await entry.runtime_data.database.fetchall(
        "SELECT config_domain, room_id, config_data, version FROM room_configs"
    )
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


async def admission(hass: HomeAssistant) -> dict[tuple[str, str], str]:
    """Every (domain, room) the mapping in force names: ``ok`` or the refusal reason.

    Read through ``seed_from_mapping`` (dry run), which answers for every pair at once.
    """
    plan: Any = await hass.services.async_call(
        DOMAIN, "seed_from_mapping", {"dry_run": True}, blocking=True, return_response=True
    )
    answer = {(r["domain"], r["room_id"]): "ok" for r in plan["results"]}
    answer |= {(s["domain"], s["room_id"]): s["reason"] for s in plan["skipped"]}
    return answer


@pytest.fixture
def mapping_text() -> str | None:
    """The mapping file written before setup (None: no file)."""
    return MAPPING


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Room tests write the same key repeatedly: no limiter unless a test asks for one."""
    return {"write_interval": 0}


@pytest.fixture
async def areas(area_registry: ar.AreaRegistry) -> dict[str, str]:
    """Real areas in HA's registry: {name: area_id}."""
    return {name: area_registry.async_create(name).id for name in AREAS}


@pytest.fixture
async def rooms_entry(
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    areas: dict[str, str],
    mapping_text: str | None,
) -> AsyncIterator[MockConfigEntry]:
    """RoomDB set up with the mapping file (and areas) in place; unloaded afterwards."""
    if mapping_text is not None:
        await write_mapping(hass, mapping_text)
    async with roomdb_set_up(hass, mock_entry):
        yield mock_entry
