"""The event stream's diagnostic sensors and its part of the diagnostics download."""

from __future__ import annotations

import json

from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from tests.peers.ingest_server import IngestServer

from .conftest import TOKEN, fire_config_changes, stream_of, wait_until

ENDPOINT = "sensor.roomdb_event_endpoint"


async def refresh(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Refresh the snapshot now (the debounced refresh would wait for its cooldown)."""
    await entry.runtime_data.coordinator.async_refresh()
    assert entry.runtime_data.coordinator.data.events == stream_of(entry).stats()
    await hass.async_block_till_done()


def value(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


async def test_sensors_follow_the_stream(
    hass: HomeAssistant,
    peer: IngestServer,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    assert value(hass, ENDPOINT) == "ok"
    endpoint = entity_registry.async_get(ENDPOINT)
    assert endpoint is not None
    assert endpoint.entity_category is EntityCategory.DIAGNOSTIC
    assert endpoint.unique_id == f"{loaded_entry.entry_id}_event_endpoint"
    for noisy in ("oldest_buffered_sequence", "newest_sequence", "last_sent_sequence"):
        entry = entity_registry.async_get(f"sensor.roomdb_{noisy}")
        assert entry is not None
        assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION

    peer.drop_sequences({2})
    fire_config_changes(hass, 4)
    await wait_until(lambda: stream_of(loaded_entry).stats().resent == 1)
    await wait_until(lambda: stream_of(loaded_entry).stats().last_acked == 4)
    await refresh(hass, loaded_entry)
    pending = hass.states.get("sensor.roomdb_pending_events")
    assert pending is not None
    assert pending.state == "3"  # answered, not yet confirmed by a later POST
    assert (pending.attributes["awaiting_resend"], pending.attributes["disagreement"]) == (0, [])
    await stream_of(loaded_entry).async_flush()  # a heartbeat confirms them
    await refresh(hass, loaded_entry)
    assert value(hass, "sensor.roomdb_buffered_events") == "5"
    assert value(hass, "sensor.roomdb_pending_events") == "0"
    assert value(hass, "sensor.roomdb_resent_events") == "1"
    assert value(hass, "sensor.roomdb_unrecoverable_events") == "0"
    buffered = hass.states.get("sensor.roomdb_buffered_events")
    assert buffered is not None
    assert buffered.attributes["capacity"] == 200

    peer.token = "rotated"
    fire_config_changes(hass, 1, start=4)
    await wait_until(lambda: stream_of(loaded_entry).stats().state == "error")
    await refresh(hass, loaded_entry)
    state = hass.states.get(ENDPOINT)
    assert state is not None
    assert state.state == "error"
    assert state.attributes["last_error"].startswith("HTTP 401")
    assert state.attributes["options"] == ["ok", "retrying", "disabled", "error"]
    assert value(hass, "sensor.roomdb_pending_events") == "1"


async def test_diagnostics_show_the_stream_without_the_token(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    peer: IngestServer,
    loaded_entry: MockConfigEntry,
) -> None:
    fire_config_changes(hass, 2)
    await wait_until(lambda: stream_of(loaded_entry).stats().last_acked == 2)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    assert TOKEN not in json.dumps(diagnostics)
    assert diagnostics["entry"]["options"]["ingest_token"] == "**REDACTED**"
    events = diagnostics["events"]
    assert events["enabled"] is True
    assert events["endpoint"] == peer.url
    assert events["device_key"] == stream_of(loaded_entry).buffer.device_key
    assert (events["state"], events["last_acked"], events["next_sequence"]) == ("ok", 2, 3)
