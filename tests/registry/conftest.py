"""Fixtures for the registry mirror: a home in HA's real registries and a reader for the mirror."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
    floor_registry as fr,
)
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    mock_integration,
)

type Rows = Callable[..., Awaitable[list[dict[str, Any]]]]


@dataclass
class Home:
    """What `home` put into the registries."""

    lightco: MockConfigEntry
    floor: fr.FloorEntry
    kitchen: ar.AreaEntry
    hallway: ar.AreaEntry
    lamp: dr.DeviceEntry
    bulb: dr.ChildDeviceEntry
    light: er.RegistryEntry
    bulb_light: er.RegistryEntry
    loose: er.RegistryEntry


@pytest.fixture
def home(
    hass: HomeAssistant,
    floor_registry: fr.FloorRegistry,
    area_registry: ar.AreaRegistry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> Home:
    """A floor with two areas, a device with a child device, and three entities."""
    mock_integration(hass, MockModule("lightco"))
    lightco = MockConfigEntry(domain="lightco", title="Lights bridge")
    lightco.add_to_hass(hass)
    floor = floor_registry.async_create("Ground", level=0, aliases={"downstairs", "eg"})
    kitchen = area_registry.async_create(
        "Kitchen", floor_id=floor.floor_id, aliases={"cook"}, labels=set()
    )
    hallway = area_registry.async_create("Hallway", floor_id=floor.floor_id)
    lamp = device_registry.async_get_or_create(
        config_entry_id=lightco.entry_id,
        identifiers={("lightco", "lamp")},
        manufacturer="Signify",
        model="Go",
        name="Lamp",
    )
    lamp = device_registry.async_update_device(lamp.id, area_id=kitchen.id) or lamp
    bulb = device_registry.async_get_or_create_child(
        config_entry_id=lightco.entry_id,
        identifiers={("lightco", "bulb")},
        name="Bulb",
        parent_device_id=lamp.id,
    )
    light = entity_registry.async_get_or_create(
        "light",
        "lightco",
        "lamp-light",
        config_entry=lightco,
        device_id=lamp.id,
        original_name="Lamp",
        suggested_object_id="lamp",
    )
    bulb_light = entity_registry.async_get_or_create(
        "light",
        "lightco",
        "bulb-light",
        config_entry=lightco,
        device_id=bulb.id,
        suggested_object_id="bulb",
    )
    loose = entity_registry.async_get_or_create(
        "sensor",
        "lightco",
        "bridge-temp",
        config_entry=lightco,
        original_device_class="temperature",
        suggested_object_id="bridge_temp",
    )
    return Home(lightco, floor, kitchen, hallway, lamp, bulb, light, bulb_light, loose)


@pytest.fixture
def rows(hass: HomeAssistant, mock_entry: MockConfigEntry) -> Rows:
    """Read mirror rows after every queued mirror write has landed."""

    async def _rows(sql: str, *params: Any) -> list[dict[str, Any]]:
        await hass.async_block_till_done(wait_background_tasks=True)
        found = await mock_entry.runtime_data.database.fetchall(sql, params)
        return [dict(row) for row in found]

    return _rows
