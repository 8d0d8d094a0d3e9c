"""Ingest: tracked state changes land in raw_events once, in UTC, with their room."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
)
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.const import DEFAULT_MAPPING_PATH, DOMAIN
from custom_components.roomdb.db.database import Database
from custom_components.roomdb.ml.features import RawEvent
from custom_components.roomdb.ml.ingest import Ingestor, RawEventWriter, TrackingRules
from custom_components.roomdb.ml.options import (
    CONF_ML_AREAS,
    CONF_ML_EXCLUDE,
    CONF_ML_INCLUDE,
    CONF_ML_KINDS,
    MlSettings,
)

from .conftest import db, ml, run_pipeline

MAPPING = """\
version: "3.1"
rooms:
  cooking:
    name: Kitchen
    area_id: kitchen
    capabilities: [ml]
"""


async def raw_rows(entry: MockConfigEntry) -> list[tuple[Any, ...]]:
    database = db(entry)
    await database.flush()
    rows = await database.fetchall(
        "SELECT entity_id, domain, device_class, room_id, state, old_state, ts, ts_us "
        "FROM raw_events ORDER BY ts_us"
    )
    return [tuple(row) for row in rows]


def _write_mapping(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(MAPPING, encoding="utf-8")


@pytest.fixture
async def kitchen(
    hass: HomeAssistant,
    area_registry: ar.AreaRegistry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A kitchen and a hall; the kitchen light sits in the kitchen through its device."""
    area_registry.async_create("Kitchen")
    area_registry.async_create("Hall")
    config_entry = MockConfigEntry(domain="test")
    config_entry.add_to_hass(hass)
    device = device_registry.async_get_or_create(
        config_entry_id=config_entry.entry_id, identifiers={("test", "lamp")}
    )
    device_registry.async_update_device(device.id, area_id="kitchen")
    entity_registry.async_get_or_create(
        "light", "test", "lamp", suggested_object_id="kitchen", device_id=device.id
    )
    motion = entity_registry.async_get_or_create(
        "binary_sensor", "test", "motion", suggested_object_id="hall_motion"
    )
    entity_registry.async_update_entity(motion.entity_id, area_id="hall")


async def test_tracked_changes_are_recorded_in_utc_with_their_area(
    hass: HomeAssistant, kitchen: None, loaded_entry: MockConfigEntry
) -> None:
    hass.states.async_set("light.kitchen", "off")
    hass.states.async_set("light.kitchen", "on", {"brightness": 10})
    changed = hass.states.get("light.kitchen")
    hass.states.async_set("light.kitchen", "on", {"brightness": 200})  # attributes only
    hass.states.async_set("binary_sensor.hall_motion", "on", {"device_class": "motion"})
    hass.states.async_set("sensor.temperature", "21.5")  # not a tracked kind
    hass.states.async_set("binary_sensor.window", "on", {"device_class": "window"})  # other
    hass.states.async_remove("binary_sensor.hall_motion")  # removal is no state change
    await hass.async_block_till_done()

    rows = await raw_rows(loaded_entry)
    assert changed is not None
    assert [row[:6] for row in rows] == [
        ("light.kitchen", "light", None, "kitchen", "off", None),
        ("light.kitchen", "light", None, "kitchen", "on", "off"),
        ("binary_sensor.hall_motion", "binary_sensor", "motion", "hall", "on", None),
        ("binary_sensor.window", "binary_sensor", "window", None, "on", None),
    ]
    # UTC epoch seconds of the change, stored as integer microseconds. The state of the change
    # itself is compared: a later attribute-only update carries `last_changed.timestamp()`,
    # which HA computes apart from the change's own float and may differ by 1 µs.
    assert rows[1][6] == pytest.approx(changed.last_changed.timestamp(), abs=2e-6)
    assert rows[1][7] == round(changed.last_changed_timestamp * 1_000_000)
    assert rows[1][6] == rows[1][7] / 1_000_000
    assert ml(loaded_entry).writer.queued == 4
    assert ml(loaded_entry).ingestor.tracked_entities == [
        "binary_sensor.hall_motion",
        "binary_sensor.window",
        "light.kitchen",
    ]
    # RoomDB's own entities (its Asleep sensor is a binary sensor too) are never recorded.
    assert hass.states.get("binary_sensor.roomdb_asleep") is not None
    assert "binary_sensor.roomdb_asleep" not in {row[0] for row in rows}


