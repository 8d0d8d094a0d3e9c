"""RoomDB's alarm panel entity: states, code, delays, events, persistence and restore."""

from __future__ import annotations

from datetime import timedelta
import json
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.alarm_control_panel.const import AlarmControlPanelEntityFeature
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.roomdb.alarm.const import (
    ALARM_STORE_KEY,
    CONF_ALARM_CODE_ARM_REQUIRED,
    CONF_ALARM_CODE_HASH,
    CONF_ALARM_DISARM_AFTER_TRIGGER,
    CONF_ALARM_USERS,
    CONF_SYNC_CODE,
    CONF_SYNC_SEND_CODE,
    SYNC_STORE_KEY,
)
from custom_components.roomdb.alarm.machine import CodeHash, User
from custom_components.roomdb.const import DOMAIN

from .conftest import PANEL, call_panel, fast_times, record_key_derivations, state, tick

CODE = "4711"


def code_options(*, arm_required: bool = True) -> dict[str, Any]:
    return {
        CONF_ALARM_CODE_HASH: CodeHash.create(CODE, iterations=1).to_dict(),
        CONF_ALARM_CODE_ARM_REQUIRED: arm_required,
    }


async def test_panel_starts_disarmed_without_code(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    current = hass.states.get(PANEL)
    assert current is not None
    assert current.state == "disarmed"
    assert current.attributes["code_format"] is None
    assert current.attributes["code_arm_required"] is False
    assert current.attributes["changed_by"] is None
    features = AlarmControlPanelEntityFeature(current.attributes["supported_features"])
    assert features == (
        AlarmControlPanelEntityFeature.ARM_HOME
        | AlarmControlPanelEntityFeature.ARM_AWAY
        | AlarmControlPanelEntityFeature.ARM_NIGHT
        | AlarmControlPanelEntityFeature.ARM_VACATION
        | AlarmControlPanelEntityFeature.ARM_CUSTOM_BYPASS
        | AlarmControlPanelEntityFeature.TRIGGER
    )
    registry_entry = entity_registry.async_get(PANEL)
    assert registry_entry is not None
    assert registry_entry.unique_id == f"{loaded_entry.entry_id}_alarm"
    assert registry_entry.translation_key == "alarm"
    device = device_registry.async_get(registry_entry.device_id or "")
    assert device is not None
    assert (DOMAIN, loaded_entry.entry_id) in device.identifiers
    assert device.name == "RoomDB"


async def test_default_delays_arm_through_arming(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    transitions: list[dict[str, Any]],
) -> None:
    """Defaults: away arms after 60 s, home at once, night after 30 s."""
    start = dt_util.utcnow()
    await call_panel(hass, "alarm_arm_away")
    assert state(hass, PANEL) == "arming"
    await tick(hass, freezer, 59)
    assert state(hass, PANEL) == "arming"
    await tick(hass, freezer, 1)
    assert state(hass, PANEL) == "armed_away"
    assert transitions == [
        {"old": "disarmed", "new": "arming", "origin": "local", "at": start.isoformat()},
        {
            "old": "arming",
            "new": "armed_away",
            "origin": "timer",
            "at": (start + timedelta(seconds=60)).isoformat(),
        },
    ]
    await call_panel(hass, "alarm_arm_home")
    assert state(hass, PANEL) == "armed_home"
    await call_panel(hass, "alarm_disarm")
    await call_panel(hass, "alarm_arm_night")
    await tick(hass, freezer, 30)
    assert state(hass, PANEL) == "armed_night"
    await call_panel(hass, "alarm_arm_vacation")
    await tick(hass, freezer, 60)
    assert state(hass, PANEL) == "armed_vacation"


@pytest.mark.parametrize("entry_options", [code_options()])
async def test_code_is_required_and_checked(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, transitions: list[dict[str, Any]]
) -> None:
    current = hass.states.get(PANEL)
    assert current is not None
    assert current.attributes["code_format"] == "number"
    assert current.attributes["code_arm_required"] is True

    with pytest.raises(ServiceValidationError):
        await call_panel(hass, "alarm_arm_home")
    with pytest.raises(ServiceValidationError) as err:
        await call_panel(hass, "alarm_arm_home", code="0000")
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "invalid_code"
    assert state(hass, PANEL) == "disarmed"
    assert transitions == []

    await call_panel(hass, "alarm_arm_home", code=CODE)
    assert state(hass, PANEL) == "armed_home"
    with pytest.raises(ServiceValidationError) as err:
        await call_panel(hass, "alarm_disarm")
    assert err.value.translation_key == "code_required"
    assert err.value.translation_placeholders == {"state": "disarmed"}
    with pytest.raises(ServiceValidationError) as err:
        await call_panel(hass, "alarm_disarm", code="9999")
    assert err.value.translation_key == "invalid_code"
    assert state(hass, PANEL) == "armed_home"
    await call_panel(hass, "alarm_disarm", code=CODE)
    assert state(hass, PANEL) == "disarmed"


@pytest.mark.parametrize("entry_options", [code_options()])
async def test_code_is_checked_in_a_worker_thread(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    transitions: list[dict[str, Any]],
) -> None:
    """Checking a code derives a key, slowly on purpose: never on the event loop."""
    on_loop = record_key_derivations(monkeypatch, hass)
    await call_panel(hass, "alarm_arm_home", code=CODE)
    with pytest.raises(ServiceValidationError) as err:
        await call_panel(hass, "alarm_disarm", code="0000")
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "invalid_code"
    assert state(hass, PANEL) == "armed_home"
    await call_panel(hass, "alarm_disarm", code=CODE)
    assert state(hass, PANEL) == "disarmed"
    assert [t["new"] for t in transitions] == ["armed_home", "disarmed"]
    assert on_loop == [False, False, False]


@pytest.mark.parametrize("entry_options", [code_options(arm_required=False)])
async def test_code_only_for_disarm_when_arming_needs_none(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    current = hass.states.get(PANEL)
    assert current is not None
    assert current.attributes["code_arm_required"] is False
    await call_panel(hass, "alarm_arm_home")
    assert state(hass, PANEL) == "armed_home"
    with pytest.raises(ServiceValidationError):
        await call_panel(hass, "alarm_disarm")
    await call_panel(hass, "alarm_disarm", code=CODE)
    assert state(hass, PANEL) == "disarmed"


@pytest.mark.parametrize(
    ("entry_options", "after_alarm"),
    [
        (fast_times(delay=10, trigger=20), "armed_home"),
        ({**fast_times(delay=10, trigger=20), CONF_ALARM_DISARM_AFTER_TRIGGER: True}, "disarmed"),
    ],
)
async def test_trigger_runs_entry_delay_then_alarm(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    after_alarm: str,
) -> None:
    await call_panel(hass, "alarm_arm_home")
    await call_panel(hass, "alarm_trigger")
    assert state(hass, PANEL) == "pending"
    # Arming during an alarm is refused: silencing it takes a disarm (and the code).
    with pytest.raises(ServiceValidationError) as err:
        await call_panel(hass, "alarm_arm_away")
    assert err.value.translation_key == "invalid_transition"
    assert err.value.translation_placeholders == {
        "from_state": "pending",
        "to_state": "armed_away",
    }
    await tick(hass, freezer, 10)
    assert state(hass, PANEL) == "triggered"
    await tick(hass, freezer, 20)
    assert state(hass, PANEL) == after_alarm


async def test_restart_continues_the_remaining_delay(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    start = dt_util.utcnow()
    await call_panel(hass, "alarm_arm_away")  # 60 s exit delay
    await tick(hass, freezer, 20)
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[ALARM_STORE_KEY]["data"]["machine"]
    assert stored["state"] == "arming"
    assert stored["deadline"] == (start + timedelta(seconds=60)).timestamp()

    freezer.tick(timedelta(seconds=30))  # Home Assistant was down for 30 s
    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert state(hass, PANEL) == "arming"
    await tick(hass, freezer, 9)  # 59 s after arming: not the full delay again
    assert state(hass, PANEL) == "arming"
    await tick(hass, freezer, 1)
    assert state(hass, PANEL) == "armed_away"


async def test_delay_that_ran_out_while_stopped_is_caught_up(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    transitions: list[dict[str, Any]],
) -> None:
    start = dt_util.utcnow()
    await call_panel(hass, "alarm_arm_away")
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    freezer.tick(timedelta(minutes=10))
    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert state(hass, PANEL) == "armed_away"
    # Stamped with the deadline, not with the restart.
    assert transitions[-1] == {
        "old": "arming",
        "new": "armed_away",
        "origin": "timer",
        "at": (start + timedelta(seconds=60)).isoformat(),
    }


@pytest.mark.parametrize("entry_options", [code_options()])
async def test_store_keeps_no_code_and_the_options_only_its_hash(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    await call_panel(hass, "alarm_arm_home", code=CODE)
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[ALARM_STORE_KEY]
    assert stored["version"] == 2
    assert stored["data"]["machine"]["state"] == "armed_home"
    assert "salt" not in json.dumps(stored)
    assert CODE not in json.dumps(dict(loaded_entry.options))


async def test_unusable_stored_state_starts_disarmed(
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    hass_storage[ALARM_STORE_KEY] = {
        "version": 1,
        "minor_version": 1,
        "key": ALARM_STORE_KEY,
        "data": {"version": 1, "state": "exploded"},
    }
    mock_entry.add_to_hass(hass)
    with caplog.at_level(logging.WARNING):
        assert await async_setup_component(hass, DOMAIN, {})
        await hass.async_block_till_done()
    assert state(hass, PANEL) == "disarmed"
    assert "Stored alarm state is unusable" in caplog.text
    await hass.config_entries.async_unload(mock_entry.entry_id)


async def test_removing_the_entry_deletes_the_stores(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    mock_entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    await call_panel(hass, "alarm_arm_home")
    await hass.config_entries.async_unload(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert ALARM_STORE_KEY in hass_storage
    await hass.config_entries.async_remove(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert ALARM_STORE_KEY not in hass_storage
    assert SYNC_STORE_KEY not in hass_storage


@pytest.mark.parametrize(
    "entry_options",
    [
        {
            **code_options(),
            CONF_SYNC_SEND_CODE: True,
            CONF_SYNC_CODE: "8642",
            CONF_ALARM_USERS: [User.create("Ann", "1111", iterations=1).to_dict()],
        }
    ],
)
async def test_diagnostics_show_the_alarm_without_codes(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, loaded_entry: MockConfigEntry
) -> None:
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    text = json.dumps(diagnostics)
    assert "8642" not in text
    assert loaded_entry.options[CONF_ALARM_CODE_HASH]["hash"] not in text
    (ann,) = loaded_entry.options[CONF_ALARM_USERS]
    assert ann["code_hash"]["hash"] not in text
    assert diagnostics["entry"]["options"][CONF_ALARM_USERS][0]["name"] == "Ann"
    assert diagnostics["entry"]["options"][CONF_SYNC_CODE] == "**REDACTED**"
    assert diagnostics["alarm"]["state"] == "disarmed"
    assert diagnostics["alarm"]["sync"]["status"] == "disabled"
