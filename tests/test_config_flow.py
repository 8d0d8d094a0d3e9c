"""Config, reconfigure and options flows (every branch)."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.const import (
    CONF_BATCH_SIZE,
    CONF_EXPORT_PATH,
    CONF_FLUSH_INTERVAL,
    CONF_MAPPING_PATH,
    DEFAULT_EXPORT_PATH,
    DEFAULT_MAPPING_PATH,
    DOMAIN,
)


async def test_user_flow_creates_entry_with_defaults(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_MAPPING_PATH: DEFAULT_MAPPING_PATH, CONF_EXPORT_PATH: DEFAULT_EXPORT_PATH},
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "RoomDB"
    assert result["data"] == {
        CONF_MAPPING_PATH: DEFAULT_MAPPING_PATH,
        CONF_EXPORT_PATH: DEFAULT_EXPORT_PATH,
    }
    assert result["result"].state.name == "LOADED"


async def test_user_flow_rejects_unsafe_paths_then_recovers(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    # One refusal at a time, each naming its path through the form's placeholders.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_MAPPING_PATH: "../outside.yaml", CONF_EXPORT_PATH: "www/export.json"},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_MAPPING_PATH: "path_outside_config"}
    assert result["description_placeholders"] == {"path": "../outside.yaml"}
    assert hass.config_entries.async_entries(DOMAIN) == []

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_MAPPING_PATH: "rooms.yaml", CONF_EXPORT_PATH: "www/export.json"},
    )
    assert result["errors"] == {CONF_EXPORT_PATH: "path_public"}
    assert result["description_placeholders"] == {"path": "www/export.json"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_MAPPING_PATH: "rooms.yaml", CONF_EXPORT_PATH: "/etc/export.json"},
    )
    assert result["errors"] == {CONF_EXPORT_PATH: "path_absolute"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_MAPPING_PATH: "rooms.yaml", CONF_EXPORT_PATH: "exports/rooms.txt"},
    )
    assert result["errors"] == {CONF_EXPORT_PATH: "path_wrong_suffix"}
    assert result["description_placeholders"] == {
        "path": "exports/rooms.txt",
        "suffixes": ".json",
    }

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_MAPPING_PATH: "rooms.yaml", CONF_EXPORT_PATH: "exports/rooms.json"},
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_EXPORT_PATH] == "exports/rooms.json"


async def test_second_instance_is_aborted(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "single_instance_allowed"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_reconfigure_changes_files_and_reloads(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    old_database = loaded_entry.runtime_data.database
    result = await loaded_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_MAPPING_PATH: "..", CONF_EXPORT_PATH: ""}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_MAPPING_PATH: "path_outside_config"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_MAPPING_PATH: "roomdb/rooms.yaml", CONF_EXPORT_PATH: ""}
    )
    assert result["errors"] == {CONF_EXPORT_PATH: "path_invalid"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_MAPPING_PATH: "roomdb/rooms.yaml", CONF_EXPORT_PATH: "roomdb/export.json"},
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert loaded_entry.data[CONF_MAPPING_PATH] == "roomdb/rooms.yaml"
    assert loaded_entry.data[CONF_EXPORT_PATH] == "roomdb/export.json"
    assert loaded_entry.runtime_data.database is not old_database


async def test_options_database_section_saves_and_reloads(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert "database" in result["menu_options"]

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "database"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "database"

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_BATCH_SIZE: 250.0, CONF_FLUSH_INTERVAL: 2.5}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options == {CONF_BATCH_SIZE: 250, CONF_FLUSH_INTERVAL: 2.5}
    database = loaded_entry.runtime_data.database
    assert database._batch_size == 250
    assert database._flush_interval == 2.5
