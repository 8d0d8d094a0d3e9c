"""The options flow's "alarm" and "alarm_sync" sections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.alarm.const import (
    CONF_ALARM_CLEAR_CODE,
    CONF_ALARM_CODE,
    CONF_ALARM_CODE_ARM_REQUIRED,
    CONF_ALARM_CODE_HASH,
    CONF_ALARM_DISARM_AFTER_TRIGGER,
    CONF_ALARM_TIMES,
    CONF_SYNC_CODE,
    CONF_SYNC_ENABLED,
    CONF_SYNC_HA_AUTHORITATIVE,
    CONF_SYNC_SEND_CODE,
    CONF_SYNC_SKEW_TOLERANCE,
    CONF_SYNC_TARGET,
)
from custom_components.roomdb.alarm.machine import AlarmState, CodeHash
from custom_components.roomdb.alarm.sync import SyncStatus

from .conftest import PANEL, SYNC_SENSOR, TARGET, record_key_derivations, state

STRINGS = json.loads(
    (Path(__file__).parents[2] / "custom_components" / "roomdb" / "strings.json").read_text(
        encoding="utf-8"
    )
)


def times_input(**overrides: dict[str, float]) -> dict[str, dict[str, float]]:
    base = {
        "armed_home": {"arming_time": 0, "delay_time": 30, "trigger_time": 120},
        "armed_away": {"arming_time": 60, "delay_time": 30, "trigger_time": 120},
        "armed_night": {"arming_time": 30, "delay_time": 30, "trigger_time": 120},
        "armed_vacation": {"arming_time": 60, "delay_time": 30, "trigger_time": 120},
        "disarmed": {"delay_time": 0, "trigger_time": 120},
    }
    return {**base, **overrides}


def alarm_input(**fields: Any) -> dict[str, Any]:
    return {
        CONF_ALARM_CLEAR_CODE: False,
        CONF_ALARM_CODE_ARM_REQUIRED: True,
        CONF_ALARM_DISARM_AFTER_TRIGGER: False,
        **times_input(),
        **fields,
    }


def sync_input(**fields: Any) -> dict[str, Any]:
    return {
        CONF_SYNC_ENABLED: True,
        CONF_SYNC_TARGET: TARGET,
        CONF_SYNC_HA_AUTHORITATIVE: True,
        CONF_SYNC_SEND_CODE: False,
        CONF_SYNC_SKEW_TOLERANCE: 2,
        **fields,
    }


async def open_section(hass: HomeAssistant, entry: MockConfigEntry, step: str) -> ConfigFlowResult:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert step in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == step
    return result


async def submit(
    hass: HomeAssistant, entry: MockConfigEntry, step: str, user_input: dict[str, Any]
) -> ConfigFlowResult:
    result = await open_section(hass, entry, step)
    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    await hass.async_block_till_done()
    return result


async def test_alarm_section_sets_code_and_times(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_loop = record_key_derivations(monkeypatch, hass)
    result = await submit(
        hass,
        loaded_entry,
        "alarm",
        alarm_input(
            **{CONF_ALARM_CODE: "2468", CONF_ALARM_DISARM_AFTER_TRIGGER: True},
            **times_input(armed_away={"arming_time": 5, "delay_time": 7, "trigger_time": 9}),
        ),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert on_loop == [False]  # the new code was hashed in a worker thread
    options = dict(loaded_entry.options)
    assert "2468" not in json.dumps(options)
    assert CONF_ALARM_CODE not in options
    assert CodeHash.from_dict(options[CONF_ALARM_CODE_HASH]).verify("2468")
    assert options[CONF_ALARM_TIMES]["armed_away"] == {
        "arming_time": 5.0,
        "delay_time": 7.0,
        "trigger_time": 9.0,
    }
    # The entry reloaded with the new settings.
    machine = loaded_entry.runtime_data.alarm.machine
    assert machine.config.times_for(AlarmState.ARMED_AWAY).arming_time == 5
    assert machine.config.disarm_after_trigger is True
    panel = hass.states.get(PANEL)
    assert panel is not None
    assert panel.attributes["code_format"] == "number"
    assert panel.attributes["code_arm_required"] is True


async def test_alarm_section_keeps_then_clears_the_code(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await submit(hass, loaded_entry, "alarm", alarm_input(**{CONF_ALARM_CODE: "pass word"}))
    stored = loaded_entry.options[CONF_ALARM_CODE_HASH]
    panel = hass.states.get(PANEL)
    assert panel is not None
    assert panel.attributes["code_format"] == "text"

    # An empty code field keeps the code.
    await submit(hass, loaded_entry, "alarm", alarm_input(**{CONF_ALARM_CODE_ARM_REQUIRED: False}))
    assert loaded_entry.options[CONF_ALARM_CODE_HASH] == stored
    panel = hass.states.get(PANEL)
    assert panel is not None
    assert panel.attributes["code_arm_required"] is False

    await submit(hass, loaded_entry, "alarm", alarm_input(**{CONF_ALARM_CLEAR_CODE: True}))
    assert loaded_entry.options[CONF_ALARM_CODE_HASH] is None
    panel = hass.states.get(PANEL)
    assert panel is not None
    assert panel.attributes["code_format"] is None
    assert panel.attributes["code_arm_required"] is False


async def test_alarm_section_refuses_code_and_clear_together(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    before = dict(loaded_entry.options)
    result = await submit(
        hass,
        loaded_entry,
        "alarm",
        alarm_input(**{CONF_ALARM_CODE: "1234", CONF_ALARM_CLEAR_CODE: True}),
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_ALARM_CODE: "code_conflict"}
    assert STRINGS["options"]["error"]["code_conflict"]
    assert dict(loaded_entry.options) == before


async def test_sync_section_saves_a_valid_target(
    hass: HomeAssistant, target: str, loaded_entry: MockConfigEntry
) -> None:
    result = await submit(hass, loaded_entry, "alarm_sync", sync_input())
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options[CONF_SYNC_TARGET] == TARGET
    assert loaded_entry.options[CONF_SYNC_ENABLED] is True
    assert loaded_entry.options[CONF_SYNC_CODE] is None
    assert state(hass, SYNC_SENSOR) == SyncStatus.IN_SYNC


async def test_sync_section_accepts_a_registry_id(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    registered = entity_registry.async_get_or_create(
        "alarm_control_panel", "demo", "keypad", suggested_object_id="keypad"
    )
    result = await submit(
        hass, loaded_entry, "alarm_sync", sync_input(**{CONF_SYNC_TARGET: registered.id})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options[CONF_SYNC_TARGET] == "alarm_control_panel.keypad"


@pytest.mark.parametrize(
    ("target_id", "error"),
    [
        ("alarm_control_panel.nowhere", "target_not_found"),
        ("0123456789abcdef0123456789abcdef", "target_not_found"),
        ("sensor.roomdb_alarm_sync", "target_wrong_domain"),
        (PANEL, "target_is_self"),
        ("", "target_required"),
    ],
)
async def test_sync_section_refuses_invalid_targets(
    hass: HomeAssistant,
    target: str,
    loaded_entry: MockConfigEntry,
    target_id: str,
    error: str,
) -> None:
    before = dict(loaded_entry.options)
    user_input = sync_input(**{CONF_SYNC_TARGET: target_id})
    if not target_id:
        del user_input[CONF_SYNC_TARGET]
    result = await submit(hass, loaded_entry, "alarm_sync", user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SYNC_TARGET: error}
    assert STRINGS["options"]["error"][error]
    assert dict(loaded_entry.options) == before

    # The form recovers: a valid target is then accepted.
    result = await hass.config_entries.options.async_configure(result["flow_id"], sync_input())
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options[CONF_SYNC_TARGET] == TARGET


async def test_sync_code_is_required_stored_kept_and_forgotten(
    hass: HomeAssistant, target: str, loaded_entry: MockConfigEntry
) -> None:
    result = await submit(
        hass, loaded_entry, "alarm_sync", sync_input(**{CONF_SYNC_SEND_CODE: True})
    )
    assert result["errors"] == {CONF_SYNC_CODE: "sync_code_required"}
    assert STRINGS["options"]["error"]["sync_code_required"]

    await submit(
        hass,
        loaded_entry,
        "alarm_sync",
        sync_input(**{CONF_SYNC_SEND_CODE: True, CONF_SYNC_CODE: "1357"}),
    )
    assert loaded_entry.options[CONF_SYNC_CODE] == "1357"
    # An empty code field keeps the saved code.
    await submit(hass, loaded_entry, "alarm_sync", sync_input(**{CONF_SYNC_SEND_CODE: True}))
    assert loaded_entry.options[CONF_SYNC_CODE] == "1357"
    assert loaded_entry.runtime_data.alarm_sync.settings.outbound_code == "1357"
    # Turning "send code" off forgets it.
    await submit(hass, loaded_entry, "alarm_sync", sync_input())
    assert loaded_entry.options[CONF_SYNC_CODE] is None


async def test_sync_can_be_turned_off_without_a_target(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    user_input = sync_input(**{CONF_SYNC_ENABLED: False})
    del user_input[CONF_SYNC_TARGET]
    result = await submit(hass, loaded_entry, "alarm_sync", user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options[CONF_SYNC_TARGET] is None
    assert state(hass, SYNC_SENSOR) == SyncStatus.DISABLED


def test_every_alarm_form_field_is_translated() -> None:
    steps = STRINGS["options"]["step"]
    for step in ("alarm", "alarm_sync"):
        assert steps[step]["title"]
        assert set(steps[step]["data"]) == set(steps[step]["data_description"])
    for name in ("armed_home", "armed_away", "armed_night", "armed_vacation", "disarmed"):
        section = steps["alarm"]["sections"][name]
        assert section["name"]
        assert set(section["data"]) == set(section["data_description"])
    assert set(STRINGS["entity"]["sensor"]["alarm_sync"]["state"]) == {
        str(status) for status in SyncStatus
    }
