"""`roomdb.resync_registry` restores the mirror from HA's registries; errors change nothing."""

from __future__ import annotations

from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.helpers import device_registry as dr, entity_registry as er
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.const import DOMAIN
from custom_components.roomdb.registry.runtime import MirrorWriteError

from .conftest import Home, Rows

SERVICE = "resync_registry"
TABLES = ("areas", "floors", "devices", "entities", "config_entries")


async def _snapshot(rows: Rows) -> dict[str, list[dict[str, object]]]:
    return {table: await rows(f"SELECT * FROM {table} ORDER BY 1") for table in TABLES}


async def test_resync_restores_truth_after_tampering(
    hass: HomeAssistant,
    *,
    home: Home,
    loaded_entry: MockConfigEntry,
    rows: Rows,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    truth = await _snapshot(rows)
    database = loaded_entry.runtime_data.database
    async with database.transaction() as conn:
        await conn.execute("DELETE FROM areas")
        await conn.execute("UPDATE floors SET name = 'Basement', aliases = '[]'")
        await conn.execute("INSERT INTO devices (id, name) VALUES ('phantom', 'Phantom')")
        await conn.execute(
            "UPDATE entities SET entity_id = 'light.wrong' WHERE id = ?", (home.light.id,)
        )
        await conn.execute("DELETE FROM config_entries WHERE domain = 'lightco'")
    assert await _snapshot(rows) != truth

    response = await hass.services.async_call(
        DOMAIN, SERVICE, {}, blocking=True, return_response=True
    )

    assert await _snapshot(rows) == truth
    assert response == {
        "areas": 2,
        "floors": 1,
        "devices": len(device_registry.devices) + len(device_registry.child_devices),
        "entities": len(entity_registry.entities),
        "config_entries": len(hass.config_entries.async_entries()),
    }


async def test_resync_is_refused_with_arguments_or_for_non_admins(
    hass: HomeAssistant,
    *,
    home: Home,
    loaded_entry: MockConfigEntry,
    rows: Rows,
    hass_read_only_user: User,
) -> None:
    await loaded_entry.runtime_data.database.execute_write("DELETE FROM areas")
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(
            DOMAIN, SERVICE, {"tables": ["areas"]}, blocking=True, return_response=True
        )
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            SERVICE,
            {},
            blocking=True,
            return_response=True,
            context=Context(user_id=hass_read_only_user.id),
        )
    assert await rows("SELECT * FROM areas") == []


async def test_failed_resync_raises_translated_error_and_rolls_back(
    hass: HomeAssistant, home: Home, loaded_entry: MockConfigEntry, rows: Rows
) -> None:
    database = loaded_entry.runtime_data.database
    await database.execute_write("UPDATE areas SET name = 'Tampered' WHERE area_id = 'kitchen'")
    await database.execute_write(
        "CREATE TEMP TRIGGER reject_floors BEFORE INSERT ON floors "
        "BEGIN SELECT RAISE(ABORT, 'floors are read-only'); END"
    )
    with pytest.raises(HomeAssistantError) as info:
        await hass.services.async_call(DOMAIN, SERVICE, {}, blocking=True, return_response=True)
    assert info.value.translation_key == "registry_resync_failed"
    assert "floors are read-only" in str(info.value.translation_placeholders)
    # The whole sync is one transaction: nothing of it landed.
    assert await rows("SELECT name FROM areas WHERE area_id = 'kitchen'") == [{"name": "Tampered"}]

    await database.execute_write("DROP TRIGGER temp.reject_floors")
    await hass.services.async_call(DOMAIN, SERVICE, {}, blocking=True, return_response=True)
    assert await rows("SELECT name FROM areas WHERE area_id = 'kitchen'") == [{"name": "Kitchen"}]


async def test_resync_needs_a_loaded_entry(
    hass: HomeAssistant, home: Home, loaded_entry: MockConfigEntry
) -> None:
    mirror = loaded_entry.runtime_data.registry_mirror
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as info:
        await hass.services.async_call(DOMAIN, SERVICE, {}, blocking=True, return_response=True)
    assert info.value.translation_key == "not_loaded"
    with pytest.raises(MirrorWriteError):
        await mirror.async_resync()
