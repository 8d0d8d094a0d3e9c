"""The room-database sensors follow counters and the mapping."""

from __future__ import annotations

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import area_registry as ar, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.roomdb.const import DOMAIN

from .conftest import write_mapping

WRITES = "sensor.roomdb_room_config_writes"
ROOMS = "sensor.roomdb_mapped_rooms"


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


@pytest.mark.parametrize("entry_options", [{"write_interval": 60, "write_jitter": 0.2}])
async def test_writes_sensor(
    hass: HomeAssistant,
    rooms_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    state = hass.states.get(WRITES)
    assert state is not None
    assert state.state == "0"
    registry_entry = entity_registry.async_get(WRITES)
    assert registry_entry is not None
    assert registry_entry.entity_category is EntityCategory.DIAGNOSTIC
    assert registry_entry.unique_id == f"{rooms_entry.entry_id}_room_writes"

    await hass.services.async_call(
        DOMAIN,
        "bulk_update",
        {
            "items": [
                {"domain": "activity", "room_id": "hall", "config_data": {"a": 1}},
                {"domain": "activity", "room_id": "hall", "config_data": {"a": 2}},
                {"domain": "ml", "room_id": "hall", "config_data": {}},
                {"domain": "activity", "room_id": "hall"},
            ]
        },
        blocking=True,
    )
    await tick(hass, freezer, 2)
    state = hass.states.get(WRITES)
    assert state is not None
    assert state.state == "1"
    attributes = state.attributes
    assert (
        attributes["writes_ok"],
        attributes["writes_retry"],
        attributes["writes_error"],
        attributes["admission_denied"],
    ) == (1, 1, 1, 1)
    limiter = attributes["limiter"]
    assert limiter["interval"] == 60
    assert limiter["limited"][0]["room_id"] == "hall"
    assert limiter["limited"][0]["rejected"] == 1


async def test_rooms_sensor(
    hass: HomeAssistant, rooms_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    state = hass.states.get(ROOMS)
    assert state is not None
    assert state.state == "3"
    assert state.attributes["mapping_status"] == "valid"
    assert state.attributes["room_ids"] == ["kitchen", "hall", "office"]

    await write_mapping(hass, "version: 3\nrooms: {}\n")
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(DOMAIN, "reload_mapping", {}, blocking=True)
    await tick(hass, freezer, 2)
    state = hass.states.get(ROOMS)
    assert state is not None
    assert state.state == "3"
    assert state.attributes["mapping_status"] == "invalid"
    assert state.attributes["mapping_errors"]

    await write_mapping(hass, 'version: "3.1"\nrooms: {}\n')
    await hass.services.async_call(DOMAIN, "reload_mapping", {}, blocking=True)
    await tick(hass, freezer, 2)
    state = hass.states.get(ROOMS)
    assert state is not None
    assert state.state == "0"
    assert state.attributes["mapping_status"] == "valid"


async def test_rooms_sensor_lists_rooms_with_problems(
    hass: HomeAssistant,
    rooms_entry: MockConfigEntry,
    areas: dict[str, str],
    area_registry: ar.AreaRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    state = hass.states.get(ROOMS)
    assert state is not None
    assert state.attributes["limited_rooms"] == []
    assert state.attributes["mapping_warnings"] == []

    area_registry.async_delete(areas["Hall"])
    await tick(hass, freezer, 2)
    state = hass.states.get(ROOMS)
    assert state is not None
    assert state.state == "3"
    assert state.attributes["mapping_status"] == "valid"
    assert state.attributes["limited_rooms"] == ["hall"]
    assert "area registry" in state.attributes["mapping_warnings"][0]

    area_registry.async_create("Hall")
    await tick(hass, freezer, 2)
    state = hass.states.get(ROOMS)
    assert state is not None
    assert state.attributes["limited_rooms"] == []
