"""Setup and shutdown of the room database part."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.roomdb.const import CONF_MAPPING_PATH, DOMAIN

from .conftest import rooms_of


async def test_unsafe_mapping_path_fails_setup(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_MAPPING_PATH: "www/mapping.yaml"})
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason is not None and "www/" in entry.reason


async def test_stop_event_stops_pipelines_and_exports(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    rooms = rooms_of(rooms_entry)
    await rooms.store.upsert("activity", "hall", {"a": 1})
    assert rooms.exporter.pending
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert not rooms.exporter.pending
    assert rooms.exporter.exports_written == 1
    # Later writes no longer schedule exports; unloading afterwards is harmless.
    await rooms.store.upsert("activity", "hall", {"a": 2})
    assert not rooms.exporter.pending
    assert await hass.config_entries.async_unload(rooms_entry.entry_id)


async def test_diagnostics_include_the_room_health(
    hass: HomeAssistant, rooms_entry: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, rooms_entry)
    rooms = diagnostics["rooms"]
    assert set(rooms) == {"status", "counters", "limiter", "mapping", "export", "pipelines"}
    assert rooms["mapping"]["rooms"] == 3
    assert rooms["counters"]["writes.ok"] == 0
