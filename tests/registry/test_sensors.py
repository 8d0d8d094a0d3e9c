"""Device, entity and integration counts follow the mirror."""

from __future__ import annotations

from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    async_fire_time_changed,
    mock_integration,
)

from custom_components.roomdb.coordinator import REFRESH_COOLDOWN

from .conftest import Home

DEVICES = "sensor.roomdb_devices"
ENTITIES = "sensor.roomdb_entities"
INTEGRATIONS = "sensor.roomdb_integrations"


def _value(hass: HomeAssistant, entity_id: str) -> int:
    state = hass.states.get(entity_id)
    assert state is not None
    return int(state.state)


async def _settle(hass: HomeAssistant) -> None:
    await hass.async_block_till_done(wait_background_tasks=True)
    async_fire_time_changed(hass, dt_util.utcnow() + REFRESH_COOLDOWN * 2)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_counts_follow_the_registries(
    hass: HomeAssistant,
    home: Home,
    loaded_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    await _settle(hass)

    def all_devices() -> int:
        return len(device_registry.devices) + len(device_registry.child_devices)

    assert _value(hass, DEVICES) == all_devices() == 3  # lamp, bulb, RoomDB's service device
    assert _value(hass, ENTITIES) == len(entity_registry.entities)
    assert _value(hass, INTEGRATIONS) == 2  # lightco and roomdb
    entry = entity_registry.async_get(DEVICES)
    assert entry is not None
    assert entry.unique_id == f"{loaded_entry.entry_id}_registry_devices"
    assert entry.entity_category is EntityCategory.DIAGNOSTIC
    state = hass.states.get(INTEGRATIONS)
    assert state is not None and state.attributes["friendly_name"] == "RoomDB Integrations"

    # Another entry of a known domain is no new integration; a new domain is, an ignored one not.
    MockConfigEntry(domain="lightco", title="Second bridge").add_to_hass(hass)
    mock_integration(hass, MockModule("acme"))
    acme = MockConfigEntry(domain="acme", title="Acme")
    acme.add_to_hass(hass)
    MockConfigEntry(domain="ignored_thing", source="ignore").add_to_hass(hass)
    # `add_to_hass` bypasses HA's change signal, so let a resync pick them up.
    await loaded_entry.runtime_data.registry_mirror.async_resync()
    device_registry.async_get_or_create(config_entry_id=acme.entry_id, identifiers={("acme", "1")})
    await _settle(hass)
    assert _value(hass, INTEGRATIONS) == 3
    assert _value(hass, DEVICES) == all_devices() == 4

    device_registry.async_remove_device(home.lamp.id)
    await _settle(hass)
    assert _value(hass, DEVICES) == all_devices() == 2
    assert _value(hass, ENTITIES) == len(entity_registry.entities)
