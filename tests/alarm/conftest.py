"""Fixtures for the alarm glue tests: HA's own `manual` panel as the sync target, in the same hass.

Only the HA-level tests (test_panel, test_sync, test_sync_soak, test_options) use these; the pure
tests of the core ignore them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
import hashlib
import threading
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.alarm_control_panel.const import DOMAIN as ALARM_DOMAIN
from homeassistant.const import EVENT_CALL_SERVICE
from homeassistant.core import Context, Event, HomeAssistant, State, callback
from homeassistant.helpers.entity import Entity
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.roomdb.alarm.const import (
    CONF_ALARM_TIMES,
    CONF_SYNC_ENABLED,
    CONF_SYNC_HA_AUTHORITATIVE,
    CONF_SYNC_TARGET,
)
from custom_components.roomdb.alarm.machine import STABLE_STATES
from custom_components.roomdb.alarm.sync import AlarmSync
from custom_components.roomdb.const import DOMAIN

TARGET = "alarm_control_panel.house"
PANEL = "alarm_control_panel.roomdb_alarm"
SYNC_SENSOR = "sensor.roomdb_alarm_sync"


def fast_times(arming: float = 0, delay: float = 0, trigger: float = 0) -> dict[str, Any]:
    """Options that give every state of RoomDB's panel the same timings."""
    return {
        CONF_ALARM_TIMES: {
            str(state): {"arming_time": arming, "delay_time": delay, "trigger_time": trigger}
            for state in STABLE_STATES
        }
    }


def sync_options(*, ha_authoritative: bool = True, **times: float) -> dict[str, Any]:
    """Options with sync to TARGET enabled and fast timings."""
    return {
        **fast_times(**times),
        CONF_SYNC_ENABLED: True,
        CONF_SYNC_TARGET: TARGET,
        CONF_SYNC_HA_AUTHORITATIVE: ha_authoritative,
    }


@pytest.fixture
def target_config() -> dict[str, Any]:
    """The manual panel's YAML config; override to change it."""
    return {
        "platform": "manual",
        "name": "House",
        "arming_time": 0,
        "delay_time": 0,
        "trigger_time": 0,
        # HA asks for a code on arming unless this is off, even when the panel has no code.
        "code_arm_required": False,
    }


@pytest.fixture
async def target(hass: HomeAssistant, target_config: dict[str, Any]) -> str:
    """HA's manual alarm panel, set up before RoomDB."""
    assert await async_setup_component(hass, ALARM_DOMAIN, {ALARM_DOMAIN: [target_config]})
    await hass.async_block_till_done()
    assert hass.states.get(TARGET) is not None
    return TARGET


@pytest.fixture
async def alarm_entry(
    hass: HomeAssistant, target: str, mock_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """RoomDB set up after the target; unloaded afterwards."""
    mock_entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    yield mock_entry
    if mock_entry.state.recoverable:
        await hass.config_entries.async_unload(mock_entry.entry_id)
        await hass.async_block_till_done()


@dataclass
class ServiceCalls:
    """Every `alarm_control_panel` call on the target that the test did not make itself."""

    test_contexts: set[str] = field(default_factory=set)
    outbound: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    contexts: list[Context] = field(default_factory=list)
    """The context of each outbound call."""

    @callback
    def on_call(self, event: Event) -> None:
        data = event.data
        if data["domain"] != ALARM_DOMAIN or event.context.id in self.test_contexts:
            return
        entity_ids = data["service_data"].get("entity_id")
        if entity_ids in (TARGET, [TARGET]):
            self.outbound.append((data["service"], dict(data["service_data"])))
            self.contexts.append(event.context)

    def services(self) -> list[str]:
        return [service for service, _ in self.outbound]


@pytest.fixture
def calls(hass: HomeAssistant) -> ServiceCalls:
    """Count RoomDB's outbound service calls (EVENT_CALL_SERVICE), not the test's own."""
    collector = ServiceCalls()
    hass.bus.async_listen(EVENT_CALL_SERVICE, collector.on_call)
    return collector


async def call_target(hass: HomeAssistant, calls: ServiceCalls, service: str, **data: Any) -> None:
    """Someone uses the target panel directly (not counted as RoomDB's call)."""
    context = Context()
    calls.test_contexts.add(context.id)
    await hass.services.async_call(
        ALARM_DOMAIN, service, {"entity_id": TARGET, **data}, blocking=True, context=context
    )
    await hass.async_block_till_done()


async def call_panel(hass: HomeAssistant, service: str, **data: Any) -> None:
    """Someone uses RoomDB's panel."""
    await hass.services.async_call(
        ALARM_DOMAIN, service, {"entity_id": PANEL, **data}, blocking=True
    )
    await hass.async_block_till_done()


def target_entity(hass: HomeAssistant) -> Entity:
    """The manual panel entity object (to bring it back after a faked outage)."""
    entity = hass.data["entity_components"][ALARM_DOMAIN].get_entity(TARGET)
    assert entity is not None
    return entity


async def target_offline(hass: HomeAssistant) -> None:
    """The target becomes unavailable (as when its integration loses the device)."""
    hass.states.async_set(TARGET, "unavailable")
    await hass.async_block_till_done()


async def target_unavailable(hass: HomeAssistant) -> None:
    """The target's own integration reports it unavailable (it lost the device for a moment).

    Unlike `target_offline`, the target writes the state itself, so the state carries whatever
    context the entity holds: within Home Assistant's context window, that of RoomDB's last call.
    """
    entity = target_entity(hass)
    entity._attr_available = False
    entity.async_write_ha_state()
    await hass.async_block_till_done()


async def target_back(hass: HomeAssistant) -> None:
    """The target reports its real state again (HA stamps a new last_updated)."""
    entity = target_entity(hass)
    entity._attr_available = True
    entity.async_write_ha_state()
    await hass.async_block_till_done()


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move the clock and fire the timers that are due."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def state(hass: HomeAssistant, entity_id: str) -> str:
    current: State | None = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


def sync_of(entry: MockConfigEntry) -> AlarmSync:
    sync: AlarmSync = entry.runtime_data.alarm_sync
    return sync


def record_key_derivations(monkeypatch: pytest.MonkeyPatch, hass: HomeAssistant) -> list[bool]:
    """Record for every key derivation (hashing or checking a code) whether it ran on the loop."""
    on_loop: list[bool] = []
    real = hashlib.pbkdf2_hmac

    def recording(hash_name: str, password: bytes, salt: bytes, iterations: int) -> bytes:
        on_loop.append(threading.get_ident() == hass.loop_thread_id)
        return real(hash_name, password, salt, iterations)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", recording)  # the machine looks it up per call
    return on_loop
