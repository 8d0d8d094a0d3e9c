"""Fixtures for the alarm glue tests: HA's own `manual` panel as the sync target, in the same hass,
and real binary sensors (template binary sensors over `input_boolean` helpers) to guard it.

Only the HA-level tests (test_panel, test_sync, test_sync_soak, test_options, test_guarding,
test_custom_bypass) use these; the pure tests of the core ignore them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
import hashlib
import json
import re
import threading
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.alarm_control_panel.const import DOMAIN as ALARM_DOMAIN
from homeassistant.const import EVENT_CALL_SERVICE
from homeassistant.core import Context, Event, HomeAssistant, State, callback
from homeassistant.helpers.entity import Entity
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.roomdb.alarm.const import (
    CONF_ALARM_TIMES,
    CONF_SYNC_ENABLED,
    CONF_SYNC_HA_AUTHORITATIVE,
    CONF_SYNC_TARGET,
    EVENT_ALARM_EVENT,
)
from custom_components.roomdb.alarm.machine import STABLE_STATES
from custom_components.roomdb.alarm.sensor_rules import default_sensor
from custom_components.roomdb.alarm.sync import AlarmSync
from custom_components.roomdb.const import DOMAIN, EVENT_ALARM_TRANSITION
from tests.conftest import roomdb_set_up

TARGET = "alarm_control_panel.house"
PANEL = "alarm_control_panel.roomdb_alarm"
SYNC_SENSOR = "sensor.roomdb_alarm_sync"

SENSOR_HELPERS: dict[str, str] = {
    "front_door": "door",
    "kitchen_window": "window",
    "smoke": "smoke",
    "hall_motion": "motion",
    "garage": "garage_door",
}
"""Binary sensors (`binary_sensor.<name>`) and their device classes. Each follows the helper
`input_boolean.<name>` and is available while `input_boolean.<name>_online` is on."""


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


def manual_target(*, trigger_time: float = 0, **extra: Any) -> dict[str, Any]:
    """HA's manual panel as YAML config: no delays, `trigger_time` seconds of alarm, no code;
    `extra` adds or replaces keys."""
    return {
        "platform": "manual",
        "name": "House",
        "arming_time": 0,
        "delay_time": 0,
        "trigger_time": trigger_time,
        # HA asks for a code on arming unless this is off, even when the panel has no code.
        "code_arm_required": False,
        **extra,
    }


@pytest.fixture
def target_config() -> dict[str, Any]:
    """The manual panel's YAML config; override to change it."""
    return manual_target()


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
    async with roomdb_set_up(hass, mock_entry):
        yield mock_entry


@pytest.fixture
async def binary_sensors(hass: HomeAssistant) -> dict[str, str]:
    """Real template binary sensors; `set_sensor` opens, closes and loses them."""
    helpers = {name: {} for name in SENSOR_HELPERS} | {
        f"{name}_online": {"initial": True} for name in SENSOR_HELPERS
    }
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": helpers})
    template = [
        {
            "name": name.replace("_", " ").capitalize(),
            "unique_id": f"test_{name}",
            "device_class": device_class,
            "state": f"{{{{ is_state('input_boolean.{name}', 'on') }}}}",
            "availability": f"{{{{ is_state('input_boolean.{name}_online', 'on') }}}}",
        }
        for name, device_class in SENSOR_HELPERS.items()
    ]
    assert await async_setup_component(
        hass, "template", {"template": [{"binary_sensor": template}]}
    )
    await hass.async_block_till_done()
    assert state(hass, "binary_sensor.front_door") == "off"
    return {name: f"binary_sensor.{name}" for name in SENSOR_HELPERS}


def sensor_options(**changes: dict[str, Any]) -> dict[str, Any]:
    """Every test sensor with the settings its device class gives, then `changes` per entity."""
    sensors = {
        f"binary_sensor.{name}": default_sensor(f"binary_sensor.{name}", device_class).to_dict()
        for name, device_class in SENSOR_HELPERS.items()
    }
    for entity_id, change in changes.items():
        sensors[f"binary_sensor.{entity_id}"] |= change
    return sensors


async def set_sensor(hass: HomeAssistant, name: str, reading: str) -> None:
    """Make `binary_sensor.<name>` read "on", "off" or "unavailable"."""
    if reading == "unavailable":
        service, helper = "turn_off", f"input_boolean.{name}_online"
    else:
        await hass.services.async_call(
            "input_boolean", "turn_on", {"entity_id": f"input_boolean.{name}_online"}, blocking=True
        )
        service, helper = f"turn_{reading}", f"input_boolean.{name}"
    await hass.services.async_call("input_boolean", service, {"entity_id": helper}, blocking=True)
    await hass.async_block_till_done()
    assert state(hass, f"binary_sensor.{name}") == reading


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


def holds_code(data: Any, code: str) -> bool:
    """Whether `code` appears in `data` (as JSON) other than by chance inside a hex hash or salt."""
    return re.search(rf"(?<![0-9a-f]){re.escape(code)}(?![0-9a-f])", json.dumps(data)) is not None


def record_key_derivations(monkeypatch: pytest.MonkeyPatch, hass: HomeAssistant) -> list[bool]:
    """Record for every key derivation (hashing or checking a code) whether it ran on the loop."""
    on_loop: list[bool] = []
    real = hashlib.pbkdf2_hmac

    def recording(hash_name: str, password: bytes, salt: bytes, iterations: int) -> bytes:
        on_loop.append(threading.get_ident() == hass.loop_thread_id)
        return real(hash_name, password, salt, iterations)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", recording)  # the machine looks it up per call
    return on_loop


LONG_ALARM_TARGET = manual_target(trigger_time=600)
"""The manual panel with a long alarm, so RoomDB's trigger shows on it."""


@pytest.fixture
async def guarded(
    hass: HomeAssistant,
    binary_sensors: dict[str, str],
    target: str,
    mock_entry: MockConfigEntry,
) -> AsyncIterator[MockConfigEntry]:
    """RoomDB set up after the sensors and the target; unloaded afterwards."""
    async with roomdb_set_up(hass, mock_entry):
        yield mock_entry
    # The manual panel never cancels its timers: let them run out.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=1), fire_all=True)
    await hass.async_block_till_done()


@pytest.fixture
def events(hass: HomeAssistant) -> list[dict[str, Any]]:
    """The `roomdb_alarm_event`s fired, without their time."""
    seen: list[dict[str, Any]] = []

    @callback
    def _record(event: Event) -> None:
        seen.append({key: value for key, value in event.data.items() if key != "at"})

    hass.bus.async_listen(EVENT_ALARM_EVENT, _record)
    return seen


@pytest.fixture
def transitions(hass: HomeAssistant) -> list[dict[str, Any]]:
    """The `roomdb_alarm_transition`s fired, whole."""
    seen: list[dict[str, Any]] = []

    @callback
    def _record(event: Event) -> None:
        seen.append(dict(event.data))

    hass.bus.async_listen(EVENT_ALARM_TRANSITION, _record)
    return seen


def attributes(hass: HomeAssistant, entity_id: str = PANEL) -> dict[str, Any]:
    current = hass.states.get(entity_id)
    assert current is not None
    return dict(current.attributes)


async def arm_service(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Call `roomdb.alarm_arm` and return its response."""
    response = await hass.services.async_call(
        DOMAIN, "alarm_arm", data, blocking=True, return_response=True
    )
    await hass.async_block_till_done()
    assert response is not None
    return dict(response)
