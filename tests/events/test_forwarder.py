"""What the stream carries: RoomDB's bus events and, when enabled, tracked state changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.const import (
    CONF_EXPORT_PATH,
    CONF_MAPPING_PATH,
    DEFAULT_EXPORT_PATH,
    DEFAULT_MAPPING_PATH,
    DOMAIN,
    EVENT_ALARM_TRANSITION,
    EVENT_CONFIG_CHANGED,
    EVENT_ML_RESULT,
)
from custom_components.roomdb.events.options import CONF_EVENT_INCLUDE_STATE_CHANGES
from custom_components.roomdb.events.store import json_safe
from custom_components.roomdb.ml.options import CONF_ML_EXCLUDE, CONF_ML_INCLUDE
from tests.peers.ingest_server import IngestServer

from .conftest import stream_of, wait_until


def emitted(entry: MockConfigEntry) -> list[tuple[str, dict[str, Any]]]:
    return [(event.event_type, event.data) for event in stream_of(entry).buffer.ring]


async def test_forwards_roomdb_bus_events_with_json_safe_data(
    hass: HomeAssistant, peer: IngestServer, loaded_entry: MockConfigEntry
) -> None:
    moment = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)
    hass.bus.async_fire(
        EVENT_CONFIG_CHANGED, {"domain": "ml", "room_id": "hall", "version": 2, "action": "updated"}
    )
    hass.bus.async_fire(EVENT_ALARM_TRANSITION, {"from": "disarmed", "to": "armed_away"})
    hass.bus.async_fire(EVENT_ML_RESULT, {"at": moment, "rooms": {"hall", "kitchen"} - {"hall"}})
    hass.bus.async_fire("some_other_event", {"ignored": True})
    await hass.async_block_till_done()

    assert emitted(loaded_entry) == [
        ("config_changed", {"domain": "ml", "room_id": "hall", "version": 2, "action": "updated"}),
        ("alarm_transition", {"from": "disarmed", "to": "armed_away"}),
        ("ml_result", {"at": "2026-03-01T22:30:00+00:00", "rooms": ["kitchen"]}),
    ]
    key = stream_of(loaded_entry).buffer.device_key
    await wait_until(lambda: peer.sequences(key) == [1, 2, 3])
    assert peer.events(key)[2]["data"]["rooms"] == ["kitchen"]


async def test_state_changes_are_off_by_default(
    hass: HomeAssistant, peer: IngestServer, loaded_entry: MockConfigEntry
) -> None:
    hass.states.async_set("light.kitchen", "on")
    await hass.async_block_till_done()
    assert emitted(loaded_entry) == []


def entry_with(options: dict[str, Any]) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        data={CONF_MAPPING_PATH: DEFAULT_MAPPING_PATH, CONF_EXPORT_PATH: DEFAULT_EXPORT_PATH},
        options=options,
    )


async def test_tracked_state_changes_are_forwarded_when_enabled(
    hass: HomeAssistant, peer: IngestServer, entry_options: dict[str, Any]
) -> None:
    mock_entry = entry_with({**entry_options, CONF_EVENT_INCLUDE_STATE_CHANGES: True})
    mock_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()

    hass.states.async_set("light.kitchen", "on")
    hass.states.async_set("light.kitchen", "on", {"brightness": 10})  # attributes only: skipped
    hass.states.async_set("binary_sensor.hall_motion", "on", {"device_class": "motion"})
    # Any other binary sensor is tracked by default ("other binary sensors"); a plain sensor not.
    hass.states.async_set("binary_sensor.smoke", "on", {"device_class": "smoke"})
    hass.states.async_set("sensor.temperature", "21.5")  # untracked
    hass.states.async_remove("light.kitchen")
    await hass.async_block_till_done()

    assert emitted(mock_entry) == [
        ("state_changed", {"entity_id": "light.kitchen", "old_state": None, "new_state": "on"}),
        (
            "state_changed",
            {"entity_id": "binary_sensor.hall_motion", "old_state": None, "new_state": "on"},
        ),
        (
            "state_changed",
            {"entity_id": "binary_sensor.smoke", "old_state": None, "new_state": "on"},
        ),
        ("state_changed", {"entity_id": "light.kitchen", "old_state": "on", "new_state": None}),
    ]
    key = stream_of(mock_entry).buffer.device_key
    await wait_until(lambda: peer.sequences(key) == [1, 2, 3, 4])
    assert await hass.config_entries.async_unload(mock_entry.entry_id)


async def test_forwarded_state_changes_follow_the_ml_tracking_rules(
    hass: HomeAssistant, peer: IngestServer, entry_options: dict[str, Any]
) -> None:
    """The stream sends exactly the state changes `raw_events` records: ML's exclusions hold."""
    mock_entry = entry_with(
        {
            **entry_options,
            CONF_EVENT_INCLUDE_STATE_CHANGES: True,
            CONF_ML_EXCLUDE: ["light.kitchen"],
            CONF_ML_INCLUDE: ["sensor.temperature"],
        }
    )
    mock_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()

    hass.states.async_set("light.kitchen", "on")
    hass.states.async_set("sensor.temperature", "21.5")
    await hass.async_block_till_done()

    assert emitted(mock_entry) == [
        (
            "state_changed",
            {"entity_id": "sensor.temperature", "old_state": None, "new_state": "21.5"},
        )
    ]
    assert await hass.config_entries.async_unload(mock_entry.entry_id)


def test_json_safe_falls_back_to_strings() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque"

    # beyond 64 bits HA's encoder (orjson) fails: the number travels as its decimal text
    assert json_safe({"a": Opaque(), "n": 2**70}) == {"a": "opaque", "n": str(2**70)}
    assert json_safe({1: "one"}) == {"1": "one"}
    assert json_safe({"nan": float("nan"), "set": {3}}) == {"nan": None, "set": [3]}


async def test_direct_emitters_cannot_poison_the_stream(
    hass: HomeAssistant, peer: IngestServer, loaded_entry: MockConfigEntry
) -> None:
    buffer = stream_of(loaded_entry).buffer
    event = buffer.async_emit("custom", {"when": datetime(2026, 1, 1, tzinfo=UTC), "ids": {7}})
    assert event.data == {"when": "2026-01-01T00:00:00+00:00", "ids": [7]}
    await wait_until(lambda: peer.sequences(buffer.device_key) == [1])


async def test_a_disabled_stream_numbers_nothing(hass: HomeAssistant) -> None:
    mock_entry = entry_with({})
    mock_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()
    hass.bus.async_fire(EVENT_CONFIG_CHANGED, {"domain": "ml", "room_id": "hall"})
    await hass.async_block_till_done()
    stats = stream_of(mock_entry).stats()
    assert (stats.state, stats.buffered, stats.newest) == ("disabled", 0, None)
    response = await hass.services.async_call(
        DOMAIN, "flush_events", {}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["state"] == "disabled"
    assert await hass.config_entries.async_unload(mock_entry.entry_id)
