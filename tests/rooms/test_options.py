"""Options: the "rooms" section and the mapping generator."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.const import CONF_MAPPING_PATH
from custom_components.roomdb.rooms.mapping_parse import parse_mapping

from .conftest import MAPPING, mapping_path, rooms_of


async def open_section(hass: HomeAssistant, entry: MockConfigEntry, section: str) -> str:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert {"database", "rooms", "generate_mapping"} <= set(result["menu_options"])
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": section}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == section
    return str(result["flow_id"])


async def test_rooms_section_saves_and_reloads(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    flow_id = await open_section(hass, rooms_entry, "rooms")
    result = await hass.config_entries.options.async_configure(
        flow_id,
        {
            "write_interval": 2.5,
            "write_jitter": 0.1,
            "activity_enabled": False,
            "vacuum_enabled": True,
            "vacuum_dry_run": True,
            "vacuum_optimistic_writeback": False,
        },
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert rooms_entry.options["write_interval"] == 2.5
    assert rooms_entry.state is ConfigEntryState.LOADED
    rooms = rooms_of(rooms_entry)
    assert (rooms.limiter.interval, rooms.limiter.jitter) == (2.5, 0.1)
    assert rooms.activity is None
    assert rooms.vacuum is not None and rooms.vacuum.dry_run is True


@pytest.mark.parametrize("mapping_text", [None])
async def test_generate_mapping_from_areas_and_vacuum_segments(
    hass: HomeAssistant,
    rooms_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    entity_registry.async_get_or_create("vacuum", "test", "robot", suggested_object_id="robot")
    entity_registry.async_update_entity_options(
        "vacuum.robot", "vacuum", {"area_mapping": {"kitchen": ["16", "17"], "hall": []}}
    )
    entity_registry.async_get_or_create("vacuum", "test", "plain", suggested_object_id="plain")
    assert rooms_of(rooms_entry).mapping.mapping.rooms == {}

    flow_id = await open_section(hass, rooms_entry, "generate_mapping")
    result = await hass.config_entries.options.async_configure(flow_id, {"overwrite": False})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "mapping_generated"
    assert result["description_placeholders"] == {
        "path": rooms_entry.data[CONF_MAPPING_PATH],
        "rooms": "4",
        "vacuum_rooms": "1",
    }
    text = await hass.async_add_executor_job(mapping_path(hass).read_text)
    mapping = parse_mapping(text).mapping
    assert mapping is not None
    assert set(mapping.rooms) == {"kitchen", "hall", "office", "garage"}
    kitchen = mapping.rooms["kitchen"]
    assert kitchen.segment_id == "16"
    assert "vacuum_control" in kitchen.capabilities
    assert "vacuum_control" not in mapping.rooms["hall"].capabilities
    # The new mapping is in force right away.
    assert set(rooms_of(rooms_entry).mapping.mapping.rooms) == set(mapping.rooms)


async def test_generate_mapping_refuses_to_overwrite(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    flow_id = await open_section(hass, rooms_entry, "generate_mapping")
    result = await hass.config_entries.options.async_configure(flow_id, {"overwrite": False})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"overwrite": "mapping_exists"}
    assert await hass.async_add_executor_job(mapping_path(hass).read_text) == MAPPING

    result = await hass.config_entries.options.async_configure(flow_id, {"overwrite": True})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "mapping_generated"
    assert await hass.async_add_executor_job(mapping_path(hass).read_text) != MAPPING


async def generate_refusal(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, str]:
    """Run the generator with "Replace"; it must show the form again: return its errors."""
    flow_id = await open_section(hass, entry, "generate_mapping")
    result = await hass.config_entries.options.async_configure(flow_id, {"overwrite": True})
    assert result["type"] is FlowResultType.FORM
    return dict(result["errors"])


async def test_generate_mapping_write_failure(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    def full_disk(path: object, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    with patch("custom_components.roomdb.rooms.generate.write_bytes_atomic", full_disk):
        errors = await generate_refusal(hass, rooms_entry)
    assert errors == {"base": "mapping_write_failed"}


async def test_generate_mapping_refuses_a_path_through_a_file(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    # The mapping's folder is a file: nothing can live inside it.
    path = mapping_path(hass)
    await hass.async_add_executor_job(path.unlink)
    await hass.async_add_executor_job(path.parent.rmdir)
    await hass.async_add_executor_job(path.parent.write_text, "a file, not a folder")
    assert await generate_refusal(hass, rooms_entry) == {"base": "path_invalid"}
    assert await hass.async_add_executor_job(path.parent.read_text) == "a file, not a folder"


async def test_generate_mapping_refuses_a_folder(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    path = mapping_path(hass)
    await hass.async_add_executor_job(path.unlink)
    await hass.async_add_executor_job(path.mkdir)
    assert await generate_refusal(hass, rooms_entry) == {"base": "path_not_file"}


async def test_generate_mapping_unsafe_path(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(
        rooms_entry, data={**rooms_entry.data, CONF_MAPPING_PATH: "www/mapping.yaml"}
    )
    flow_id = await open_section(hass, rooms_entry, "generate_mapping")
    result = await hass.config_entries.options.async_configure(flow_id, {"overwrite": True})
    assert result["errors"] == {"base": "path_public"}
