"""The diagnostic database sensor follows the database."""

from __future__ import annotations

from homeassistant.const import STATE_UNAVAILABLE, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.roomdb.coordinator import REFRESH_COOLDOWN
from custom_components.roomdb.db.schema import SCHEMA_VERSION

DATABASE_SENSOR = "sensor.roomdb_database"


async def test_database_sensor_reports_size_and_counts(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    state = hass.states.get(DATABASE_SENSOR)
    assert state is not None
    assert float(state.state) > 0
    assert state.attributes["unit_of_measurement"] == "MiB"
    assert state.attributes["schema_version"] == SCHEMA_VERSION
    assert state.attributes["row_counts"]["room_configs"] == 0

    entry = entity_registry.async_get(DATABASE_SENSOR)
    assert entry is not None
    assert entry.unique_id == f"{loaded_entry.entry_id}_database"
    assert entry.entity_category is EntityCategory.DIAGNOSTIC
    device = device_registry.async_get(entry.device_id)
    assert device is not None and device.name == "RoomDB"


async def test_database_sensor_updates_after_a_write(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    database = loaded_entry.runtime_data.database
    await database.execute_write(
        "INSERT INTO room_configs VALUES ('activity', 'kitchen', '{}', 1, 'now', 'now')"
    )
    async_fire_time_changed(hass, dt_util.utcnow() + REFRESH_COOLDOWN * 2)
    await hass.async_block_till_done()
    state = hass.states.get(DATABASE_SENSOR)
    assert state is not None
    assert state.attributes["row_counts"]["room_configs"] == 1
    assert state.attributes["last_write"] is not None


async def test_sensor_unavailable_when_database_fails(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    coordinator = loaded_entry.runtime_data.coordinator
    await loaded_entry.runtime_data.database.close()
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    state = hass.states.get(DATABASE_SENSOR)
    assert state is not None
    assert state.state == STATE_UNAVAILABLE
