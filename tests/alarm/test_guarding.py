"""The panel guarding a home: real binary sensors, users, events, and HA's `manual` panel synced.

The sensors are template binary sensors over `input_boolean` helpers (see conftest); the sync
target is HA's `manual` panel with no delays and a long alarm, so every state RoomDB sends shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import hashlib
import logging
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import User as AuthUser
from homeassistant.core import Context, Event, HomeAssistant, ServiceCall
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.setup import async_setup_component
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.roomdb import logbook
from custom_components.roomdb.alarm.const import (
    ALARM_STORE_KEY,
    CONF_ALARM_CODE_HASH,
    CONF_ALARM_LOCKOUT_ATTEMPTS,
    CONF_ALARM_LOCKOUT_TIME,
    CONF_ALARM_NOTIFY_EVENTS,
    CONF_ALARM_NOTIFY_TARGETS,
    CONF_ALARM_SENSORS,
    CONF_ALARM_TIMES,
    CONF_ALARM_USERS,
    EVENT_ALARM_EVENT,
)
from custom_components.roomdb.alarm.machine import AlarmState, CodeHash
from custom_components.roomdb.alarm.sensor_rules import SensorConfig
from custom_components.roomdb.const import DOMAIN

from .conftest import (
    LONG_ALARM_TARGET,
    PANEL,
    TARGET,
    ServiceCalls,
    arm_service,
    attributes,
    call_panel,
    call_target,
    sensor_options,
    set_sensor,
    state,
    sync_options,
    target_back,
    target_unavailable,
    tick,
)
from .users import ANN, BO

S = AlarmState
DOOR = "binary_sensor.front_door"
WINDOW = "binary_sensor.kitchen_window"
SMOKE = "binary_sensor.smoke"
MOTION = "binary_sensor.hall_motion"
GARAGE = "binary_sensor.garage"


def times() -> dict[str, dict[str, float]]:
    """Away: 10 s exit delay, 20 s entry delay; home: none; disarmed: no panic alarm."""
    return {
        "armed_away": {"arming_time": 10, "delay_time": 20, "trigger_time": 300},
        "armed_home": {"arming_time": 0, "delay_time": 0, "trigger_time": 300},
        "armed_night": {"arming_time": 0, "delay_time": 0, "trigger_time": 300},
        "armed_vacation": {"arming_time": 0, "delay_time": 0, "trigger_time": 300},
        "disarmed": {"arming_time": 0, "delay_time": 0, "trigger_time": 0},
    }


def guarded_options(**extra: Any) -> dict[str, Any]:
    return {
        **sync_options(),
        CONF_ALARM_TIMES: times(),
        CONF_ALARM_SENSORS: sensor_options(garage={"trigger_unavailable": True}),
        CONF_ALARM_USERS: [ANN.to_dict(), BO.to_dict()],
        **extra,
    }


async def armed_away(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Ann arms away and the exit delay passes."""
    await call_panel(hass, "alarm_arm_away", code="1111")
    await tick(hass, freezer, 10)


@pytest.fixture
def entry_options() -> dict[str, Any]:
    return guarded_options()


@pytest.fixture
def target_config() -> dict[str, Any]:
    return dict(LONG_ALARM_TARGET)


async def test_arming_with_the_door_open_is_refused_and_not_sent_on(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    calls: ServiceCalls,
    events: list[dict[str, Any]],
) -> None:
    await set_sensor(hass, "front_door", "on")
    assert attributes(hass)["open_sensors"] == [DOOR]
    for attempt in ({"code": "1111"}, {}):  # home has no exit delay: the door must be shut
        with pytest.raises(ServiceValidationError) as refused:
            await call_panel(hass, "alarm_arm_home", **attempt)
    assert refused.value.translation_key == "code_arm_required"  # Home Assistant's own check
    with pytest.raises(ServiceValidationError) as refused:
        await call_panel(hass, "alarm_arm_home", code="1111")
    assert refused.value.translation_domain == DOMAIN
    assert refused.value.translation_key == "open_sensors"
    assert refused.value.translation_placeholders == {
        "state": "armed_home",
        "sensors": "Front door",
    }
    assert state(hass, PANEL) == "disarmed"
    assert state(hass, TARGET) == "disarmed"
    assert calls.outbound == []  # the refusal is not forced on the target
    assert (
        events
        == [
            {
                "event": "arm_failure",
                "mode": "armed_home",
                "open_sensors": {DOOR: "open"},
                "changed_by": "Ann",
            }
        ]
        * 2
    )


