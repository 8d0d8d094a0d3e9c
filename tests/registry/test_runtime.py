"""The mirror tables follow HA's real registries: bulk fill at setup, then every change."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from unittest.mock import AsyncMock

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntryState,
    ConfigFlow,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
    floor_registry as fr,
)
from homeassistant.helpers.dispatcher import DATA_DISPATCHER
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    mock_config_flow,
    mock_integration,
    mock_platform,
)

from custom_components.roomdb.const import DATABASE_FILENAME, DOMAIN
from custom_components.roomdb.db.database import Database
from custom_components.roomdb.registry.runtime import MirrorWriteError, RegistryMirror
from tests.conftest import roomdb_set_up

from .conftest import Home, Rows

AREA_OF = "SELECT area_id, floor_id FROM vw_entity_areas WHERE entity_id = ?"


def _mirror_listeners(hass: HomeAssistant, mirror: RegistryMirror) -> list[str]:
    """Name the registry events and signals that still call into `mirror`."""
    found = [
        str(event)
        for event in (
            ar.EVENT_AREA_REGISTRY_UPDATED,
            fr.EVENT_FLOOR_REGISTRY_UPDATED,
            dr.EVENT_DEVICE_REGISTRY_UPDATED,
            er.EVENT_ENTITY_REGISTRY_UPDATED,
        )
        for job, _ in hass.bus._listeners.get(event, [])
        if getattr(job.target, "__self__", None) is mirror
    ]
    dispatcher = hass.data.get(DATA_DISPATCHER, {}).get(SIGNAL_CONFIG_ENTRY_CHANGED, {})
    found += [
        str(SIGNAL_CONFIG_ENTRY_CHANGED)
        for target in dispatcher
        if getattr(target, "__self__", None) is mirror
    ]
    return found


async def test_setup_fills_every_table(
    hass: HomeAssistant,
    *,
    home: Home,
    loaded_entry: MockConfigEntry,
    rows: Rows,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:

    assert await rows("SELECT * FROM floors") == [
        {
            "floor_id": home.floor.floor_id,
            "name": "Ground",
            "level": 0,
            "icon": None,
            "aliases": '["downstairs", "eg"]',
            "created_at": home.floor.created_at.isoformat(timespec="microseconds"),
            "modified_at": home.floor.modified_at.isoformat(timespec="microseconds"),
        }
    ]
    areas = await rows("SELECT area_id, name, floor_id, aliases, labels FROM areas ORDER BY name")
    assert areas == [
        {
            "area_id": "hallway",
            "name": "Hallway",
            "floor_id": "ground",
            "aliases": "[]",
            "labels": "[]",
        },
        {
            "area_id": "kitchen",
            "name": "Kitchen",
            "floor_id": "ground",
            "aliases": '["cook"]',
            "labels": "[]",
        },
    ]
    (lamp,) = await rows("SELECT * FROM devices WHERE id = ?", home.lamp.id)
    assert lamp["name"] == "Lamp"
    assert lamp["manufacturer"] == "Signify"
    assert lamp["model"] == "Go"
    assert lamp["area_id"] == "kitchen"
    assert lamp["config_entry_id"] == home.lightco.entry_id
    assert json.loads(lamp["config_entries"]) == [home.lightco.entry_id]
    assert lamp["parent_device_id"] is None
    (bulb,) = await rows("SELECT * FROM devices WHERE id = ?", home.bulb.id)
    assert bulb["parent_device_id"] == home.lamp.id
    assert bulb["manufacturer"] is None

    (light,) = await rows("SELECT * FROM entities WHERE id = ?", home.light.id)
    assert light["entity_id"] == "light.lamp"
    assert light["unique_id"] == "lamp-light"
    assert light["platform"] == "lightco"
    assert light["device_id"] == home.lamp.id
    assert light["config_entry_id"] == home.lightco.entry_id
    assert light["original_name"] == "Lamp"
    (loose,) = await rows("SELECT original_device_class FROM entities WHERE id = ?", home.loose.id)
    assert loose["original_device_class"] == "temperature"

    entries = await rows("SELECT entry_id, domain, title, state FROM config_entries")
    assert {row["domain"] for row in entries} == {"lightco", DOMAIN}
    assert {
        "entry_id": home.lightco.entry_id,
        "domain": "lightco",
        "title": "Lights bridge",
        "state": "not_loaded",
    } in entries
    own_sql = "SELECT state FROM config_entries WHERE entry_id = ?"
    (own,) = await rows(own_sql, loaded_entry.entry_id)
    assert own["state"] == ConfigEntryState.LOADED.value

    # Everything HA has, including RoomDB's own device and sensors, and nothing else.
    device_ids = {d.id for d in device_registry.devices} | {
        d.id for d in device_registry.child_devices
    }
    assert {row["id"] for row in await rows("SELECT id FROM devices")} == device_ids
    assert {row["id"] for row in await rows("SELECT id FROM entities")} == {
        entry.id for entry in entity_registry.entities.values()
    }


async def test_effective_area_follows_entity_device_and_parent(
    hass: HomeAssistant,
    *,
    home: Home,
    loaded_entry: MockConfigEntry,
    rows: Rows,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    # The bulb has no area: its light inherits the parent lamp's area (as HA resolves it).
    assert await rows(AREA_OF, home.bulb_light.entity_id) == [
        {"area_id": "kitchen", "floor_id": "ground"}
    ]
    assert await rows(AREA_OF, home.loose.entity_id) == [{"area_id": None, "floor_id": None}]

    device_registry.async_update_device(home.lamp.id, area_id=home.hallway.id)
    assert await rows(AREA_OF, home.light.entity_id) == [
        {"area_id": "hallway", "floor_id": "ground"}
    ]
    assert await rows(AREA_OF, home.bulb_light.entity_id) == [
        {"area_id": "hallway", "floor_id": "ground"}
    ]

    # An entity may only have an area of its own once it has a name of its own.
    entity_registry.async_update_entity(
        home.light.entity_id, area_id=home.kitchen.id, name="Kitchen lamp"
    )
    (light,) = await rows("SELECT area_id FROM entities WHERE id = ?", home.light.id)
    assert light["area_id"] == "kitchen"
    assert await rows(AREA_OF, home.light.entity_id) == [
        {"area_id": "kitchen", "floor_id": "ground"}
    ]
    for entity in (home.light, home.bulb_light, home.loose):
        assert (await rows(AREA_OF, entity.entity_id))[0]["area_id"] == (
            er.async_get_effective_area_id(hass, entity_registry.async_get(entity.entity_id))
        )


async def test_area_rename_and_floor_create_remove(
    hass: HomeAssistant,
    *,
    home: Home,
    loaded_entry: MockConfigEntry,
    rows: Rows,
    area_registry: ar.AreaRegistry,
    floor_registry: fr.FloorRegistry,
) -> None:
    area_registry.async_update(home.kitchen.id, name="Cookery", icon="mdi:stove")
    assert await rows("SELECT name, icon FROM areas WHERE area_id = 'kitchen'") == [
        {"name": "Cookery", "icon": "mdi:stove"}
    ]

    attic = floor_registry.async_create("Attic", level=2)
    assert await rows(
        "SELECT floor_id, name, level FROM floors WHERE floor_id = ?", attic.floor_id
    ) == [{"floor_id": "attic", "name": "Attic", "level": 2}]
    area_registry.async_update(home.hallway.id, floor_id=attic.floor_id)
    assert await rows("SELECT floor_id FROM areas WHERE area_id = 'hallway'") == [
        {"floor_id": "attic"}
    ]
    floor_registry.async_update(attic.floor_id, name="Loft")
    assert await rows("SELECT name FROM floors WHERE floor_id = 'attic'") == [{"name": "Loft"}]

    floor_registry.async_delete(attic.floor_id)
    assert await rows("SELECT * FROM floors WHERE floor_id = 'attic'") == []
    # HA clears the floor of its areas; the mirror follows.
    assert await rows("SELECT floor_id FROM areas WHERE area_id = 'hallway'") == [
        {"floor_id": None}
    ]

    area_registry.async_delete(home.hallway.id)
    assert await rows("SELECT * FROM areas WHERE area_id = 'hallway'") == []


async def test_reorder_events_change_nothing(
    hass: HomeAssistant,
    *,
    home: Home,
    loaded_entry: MockConfigEntry,
    rows: Rows,
    area_registry: ar.AreaRegistry,
    floor_registry: fr.FloorRegistry,
) -> None:
    before = await rows("SELECT * FROM areas ORDER BY area_id")
    area_registry.async_reorder([home.hallway.id, home.kitchen.id])
    second = floor_registry.async_create("First")
    floor_registry.async_reorder([second.floor_id, home.floor.floor_id])
    assert await rows("SELECT * FROM areas ORDER BY area_id") == before
    assert len(await rows("SELECT * FROM floors")) == 2


async def test_entity_rename_keeps_the_row(
    hass: HomeAssistant,
    *,
    home: Home,
    loaded_entry: MockConfigEntry,
    rows: Rows,
    entity_registry: er.EntityRegistry,
) -> None:
    entity_registry.async_update_entity(
        home.light.entity_id, new_entity_id="light.kitchen_lamp", name="Kitchen lamp"
    )
    assert await rows(
        "SELECT id, entity_id, name FROM entities WHERE unique_id = 'lamp-light'"
    ) == [{"id": home.light.id, "entity_id": "light.kitchen_lamp", "name": "Kitchen lamp"}]
    assert await rows("SELECT * FROM entities WHERE entity_id = 'light.lamp'") == []

    # A new entity may take the old name; both rows then exist under their own ids.
    newcomer = entity_registry.async_get_or_create(
        "light", "lightco", "other", config_entry=home.lightco, suggested_object_id="lamp"
    )
    assert newcomer.entity_id == "light.lamp"
    found = await rows(
        "SELECT id, entity_id FROM entities WHERE entity_id LIKE 'light.%' ORDER BY entity_id"
    )
    assert found == [
        {"id": home.bulb_light.id, "entity_id": "light.bulb"},
        {"id": home.light.id, "entity_id": "light.kitchen_lamp"},
        {"id": newcomer.id, "entity_id": "light.lamp"},
    ]


async def test_device_changes_and_removal(
    hass: HomeAssistant,
    *,
    home: Home,
    loaded_entry: MockConfigEntry,
    rows: Rows,
    device_registry: dr.DeviceRegistry,
) -> None:
    device_registry.async_update_device(
        home.lamp.id, name_by_user="Reading lamp", disabled_by=dr.DeviceEntryDisabler.USER
    )
    assert await rows(
        "SELECT name_by_user, disabled_by FROM devices WHERE id = ?", home.lamp.id
    ) == [{"name_by_user": "Reading lamp", "disabled_by": "user"}]

    device_registry.async_remove_device(home.lamp.id)
    # The device, its child and the entities of both go, in one burst of registry events.
    assert await rows("SELECT id FROM devices WHERE id IN (?, ?)", home.lamp.id, home.bulb.id) == []
    assert (
        await rows("SELECT id FROM entities WHERE id IN (?, ?)", home.light.id, home.bulb_light.id)
        == []
    )
    assert await rows("SELECT id FROM entities WHERE id = ?", home.loose.id) == [
        {"id": home.loose.id}
    ]


async def test_entity_create_then_remove_leaves_no_row(
    hass: HomeAssistant,
    *,
    home: Home,
    loaded_entry: MockConfigEntry,
    rows: Rows,
    entity_registry: er.EntityRegistry,
) -> None:
    ghost = entity_registry.async_get_or_create(
        "switch", "lightco", "ghost", config_entry=home.lightco
    )
    entity_registry.async_remove(ghost.entity_id)
    assert await rows("SELECT * FROM entities WHERE unique_id = 'ghost'") == []

    # Removed and re-added under the same id (HA restores deleted entities): one row again.
    back = entity_registry.async_get_or_create(
        "switch", "lightco", "ghost", config_entry=home.lightco
    )
    assert await rows("SELECT id, entity_id FROM entities WHERE unique_id = 'ghost'") == [
        {"id": back.id, "entity_id": back.entity_id}
    ]
    entity_registry.async_update_entity(
        back.entity_id,
        hidden_by=er.RegistryEntryHider.USER,
        disabled_by=er.RegistryEntryDisabler.USER,
    )
    assert await rows("SELECT hidden_by, disabled_by FROM entities WHERE id = ?", back.id) == [
        {"hidden_by": "user", "disabled_by": "user"}
    ]


async def test_late_events_are_resolved_against_the_registry(
    hass: HomeAssistant,
    *,
    home: Home,
    loaded_entry: MockConfigEntry,
    rows: Rows,
    entity_registry: er.EntityRegistry,
) -> None:
    """Events HA delivers after the registry moved on still leave the mirror equal to HA."""
    # A rename whose entity is already gone by the time the event is handled.
    entity_registry.async_remove(home.loose.entity_id)
    await rows("SELECT 1")
    await loaded_entry.runtime_data.database.execute_write(
        "INSERT INTO entities (id, entity_id, platform) VALUES ('stale', 'sensor.old', 'lightco')"
    )
    hass.bus.async_fire(
        er.EVENT_ENTITY_REGISTRY_UPDATED,
        {
            "action": "update",
            "entity_id": "sensor.gone",
            "old_entity_id": "sensor.old",
            "changes": {"entity_id": "sensor.old"},
        },
    )
    assert await rows("SELECT * FROM entities WHERE id = 'stale'") == []

    # A removal reported for a name that a different entity holds by now.
    await loaded_entry.runtime_data.database.execute_write(
        "INSERT INTO entities (id, entity_id, platform) VALUES ('old-owner', ?, 'lightco')",
        (home.light.entity_id,),
    )
    hass.bus.async_fire(
        er.EVENT_ENTITY_REGISTRY_UPDATED, {"action": "remove", "entity_id": home.light.entity_id}
    )
    assert await rows("SELECT id FROM entities WHERE entity_id = ?", home.light.entity_id) == [
        {"id": home.light.id}
    ]

    # A device or area event for something already removed deletes its row.
    hass.bus.async_fire(
        dr.EVENT_DEVICE_REGISTRY_UPDATED,
        {"action": "update", "device_id": "no-such-device", "changes": {}},
    )
    hass.bus.async_fire(ar.EVENT_AREA_REGISTRY_UPDATED, {"action": "update", "area_id": "nowhere"})
    assert await rows("SELECT * FROM devices WHERE id = 'no-such-device'") == []


async def test_config_entries_are_mirrored(
    hass: HomeAssistant,
    *,
    home: Home,
    loaded_entry: MockConfigEntry,
    rows: Rows,
) -> None:
    mock_integration(hass, MockModule("acme", async_setup_entry=AsyncMock(return_value=True)))
    mock_platform(hass, "acme.config_flow")
    acme = MockConfigEntry(domain="acme", title="Acme", source="user")
    with mock_config_flow("acme", ConfigFlow):
        await hass.config_entries.async_add(acme)
        await hass.async_block_till_done()
    assert await rows(
        "SELECT domain, title, source, state, disabled_by FROM config_entries WHERE entry_id = ?",
        acme.entry_id,
    ) == [
        {
            "domain": "acme",
            "title": "Acme",
            "source": "user",
            "state": "loaded",
            "disabled_by": None,
        }
    ]

    hass.config_entries.async_update_entry(acme, title="Acme Corp")
    assert await rows("SELECT title FROM config_entries WHERE entry_id = ?", acme.entry_id) == [
        {"title": "Acme Corp"}
    ]

    await hass.config_entries.async_remove(acme.entry_id)
    await hass.async_block_till_done()
    assert await rows("SELECT * FROM config_entries WHERE entry_id = ?", acme.entry_id) == []

    # Removing an entry takes its devices and entities with it.
    await hass.config_entries.async_remove(home.lightco.entry_id)
    await hass.async_block_till_done()
    assert (
        await rows("SELECT * FROM devices WHERE config_entry_id = ?", home.lightco.entry_id) == []
    )
    assert (
        await rows("SELECT * FROM entities WHERE config_entry_id = ?", home.lightco.entry_id) == []
    )


async def test_a_failed_write_is_repaired_by_the_next_change(
    hass: HomeAssistant,
    *,
    home: Home,
    loaded_entry: MockConfigEntry,
    rows: Rows,
    area_registry: ar.AreaRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    database = loaded_entry.runtime_data.database
    # A real SQLite failure: a temporary trigger that rejects one area name.
    await database.execute_write(
        "CREATE TEMP TRIGGER reject_boom BEFORE INSERT ON areas WHEN NEW.name = 'Boom' "
        "BEGIN SELECT RAISE(ABORT, 'boom rejected'); END"
    )
    with caplog.at_level(logging.WARNING):
        area_registry.async_create("Boom")
        assert await rows("SELECT * FROM areas WHERE area_id = 'boom'") == []
    assert "Registry mirror write failed" in caplog.text
    assert "custom_components.roomdb.registry.runtime" in {r.name for r in caplog.records}

    await database.execute_write("DROP TRIGGER temp.reject_boom")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        area_registry.async_create("Pantry")
        assert {row["area_id"] for row in await rows("SELECT area_id FROM areas")} == {
            area.id for area in area_registry.async_list_areas()
        }
    assert "Registry mirror writes again" in caplog.text


async def test_unload_removes_listeners_and_stops_writing(
    hass: HomeAssistant,
    *,
    home: Home,
    loaded_entry: MockConfigEntry,
    rows: Rows,
    area_registry: ar.AreaRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    mirror = loaded_entry.runtime_data.registry_mirror
    database = loaded_entry.runtime_data.database
    assert len(_mirror_listeners(hass, mirror)) == 5

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _mirror_listeners(hass, mirror) == []
    assert database._conn is None

    # Changes after unload reach no table: reopen the file and look.
    area_registry.async_create("Garage")
    entity_registry.async_update_entity(home.light.entity_id, name="Renamed after unload")
    await hass.async_block_till_done(wait_background_tasks=True)
    await database.open()
    try:
        assert await database.fetchall("SELECT * FROM areas WHERE area_id = 'garage'") == []
        (light,) = await database.fetchall(
            "SELECT name FROM entities WHERE id = ?", (home.light.id,)
        )
        assert light["name"] is None
    finally:
        await database.close()


async def test_failing_first_sync_does_not_block_setup(
    hass: HomeAssistant,
    *,
    home: Home,
    mock_entry: MockConfigEntry,
    rows: Rows,
    area_registry: ar.AreaRegistry,
) -> None:
    # A file from an earlier run that carries a (real, persistent) trigger rejecting floors.
    path = Path(hass.config.config_dir) / DATABASE_FILENAME
    prepared = Database(path)
    await prepared.open()
    await prepared.execute_write(
        "CREATE TRIGGER reject_floors BEFORE INSERT ON floors "
        "BEGIN SELECT RAISE(ABORT, 'no floors'); END"
    )
    await prepared.close()

    async with roomdb_set_up(hass, mock_entry):
        assert mock_entry.state is ConfigEntryState.LOADED
        assert await rows("SELECT * FROM areas") == []

        await mock_entry.runtime_data.database.execute_write("DROP TRIGGER reject_floors")
        area_registry.async_update(home.kitchen.id, name="Galley")
        names = {row["name"] for row in await rows("SELECT name FROM areas")}
        assert names == {"Galley", "Hallway"}
        assert len(await rows("SELECT * FROM floors")) == 1


async def test_concurrent_resyncs_share_one_write(
    hass: HomeAssistant, home: Home, loaded_entry: MockConfigEntry
) -> None:
    mirror = loaded_entry.runtime_data.registry_mirror
    first, second = await asyncio.gather(mirror.async_resync(), mirror.async_resync())
    assert first == second
    assert first["areas"] == 2


async def test_write_failing_while_stopping_is_dropped_quietly(
    hass: HomeAssistant,
    *,
    home: Home,
    loaded_entry: MockConfigEntry,
    rows: Rows,
    area_registry: ar.AreaRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mirror = loaded_entry.runtime_data.registry_mirror
    await loaded_entry.runtime_data.database.execute_write(
        "CREATE TEMP TRIGGER reject_areas BEFORE INSERT ON areas "
        "BEGIN SELECT RAISE(ABORT, 'no areas'); END"
    )
    with caplog.at_level(logging.DEBUG, logger="custom_components.roomdb.registry.runtime"):
        area_registry.async_create("Shed")
        await mirror.async_stop()
    assert "dropped while stopping" in caplog.text
    assert "Registry mirror write failed" not in caplog.text
    assert await rows("SELECT * FROM areas WHERE area_id = 'shed'") == []


async def test_stop_before_start_is_harmless(hass: HomeAssistant, tmp_path: Path) -> None:
    database = Database(tmp_path / "roomdb.db")
    await database.open()
    mirror = RegistryMirror(hass, database, lambda: None)
    await mirror.async_stop()
    with pytest.raises(MirrorWriteError):
        await mirror.async_resync()
    await database.close()
