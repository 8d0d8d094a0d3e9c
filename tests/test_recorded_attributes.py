"""Attributes that change with every write, event or inference stay out of HA's recorder.

Run against HA's real recorder: the recorder's stored states of the database sensor and of the ML
layer's sleep entities carry none of the moving attributes, while the state itself and the
stable attributes are still recorded.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.history import get_significant_states
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.roomdb.alarm.sensors import AlarmSyncSensor
from custom_components.roomdb.const import DOMAIN

DATABASE_SENSOR = "sensor.roomdb_database"
MOVING = {"last_write", "queued_rows", "dropped_rows", "row_counts", "raw_event_days", "free_bytes"}
"""The database sensor's attributes that change with every write."""
RECORDED_AND_MOVING = {
    DATABASE_SENSOR: ({"schema_version"}, MOVING),
    "sensor.roomdb_sleep_probability": ({"model_run_id"}, {"window_end", "observed", "away"}),
    "binary_sensor.roomdb_asleep": ({"threshold"}, {"sleep_probability", "observed"}),
}
"""Per entity: attributes that stay recorded, and those that move with every update."""


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """The recorder's database must be chosen before `hass` starts (the shared fixture needs it)."""


def _recorded(hass: HomeAssistant, entity_id: str) -> list[dict[str, Any]]:
    start = dt_util.utcnow() - timedelta(hours=1)
    states = get_significant_states(hass, start, entity_ids=[entity_id])
    return [dict(state.attributes) for state in states.get(entity_id, [])]


async def test_moving_attributes_are_not_recorded(
    recorder_mock: Recorder, hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    mock_entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    coordinator = mock_entry.runtime_data.coordinator
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    for entity_id, (kept, moving) in RECORDED_AND_MOVING.items():
        live = hass.states.get(entity_id)
        assert live is not None, entity_id
        assert kept | moving <= set(live.attributes), entity_id

    await async_wait_recording_done(hass)
    for entity_id, (kept, moving) in RECORDED_AND_MOVING.items():
        recorded = await recorder_mock.async_add_executor_job(_recorded, hass, entity_id)
        assert recorded, f"{entity_id} was not recorded at all"
        for attributes in recorded:
            assert kept <= set(attributes), (entity_id, attributes)
            assert not set(attributes) & moving, (entity_id, attributes)

    await hass.config_entries.async_unload(mock_entry.entry_id)
    await hass.async_block_till_done()


def test_alarm_sync_stamps_are_declared_unrecorded() -> None:
    """The sync sensor's push stamps are the attributes that change on every push."""
    assert {"last_push_attempt", "last_push_success", "next_retry"} <= (
        AlarmSyncSensor._unrecorded_attributes
    )


STANDARD = {
    "friendly_name",
    "device_class",
    "unit_of_measurement",
    "state_class",
    "options",
    "icon",
    "supported_features",
    "code_format",
    "changed_by",
    "code_arm_required",
}
"""Home Assistant's own attributes of an entity's kind, not RoomDB's."""
STABLE = {
    "schema_version",  # the database's schema: changes with an upgrade
    "capacity",  # the event buffer's size: an option
    "model_run_id",  # the model: changes with a training
    "threshold",  # the asleep threshold: changes with a training
    "mapping_status",  # the area mapping: changes when it is edited
    "mapping_source",
    "mapping_path",
    "endpoint",  # the event stream's endpoint: an option
    "target",  # the alarm sync's target panel: an option
    "bypassed_sensors",  # set when arming
    "triggered_by",  # the alarm's cause: an event worth its history
    "last_push_error",  # the sync's last failure: changes with the sync's state
    # The sleep layer's nightly results: they change once a night (training, detector, nights).
    "night",
    "bedtime",
    "wake",
    "confidence",
    "pending",
    "nights",
    "recent_changepoints",
    "top_streams",
    "run_id",
    "paired_nights",
    "paired_rows",
    "labeled_nights",
    "nights_needed",
    "bocpd_nights",
    # The readiness and its reasons: they change with the readiness state itself.
    "detail",
    "degraded",
    "last_label_rejection",
    "min_nights",  # options
    "min_rows",
}
"""RoomDB attributes that change with a setting, a training or an arming, not with every update."""


async def test_every_attribute_is_declared_moving_or_stable(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Each attribute of each RoomDB entity is unrecorded or named stable above.

    An attribute added later must be put in one of the two: one that moved with every update
    would otherwise cost a recorder row per change.
    """
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, loaded_entry.entry_id):
        if entity.disabled_by is not None:
            registry.async_update_entity(entity.entity_id, disabled_by=None)
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await loaded_entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    entities = er.async_entries_for_config_entry(registry, loaded_entry.entry_id)
    assert len(entities) > 20
    assert all(entity.disabled_by is None for entity in entities)
    undeclared: dict[str, set[str]] = {}
    for entity in entities:
        state = hass.states.get(entity.entity_id)
        assert state is not None, entity.entity_id
        assert state.state_info is not None, entity.entity_id
        unrecorded = state.state_info["unrecorded_attributes"]
        loose = set(state.attributes) - STANDARD - STABLE - unrecorded
        if loose:
            undeclared[entity.entity_id] = loose
    assert undeclared == {}