async def test_forcing_bypasses_until_the_door_closes_and_the_target_arms_too(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    calls: ServiceCalls,
    events: list[dict[str, Any]],
) -> None:
    await set_sensor(hass, "kitchen_window", "on")
    response = await arm_service(hass, mode="armed_home", code="2222", force=True)
    assert response == {"state": "armed_home", "bypassed_sensors": [WINDOW]}
    assert state(hass, PANEL) == "armed_home"
    assert attributes(hass)["bypassed_sensors"] == [WINDOW]
    assert attributes(hass)["changed_by"] == "Bo"
    assert calls.services() == ["alarm_arm_home"]
    assert state(hass, TARGET) == "armed_home"
    assert events == [
        {
            "event": "armed",
            "mode": "armed_home",
            "bypassed_sensors": [WINDOW],
            "origin": "local",
            "changed_by": "Bo",
        }
    ]
    await set_sensor(hass, "kitchen_window", "off")
    assert attributes(hass)["bypassed_sensors"] == []
    await set_sensor(hass, "kitchen_window", "on")  # guarded again, and without entry delay
    assert state(hass, PANEL) == "triggered"
    assert state(hass, TARGET) == "triggered"


async def test_door_opened_while_armed_pends_and_a_valid_code_disarms(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
    events: list[dict[str, Any]],
) -> None:
    await armed_away(hass, freezer)
    assert state(hass, PANEL) == "armed_away"
    await set_sensor(hass, "front_door", "on")
    assert state(hass, PANEL) == "pending"
    assert state(hass, TARGET) == "armed_away"  # the entry delay is RoomDB's own
    with pytest.raises(ServiceValidationError) as refused:
        await call_panel(hass, "alarm_disarm", code="2222")  # Bo may not disarm away
    assert refused.value.translation_key == "not_permitted"
    assert refused.value.translation_placeholders == {"user": "Bo", "state": "armed_away"}
    await tick(hass, freezer, 15)
    assert state(hass, PANEL) == "pending"
    await call_panel(hass, "alarm_disarm", code="1111")
    assert state(hass, PANEL) == "disarmed"
    assert state(hass, TARGET) == "disarmed"
    assert calls.services() == ["alarm_arm_away", "alarm_disarm"]
    assert [event["event"] for event in events] == ["armed", "disarmed"]
    assert events[-1] == {
        "event": "disarmed",
        "previous": "pending",
        "origin": "local",
        "changed_by": "Ann",
    }
    await tick(hass, freezer, 60)
    assert state(hass, PANEL) == "disarmed"


async def test_door_opened_while_armed_triggers_after_the_entry_delay_on_both_panels(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
    events: list[dict[str, Any]],
) -> None:
    await armed_away(hass, freezer)
    await set_sensor(hass, "front_door", "on")
    await set_sensor(hass, "hall_motion", "on")
    await tick(hass, freezer, 19)
    assert state(hass, PANEL) == "pending"
    await tick(hass, freezer, 1)
    assert state(hass, PANEL) == "triggered"
    assert attributes(hass)["triggered_by"] == [DOOR, MOTION]
    assert state(hass, TARGET) == "triggered"
    assert calls.services() == ["alarm_arm_away", "alarm_trigger"]
    assert events[-1] == {
        "event": "triggered",
        "mode": "armed_away",
        "sensors": [DOOR, MOTION],
        "origin": "timer",
        "changed_by": "Ann",
    }


