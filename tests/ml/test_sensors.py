"""End to end: household state changes and sleep helpers → ingest → pipeline → entity states."""

from __future__ import annotations

from datetime import datetime

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.ml.options import (
    CONF_ASLEEP_THRESHOLD,
    CONF_MIN_NIGHTS,
    CONF_MIN_ROWS,
)

from .conftest import at, db, ml
from .household import household, utc

HOME = household()
STOP = utc("2026-03-12T02:00:00")  # 03:00 in Berlin, in the tenth night
REPLAY_STEP = 6 * 3600.0
"""The replay lets HA's timers run every 6 simulated hours (and after each helper update)."""

ENTITIES = (
    "sensor.roomdb_sleep_probability",
    "binary_sensor.roomdb_asleep",
    "sensor.roomdb_changepoint_probability",
    "sensor.roomdb_run_length",
    "sensor.roomdb_ml_readiness",
    "sensor.roomdb_last_training",
)


def state_of(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


def timestamp_of(hass: HomeAssistant, entity_id: str) -> float:
    return datetime.fromisoformat(state_of(hass, entity_id)).timestamp()


def attribute_of(hass: HomeAssistant, entity_id: str, name: str) -> object:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.attributes.get(name)


@pytest.fixture
def now_ts() -> float:
    """The entry loads before the household's first event."""
    return HOME.start_utc


@pytest.fixture
def entry_options() -> dict[str, object]:
    """Nine labelled nights are enough here."""
    return {CONF_MIN_NIGHTS: 4, CONF_MIN_ROWS: 50, CONF_ASLEEP_THRESHOLD: 0.6}


@pytest.fixture
def rooms(area_registry: ar.AreaRegistry, entity_registry: er.EntityRegistry) -> None:
    """One HA area per household room, each entity registered in its room's area."""
    for room in HOME.rooms:
        area_registry.async_create(room.replace("_", " ").capitalize())
    placed = {e.entity_id: e.room_id for e in HOME.events}
    for entity_id, room in placed.items():
        domain, object_id = entity_id.split(".")
        entry = entity_registry.async_get_or_create(
            domain, "test", object_id, suggested_object_id=object_id
        )
        entity_registry.async_update_entity(entry.entity_id, area_id=room)


async def replay(hass: HomeAssistant, frozen: FrozenDateTimeFactory, until: float) -> None:
    """Set the household's states in order, and the sleep helpers each morning."""
    helper_updates = [
        (night.wake_utc + 600, night.sleep_start_state, night.sleep_end_state)
        for night in HOME.nights
    ]
    next_yield = HOME.start_utc + REPLAY_STEP
    for event in HOME.events:
        if event.ts >= until:
            break
        while helper_updates and helper_updates[0][0] <= event.ts:
            ts, start, end = helper_updates.pop(0)
            frozen.move_to(at(ts))
            hass.states.async_set("input_datetime.sleep_start", start)
            hass.states.async_set("input_datetime.sleep_end", end)
            await hass.async_block_till_done()
        if event.ts >= next_yield:
            await hass.async_block_till_done(wait_background_tasks=True)
            next_yield += REPLAY_STEP
        frozen.move_to(at(event.ts))
        attributes = {"device_class": event.device_class} if event.device_class else None
        hass.states.async_set(event.entity_id, event.state, attributes)
    frozen.move_to(at(until))
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_household_state_changes_end_in_sensor_states(
    hass: HomeAssistant,
    rooms: None,
    ml_entry: MockConfigEntry,
    frozen: FrozenDateTimeFactory,
) -> None:
    # No model yet: nothing is invented.
    for entity_id in ENTITIES:
        assert state_of(hass, entity_id) == STATE_UNKNOWN, entity_id

    await replay(hass, frozen, STOP)
    # The 02:00 refresh ran at the last step; the window 02:45-03:00 closed at 03:00.
    await hass.services.async_call(
        "roomdb", "run_pipeline", {"stages": ["ingest", "features", "inference"]}, blocking=True
    )

    database = db(ml_entry)
    rooms_seen = await database.fetchall("SELECT DISTINCT room_id FROM raw_events")
    assert {row[0] for row in rooms_seen} == {*HOME.rooms, None}  # helpers have no area
    labelled = await database.fetchone("SELECT COUNT(*) FROM labels")
    assert labelled is not None
    assert labelled[0] == len([n for n in HOME.nights[:9] if n.sleep_start_state != "unknown"])

    status = ml(ml_entry).status
    assert state_of(hass, "sensor.roomdb_ml_readiness") == "trained"
    probability = float(state_of(hass, "sensor.roomdb_sleep_probability"))
    assert probability > 80
    assert probability == round(status.sleep_probability * 100, 2)  # type: ignore[operator]
    assert state_of(hass, "binary_sensor.roomdb_asleep") == STATE_ON
    last_training = hass.states.get("sensor.roomdb_last_training")
    assert last_training is not None
    assert last_training.state != STATE_UNKNOWN
    assert "auc" in last_training.attributes
    assert "nb_auc" in last_training.attributes
    # The routine-change detector learns a routine for two weeks before it watches: nothing yet.
    assert state_of(hass, "sensor.roomdb_changepoint_probability") == STATE_UNKNOWN
    readiness = hass.states.get("sensor.roomdb_ml_readiness")
    assert readiness is not None
    assert readiness.attributes["bocpd_nights"] == 0
    assert readiness.attributes["degraded"] == []

    # Bedtime and wake time: the tenth night's bedtime (still asleep), the ninth's wake time, and
    # tonight's expected times from the nights before (within half an hour of the truth).
    tenth, ninth = HOME.nights[9], HOME.nights[8]
    assert abs(timestamp_of(hass, "sensor.roomdb_last_bedtime") - tenth.bedtime_utc) <= 1800
    assert attribute_of(hass, "sensor.roomdb_last_bedtime", "night") == str(tenth.night_date)
    assert abs(timestamp_of(hass, "sensor.roomdb_last_wake_time") - ninth.wake_utc) <= 1800
    assert abs(timestamp_of(hass, "sensor.roomdb_expected_bedtime") - tenth.bedtime_utc) <= 3600
    assert abs(timestamp_of(hass, "sensor.roomdb_expected_wake_time") - tenth.wake_utc) <= 3600

    # A weekday morning with the occupant at work: nobody moves, no light is on, yet the home is
    # awake (the model learned whole days, not only the hours before each wake time).
    morning = utc("2026-03-12T09:00:00")  # Thursday, 10:00 in Berlin
    await replay_after(hass, frozen, STOP, morning)
    assert float(state_of(hass, "sensor.roomdb_sleep_probability")) < 20
    assert state_of(hass, "binary_sensor.roomdb_asleep") == STATE_OFF

    # Awake in the evening, watching TV (the threshold option decides the binary sensor).
    evening = utc("2026-03-12T20:00:00")
    await replay_after(hass, frozen, morning, evening)
    assert float(state_of(hass, "sensor.roomdb_sleep_probability")) < 60
    assert state_of(hass, "binary_sensor.roomdb_asleep") == STATE_OFF


async def replay_after(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, start: float, until: float
) -> None:
    for event in HOME.events:
        if start <= event.ts < until:
            frozen.move_to(at(event.ts))
            attributes = {"device_class": event.device_class} if event.device_class else None
            hass.states.async_set(event.entity_id, event.state, attributes)
    frozen.move_to(at(until))
    await hass.async_block_till_done(wait_background_tasks=True)
    await hass.services.async_call(
        "roomdb", "run_pipeline", {"stages": ["ingest", "features", "inference"]}, blocking=True
    )