async def test_a_replayed_event_is_stored_once(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    old = State("light.porch", "off")
    new = State("light.porch", "on")
    data = {"entity_id": "light.porch", "old_state": old, "new_state": new}
    for _ in range(3):
        hass.bus.async_fire(EVENT_STATE_CHANGED, data)
    await hass.async_block_till_done()
    rows = await raw_rows(loaded_entry)
    assert len(rows) == 1
    assert rows[0][6] == pytest.approx(new.last_changed.timestamp(), abs=1e-6)

    # The same event written again through the writer (a history replay) changes nothing either;
    # another state at the same moment is another row.
    writer = ml(loaded_entry).writer
    writer.write(RawEvent("light.porch", "light", None, None, "on", "off", rows[0][6]))
    assert len(await raw_rows(loaded_entry)) == 1
    writer.write(RawEvent("light.porch", "light", None, None, "dim", "on", rows[0][6]))
    assert sorted(row[4] for row in await raw_rows(loaded_entry)) == ["dim", "on"]


async def test_rooms_come_from_the_area_mapping_and_follow_registry_changes(
    hass: HomeAssistant,
    kitchen: None,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    loaded_entry: MockConfigEntry,
) -> None:
    hass.states.async_set("light.kitchen", "on")  # no mapping yet: the area id is the room
    await hass.async_block_till_done()
    await hass.async_add_executor_job(
        _write_mapping, Path(hass.config.config_dir) / DEFAULT_MAPPING_PATH
    )
    await hass.services.async_call(DOMAIN, "reload_mapping", blocking=True, return_response=True)
    await hass.async_block_till_done()
    hass.states.async_set("light.kitchen", "off")
    await hass.async_block_till_done()
    lamp = entity_registry.async_get("light.kitchen")
    assert lamp is not None and lamp.device_id is not None
    device_registry.async_update_device(lamp.device_id, area_id="hall")
    await hass.async_block_till_done()
    hass.states.async_set("light.kitchen", "on")
    await hass.async_block_till_done()
    rows = await raw_rows(loaded_entry)
    assert [(row[3], row[4]) for row in rows] == [
        ("kitchen", "on"),
        ("cooking", "off"),
        ("hall", "on"),
    ]


@pytest.mark.parametrize(
    "entry_options",
    [
        {
            CONF_ML_AREAS: ["kitchen"],
            CONF_ML_KINDS: ["light", "motion"],
            CONF_ML_INCLUDE: ["sensor.outside_temperature"],
            CONF_ML_EXCLUDE: ["light.kitchen_cabinet"],
        }
    ],
)
async def test_options_choose_areas_kinds_and_entities(
    hass: HomeAssistant,
    kitchen: None,
    entity_registry: er.EntityRegistry,
    loaded_entry: MockConfigEntry,
) -> None:
    cabinet = entity_registry.async_get_or_create(
        "light", "test", "cabinet", suggested_object_id="kitchen_cabinet"
    )
    entity_registry.async_update_entity(cabinet.entity_id, area_id="kitchen")
    hass.states.async_set("light.kitchen", "on")  # kitchen, light: recorded
    hass.states.async_set("light.kitchen_cabinet", "on")  # excluded
    hass.states.async_set("binary_sensor.hall_motion", "on", {"device_class": "motion"})  # hall
    hass.states.async_set("switch.kettle", "on")  # no area, and switches are not chosen
    hass.states.async_set("sensor.outside_temperature", "4.5")  # included explicitly
    hass.states.async_set("input_datetime.sleep_start", "2026-03-02 23:00:00")  # sleep helper
    await hass.async_block_till_done()
    rows = await raw_rows(loaded_entry)
    assert sorted(row[0] for row in rows) == [
        "input_datetime.sleep_start",
        "light.kitchen",
        "sensor.outside_temperature",
    ]


def test_tracking_rules_by_kind() -> None:
    rules = TrackingRules.from_settings(MlSettings())
    assert rules.tracks("binary_sensor.a", "binary_sensor", "motion", None)
    assert rules.tracks("binary_sensor.b", "binary_sensor", "presence", "x")
    assert rules.tracks("binary_sensor.c", "binary_sensor", "garage_door", None)
    assert rules.tracks("binary_sensor.phone", "binary_sensor", "battery_charging", None)
    assert rules.tracks("binary_sensor.plug", "binary_sensor", None, None)  # any other kind
    assert rules.tracks("input_boolean.guest", "input_boolean", None, None)
    assert rules.tracks("person.ann", "person", None, None)
    assert rules.tracks("device_tracker.phone", "device_tracker", None, None)
    assert not rules.tracks("sensor.e", "sensor", "temperature", None)
    assert rules.tracks("input_datetime.sleep_end", "input_datetime", None, None)
    doors_only = TrackingRules.from_settings(MlSettings(kinds=frozenset({"door"})))
    assert not doors_only.kind_matches("binary_sensor", "motion")
    assert not doors_only.kind_matches("binary_sensor", None)
    assert not doors_only.kind_matches("light", None)
    # People belong to the household: recorded whatever areas are chosen.
    kitchen = TrackingRules.from_settings(MlSettings(areas=frozenset({"kitchen"})))
    assert kitchen.tracks("person.ann", "person", None, None)
    assert not kitchen.tracks("light.hall", "light", None, "hall")


async def test_pipeline_ingest_stage_flushes_and_stamps_last_ingest(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await run_pipeline(hass, ["ingest"])
    assert result["ingest"]["status"] == "skipped"
    hass.states.async_set("light.desk", "on")
    await hass.async_block_till_done()
    assert db(loaded_entry).queued_rows >= 1
    result = await run_pipeline(hass, ["ingest"])
    assert result["ingest"]["status"] == "ok"
    assert db(loaded_entry).queued_rows == 0
    stamp = await db(loaded_entry).get_metadata("last_ingest_at")
    assert stamp == result["ingest"]["last_event_at"]
    assert ml(loaded_entry).status.timestamps["last_ingest_at"] == stamp


async def test_recording_builds_no_event_on_the_bus(hass: HomeAssistant, tmp_path: Path) -> None:
    """The ingest filter records the change and passes nothing: HA builds no `Event` for it.

    An `Event` would reference its `Context` and the context the event (`origin_event`), a cycle
    only the garbage collector frees; a consumer that never makes one adds no collections.
    """
    database = Database(tmp_path / "roomdb.db")
    await database.open()
    ingestor = Ingestor(hass, RawEventWriter(database), MlSettings(), None)
    ingestor.async_start()
    try:
        hass.states.async_set("light.desk", "off")
        hass.states.async_set("light.desk", "on")
        hass.states.async_set("sensor.power", "12")  # not tracked: filtered out as before
        await hass.async_block_till_done()
        for entity_id in ("light.desk", "sensor.power"):
            state = hass.states.get(entity_id)
            assert state is not None
            assert state.context.origin_event is None, entity_id
        await database.flush()
        rows = await database.fetchall("SELECT entity_id, state, old_state FROM raw_events")
        assert [tuple(row) for row in rows] == [
            ("light.desk", "off", None),
            ("light.desk", "on", "off"),
        ]
        # A listener that takes the event (a no-op one) makes HA build it, with its cycle.
        hass.bus.async_listen(EVENT_STATE_CHANGED, lambda _event: None)
        hass.states.async_set("light.desk", "off")
        state = hass.states.get("light.desk")
        assert state is not None
        assert state.context.origin_event is not None
    finally:
        ingestor.async_stop()
        await database.close()