async def test_the_targets_alarm_reaches_roomdb(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    calls: ServiceCalls,
    events: list[dict[str, Any]],
) -> None:
    await call_panel(hass, "alarm_arm_home", code="1111")
    await call_target(hass, calls, "alarm_trigger")
    assert state(hass, TARGET) == "triggered"
    assert state(hass, PANEL) == "triggered"
    assert attributes(hass)["changed_by"] == TARGET
    assert events[-1] == {
        "event": "triggered",
        "mode": "armed_home",
        "sensors": [],
        "origin": "home_assistant",
        "changed_by": TARGET,
    }
    await call_target(hass, calls, "alarm_disarm")
    assert state(hass, PANEL) == "disarmed"
    assert calls.services() == ["alarm_arm_home"]  # nothing taken from the target went back


async def test_the_target_arming_with_a_window_open_bypasses_it(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    calls: ServiceCalls,
    events: list[dict[str, Any]],
) -> None:
    await set_sensor(hass, "kitchen_window", "on")
    await call_target(hass, calls, "alarm_arm_night")
    assert state(hass, PANEL) == "armed_night"
    assert attributes(hass)["bypassed_sensors"] == [WINDOW]
    assert events[-1]["bypassed_sensors"] == [WINDOW]
    assert events[-1]["origin"] == "home_assistant"
    assert calls.outbound == []


async def test_smoke_triggers_in_every_state(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Disarmed (whose alarm time is zero here), arming, armed, and during an entry delay."""
    controller = guarded.runtime_data.alarm

    async def smoke_sets_it_off() -> None:
        await set_sensor(hass, "smoke", "on")
        assert state(hass, PANEL) == "triggered"
        assert attributes(hass)["triggered_by"][-1] == SMOKE
        await call_panel(hass, "alarm_disarm", code="1111")
        await set_sensor(hass, "smoke", "off")

    await smoke_sets_it_off()
    assert controller.machine.next_deadline() is None  # disarmed again: nothing runs
    await call_panel(hass, "alarm_arm_away", code="1111")
    assert state(hass, PANEL) == "arming"
    await smoke_sets_it_off()
    for mode in ("alarm_arm_home", "alarm_arm_night", "alarm_arm_vacation"):
        await call_panel(hass, mode, code="1111")
        await smoke_sets_it_off()
    await armed_away(hass, freezer)
    await set_sensor(hass, "front_door", "on")
    assert state(hass, PANEL) == "pending"
    await smoke_sets_it_off()
    assert state(hass, TARGET) == "disarmed"


async def test_a_sensor_going_unavailable_while_armed_is_reported_or_triggers(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    events: list[dict[str, Any]],
) -> None:
    await armed_away(hass, freezer)
    await set_sensor(hass, "hall_motion", "unavailable")
    assert state(hass, PANEL) == "armed_away"
    assert attributes(hass)["unavailable_sensors"] == [MOTION]
    assert events[-1] == {"event": "sensor_unavailable", "sensor": MOTION, "state": "armed_away"}
    await set_sensor(hass, "hall_motion", "off")
    assert attributes(hass)["unavailable_sensors"] == []
    await set_sensor(hass, "garage", "unavailable")  # set to trigger when unavailable
    assert events[-1] == {"event": "sensor_unavailable", "sensor": GARAGE, "state": "armed_away"}
    assert state(hass, PANEL) == "pending"
    await tick(hass, freezer, 20)
    assert events[-1]["event"] == "triggered"
    assert events[-1]["sensors"] == [GARAGE]


@pytest.mark.parametrize(
    "entry_options",
    [guarded_options(**{CONF_ALARM_LOCKOUT_ATTEMPTS: 3, CONF_ALARM_LOCKOUT_TIME: 120})],
)
async def test_wrong_codes_lock_out_for_the_configured_time(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    events: list[dict[str, Any]],
) -> None:
    await call_panel(hass, "alarm_arm_home", code="1111")
    for _ in range(3):
        with pytest.raises(ServiceValidationError) as refused:
            await call_panel(hass, "alarm_disarm", code="0000")
        assert refused.value.translation_key == "invalid_code"
    assert events[-1]["event"] == "lockout"
    assert events[-1]["attempts"] == 3
    assert attributes(hass)["lockout_until"] == events[-1]["until"]
    with pytest.raises(ServiceValidationError) as refused:
        await call_panel(hass, "alarm_disarm", code="1111")  # even the right code
    assert refused.value.translation_key == "locked_out"
    assert refused.value.translation_placeholders == {"seconds": "120"}
    await tick(hass, freezer, 119)
    with pytest.raises(ServiceValidationError):
        await call_panel(hass, "alarm_disarm", code="1111")
    await tick(hass, freezer, 1)
    await call_panel(hass, "alarm_disarm", code="1111")
    assert state(hass, PANEL) == "disarmed"
    assert attributes(hass)["lockout_until"] is None


async def test_restart_takes_a_door_opened_meanwhile_as_opened(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    await call_panel(hass, "alarm_arm_home", code="1111")
    await set_sensor(hass, "kitchen_window", "on")
    await call_panel(hass, "alarm_disarm", code="1111")
    await set_sensor(hass, "kitchen_window", "off")
    await call_panel(hass, "alarm_arm_home", code="1111")
    assert await hass.config_entries.async_unload(guarded.entry_id)
    await hass.async_block_till_done()
    await set_sensor(hass, "front_door", "on")  # while RoomDB was not running
    assert await hass.config_entries.async_setup(guarded.entry_id)
    await hass.async_block_till_done()
    assert state(hass, PANEL) == "triggered"  # home: no entry delay here
    assert attributes(hass)["triggered_by"] == [DOOR]


@pytest.mark.parametrize(
    "entry_options",
    [
        guarded_options(
            **{
                CONF_ALARM_NOTIFY_TARGETS: ["notify.phone", "notify.kitchen_display"],
                CONF_ALARM_NOTIFY_EVENTS: ["arm_failure", "sync_offline", "sync_online"],
            }
        )
    ],
)
async def test_chosen_events_are_sent_to_the_notify_targets(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    calls: ServiceCalls,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A legacy notify service and a notify entity; a failing target does not stop the next."""
    sent: list[ServiceCall] = []

    async def receive(call: ServiceCall) -> None:
        sent.append(call)
        if call.service == "phone":
            raise RuntimeError("phone is off")

    hass.services.async_register("notify", "phone", receive)
    hass.services.async_register("notify", "send_message", receive)
    hass.states.async_set("notify.kitchen_display", "unknown")
    await set_sensor(hass, "kitchen_window", "on")
    with caplog.at_level(logging.WARNING), pytest.raises(ServiceValidationError):
        await call_panel(hass, "alarm_arm_away", code="1111")
    await hass.async_block_till_done()
    assert "Alarm notification to notify.phone failed: phone is off" in caplog.text
    assert [call.service for call in sent] == ["phone", "send_message"]
    message = {
        "title": "RoomDB alarm",
        "message": "The alarm could not arm Armed away: Kitchen window open",
    }
    assert sent[0].data == message
    assert sent[1].data == {**message, "entity_id": "notify.kitchen_display"}

    sent.clear()
    await target_unavailable(hass)
    await target_back(hass)
    assert [call.data["message"] for call in sent[::2]] == [
        f"{TARGET}, the alarm panel RoomDB syncs with, is unavailable",
        f"{TARGET}, the alarm panel RoomDB syncs with, is available again",
    ]


@pytest.mark.parametrize(
    "entry_options",
    [{CONF_ALARM_CODE_HASH: CodeHash.create("4711", iterations=1).to_dict()}],
)
async def test_an_entry_with_one_code_and_state_from_the_last_release_keeps_working(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """The code is the main code, with every right; the stored state (Store version 1) stays."""
    hass_storage[ALARM_STORE_KEY] = {
        "version": 1,
        "minor_version": 1,
        "key": ALARM_STORE_KEY,
        "data": {
            "version": 1,
            "state": "armed_away",
            "target": None,
            "deadline": None,
            "changed_at": 1_700_000_000.0,
            "last_local_change_at": 1_700_000_000.0,
            "code": CodeHash.create("4711", iterations=1).to_dict(),
        },
    }
    mock_entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert state(hass, PANEL) == "armed_away"
    assert attributes(hass)["code_format"] == "number"
    with pytest.raises(ServiceValidationError):
        await call_panel(hass, "alarm_disarm", code="1234")
    await call_panel(hass, "alarm_disarm", code="4711")
    assert state(hass, PANEL) == "disarmed"
    assert attributes(hass)["changed_by"] == "Main code"
    await hass.config_entries.async_unload(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert hass_storage[ALARM_STORE_KEY]["version"] == 2
    assert hass_storage[ALARM_STORE_KEY]["data"]["machine"]["state"] == "disarmed"


def test_sensor_options_are_what_the_core_reads() -> None:
    """The options' sensor dicts are `SensorConfig.to_dict()` (guard against drift in tests)."""
    stored = sensor_options(garage={"trigger_unavailable": True})
    assert SensorConfig.from_dict(GARAGE, stored[GARAGE]).trigger_unavailable
    assert SensorConfig.from_dict(SMOKE, stored[SMOKE]).always_on


async def test_exit_delay_end_with_the_door_open_fails_arming(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
    events: list[dict[str, Any]],
) -> None:
    await set_sensor(hass, "front_door", "on")
    await call_panel(hass, "alarm_arm_away", code="1111")  # the door may be open while leaving
    assert state(hass, PANEL) == "arming"
    await tick(hass, freezer, 10)
    assert state(hass, PANEL) == "disarmed"
    assert events[-1] == {
        "event": "arm_failure",
        "mode": "armed_away",
        "open_sensors": {DOOR: "open"},
        "changed_by": "Ann",
    }
    assert state(hass, TARGET) == "disarmed"
    assert calls.services() == ["alarm_disarm"]  # arming was never sent; its end is, harmlessly


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"mode": "disarmed", "code": "1111"},
        {"mode": "armed_sideways", "code": "1111"},
        {"mode": "armed_home", "code": "1111", "force": "maybe"},
        {"mode": "armed_home", "code": "1111", "user": "Ann"},
    ],
)
async def test_the_arm_service_refuses_malformed_calls(
    hass: HomeAssistant, guarded: MockConfigEntry, calls: ServiceCalls, data: dict[str, Any]
) -> None:
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(
            DOMAIN, "alarm_arm", data, blocking=True, return_response=True
        )
    assert state(hass, PANEL) == "disarmed"
    assert calls.outbound == []


async def test_the_arm_service_refuses_codes_users_and_non_admins(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    calls: ServiceCalls,
    events: list[dict[str, Any]],
    hass_read_only_user: AuthUser,
) -> None:
    refusals = [
        ({"mode": "armed_home"}, "code_required"),
        ({"mode": "armed_home", "code": "9999"}, "invalid_code"),
        ({"mode": "armed_night", "code": "2222"}, "not_permitted"),  # Bo may arm home and away
    ]
    for data, key in refusals:
        with pytest.raises(ServiceValidationError) as refused:
            await arm_service(hass, **data)
        assert refused.value.translation_key == key
        assert refused.value.translation_domain == DOMAIN
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "alarm_arm",
            {"mode": "armed_home", "code": "1111", "force": True},
            blocking=True,
            return_response=True,
            context=Context(user_id=hass_read_only_user.id),
        )
    await hass.async_block_till_done()
    assert state(hass, PANEL) == "disarmed"
    assert state(hass, TARGET) == "disarmed"
    assert calls.outbound == []
    assert events == []


async def test_the_arm_service_answers_when_roomdb_is_not_loaded(
    hass: HomeAssistant, guarded: MockConfigEntry
) -> None:
    assert await hass.config_entries.async_unload(guarded.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as refused:
        await arm_service(hass, mode="armed_home", code="1111")
    assert refused.value.translation_key == "not_loaded"


async def test_commands_take_effect_in_the_order_they_were_given(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    calls: ServiceCalls,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first code check is slow; the disarm given after the arm still comes last."""
    real = hashlib.pbkdf2_hmac
    checks: list[float] = []

    def slow_first(hash_name: str, password: bytes, salt: bytes, iterations: int) -> bytes:
        checks.append(0)
        if len(checks) == 1:
            time.sleep(0.3)
        return real(hash_name, password, salt, iterations)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", slow_first)

    def command(service: str) -> asyncio.Task[Any]:
        # Not `call_panel`: each would wait in `async_block_till_done` for the other.
        data = {"entity_id": PANEL, "code": "1111"}
        return asyncio.create_task(
            hass.services.async_call("alarm_control_panel", service, data, blocking=True)
        )

    arm = command("alarm_arm_home")
    await asyncio.sleep(0)
    disarm = command("alarm_disarm")
    await asyncio.gather(arm, disarm)
    await hass.async_block_till_done()
    assert checks  # codes were checked (the slow first one included)
    assert state(hass, PANEL) == "disarmed"
    assert state(hass, TARGET) == "disarmed"
    assert calls.services() == ["alarm_arm_home", "alarm_disarm"]


async def test_losing_and_regaining_the_target_fires_sync_events(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    events: list[dict[str, Any]],
) -> None:
    await tick(hass, freezer, 10)  # beyond the clock tolerance: no tie with the target's state
    await target_unavailable(hass)
    await set_sensor(hass, "smoke", "on")  # RoomDB keeps guarding meanwhile
    assert state(hass, PANEL) == "triggered"
    await target_back(hass)
    assert [event for event in events if event["event"].startswith("sync_")] == [
        {"event": "sync_offline", "target": TARGET},
        {"event": "sync_online", "target": TARGET},
    ]
    assert state(hass, TARGET) == "triggered"  # the alarm queued while it was away


async def test_the_logbook_names_users_and_sensors(
    hass: HomeAssistant, guarded: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """The real events through the logbook platform's describer."""
    describers: dict[str, Callable[[Event], dict[str, str]]] = {}

    def register(domain: str, event_type: str, describe: Callable[[Event], dict[str, str]]) -> None:
        assert domain == DOMAIN
        describers[event_type] = describe

    logbook.async_describe_events(hass, register)
    fired = async_capture_events(hass, EVENT_ALARM_EVENT)
    await set_sensor(hass, "kitchen_window", "on")
    with pytest.raises(ServiceValidationError):
        await call_panel(hass, "alarm_arm_home", code="2222")
    await arm_service(hass, mode="armed_home", code="2222", force=True)
    await set_sensor(hass, "front_door", "on")
    await call_panel(hass, "alarm_disarm", code="1111")
    await set_sensor(hass, "smoke", "unavailable")
    lines = [describers[EVENT_ALARM_EVENT](event) for event in fired]
    assert {line["name"] for line in lines} == {"RoomDB alarm"}
    assert [line["message"] for line in lines] == [
        "could not arm armed home by Bo: Kitchen window open",
        "armed home by Bo, bypassing Kitchen window",
        "went off (armed home), set off by Front door",
        "disarmed by Ann",
        "Smoke became unavailable",
    ]


@pytest.mark.parametrize(
    "entry_options",
    [guarded_options(**{CONF_ALARM_SENSORS: sensor_options(front_door={"exit_delay": False})})],
)
async def test_arming_away_with_a_door_that_must_be_shut_is_refused_naming_it(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    calls: ServiceCalls,
    events: list[dict[str, Any]],
) -> None:
    """Without "exit delay" the door may not be open even to leave by: refused at once."""
    await set_sensor(hass, "front_door", "on")
    with pytest.raises(ServiceValidationError) as refused:
        await call_panel(hass, "alarm_arm_away", code="1111")
    assert refused.value.translation_key == "open_sensors"
    placeholders = {"state": "armed_away", "sensors": "Front door"}
    assert refused.value.translation_placeholders == placeholders
    assert state(hass, PANEL) == "disarmed"
    assert state(hass, TARGET) == "disarmed"
    assert calls.outbound == []
    assert events[-1]["open_sensors"] == {DOOR: "open"}
    response = await arm_service(hass, mode="armed_away", code="1111", force=True)
    assert response == {"state": "arming", "bypassed_sensors": [DOOR]}
