"""The options flow's "alarm_sensors", "alarm_users" and "alarm_notify" steps, and the lockout.

Each saved form reloads the entry, so the tests check the panel that results, not only the stored
options; each refused form must leave the options as they were.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.alarm.const import (
    CONF_ALARM_CODE,
    CONF_ALARM_CODE_ARM_REQUIRED,
    CONF_ALARM_CODE_HASH,
    CONF_ALARM_LOCKOUT_ATTEMPTS,
    CONF_ALARM_LOCKOUT_TIME,
    CONF_ALARM_NOTIFY_EVENTS,
    CONF_ALARM_NOTIFY_TARGETS,
    CONF_ALARM_SENSOR_EDIT,
    CONF_ALARM_SENSORS,
    CONF_ALARM_TIMES,
    CONF_ALARM_USER_EDIT,
    CONF_ALARM_USERS,
    CONF_USER_ARM_MODES,
    CONF_USER_CODE,
    CONF_USER_CODE_ARM_REQUIRED,
    CONF_USER_DISARM_MODES,
    CONF_USER_NAME,
    CONF_USER_REMOVE,
    NEW_USER,
)
from custom_components.roomdb.alarm.machine import ARMED_STATES, AlarmState, CodeHash, User
from custom_components.roomdb.alarm.security import EventKind
from custom_components.roomdb.alarm.sensor_rules import SensorConfig

from .conftest import PANEL, call_panel, holds_code, record_key_derivations, set_sensor, state
from .test_options import STRINGS, alarm_input, open_section, submit

S = AlarmState
DOOR = "binary_sensor.front_door"
SMOKE = "binary_sensor.smoke"
MOTION = "binary_sensor.hall_motion"
WINDOW = "binary_sensor.kitchen_window"


def stored_sensor(entry: MockConfigEntry, entity_id: str) -> SensorConfig:
    return SensorConfig.from_dict(entity_id, entry.options[CONF_ALARM_SENSORS][entity_id])


def changed_by(hass: HomeAssistant) -> Any:
    panel = hass.states.get(PANEL)
    assert panel is not None
    return panel.attributes["changed_by"]


def user_input(**fields: Any) -> dict[str, Any]:
    return {
        CONF_USER_NAME: "Cy",
        CONF_USER_CODE: "3333",
        CONF_USER_ARM_MODES: ["armed_home"],
        CONF_USER_DISARM_MODES: ["armed_home"],
        **fields,
    }


async def submit_user(
    hass: HomeAssistant, entry: MockConfigEntry, choice: str | None, fields: dict[str, Any]
) -> Any:
    """Open "alarm_users", pick `choice` (None: the form is skipped, no users yet), submit."""
    if choice is None:
        result = await hass.config_entries.options.async_init(entry.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"next_step_id": "alarm_users"}
        )
    else:
        result = await open_section(hass, entry, "alarm_users")
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_ALARM_USER_EDIT: choice}
        )
    assert result["step_id"] == "alarm_user"
    result = await hass.config_entries.options.async_configure(result["flow_id"], fields)
    await hass.async_block_till_done()
    return result


# -- sensors ---------------------------------------------------------------------------------------


async def test_chosen_sensors_get_settings_by_device_class_and_guard_the_panel(
    hass: HomeAssistant, binary_sensors: dict[str, str], loaded_entry: MockConfigEntry
) -> None:
    result = await submit(
        hass, loaded_entry, "alarm_sensors", {CONF_ALARM_SENSORS: [DOOR, SMOKE, MOTION, WINDOW]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    door = stored_sensor(loaded_entry, DOOR)
    assert (door.modes, door.entry_delay, door.exit_delay) == (
        frozenset({S.ARMED_AWAY, S.ARMED_HOME, S.ARMED_NIGHT, S.ARMED_VACATION}),
        True,
        True,
    )
    smoke = stored_sensor(loaded_entry, SMOKE)
    assert smoke.always_on
    assert not smoke.entry_delay
    assert stored_sensor(loaded_entry, MOTION).modes == {S.ARMED_AWAY, S.ARMED_VACATION}
    window = stored_sensor(loaded_entry, WINDOW)
    assert (window.entry_delay, window.exit_delay) == (False, False)
    # The reloaded panel follows them: an open window refuses arming.
    await set_sensor(hass, "kitchen_window", "on")
    with pytest.raises(ServiceValidationError) as refused:
        await call_panel(hass, "alarm_arm_home")
    assert refused.value.translation_key == "open_sensors"
    assert refused.value.translation_placeholders["sensors"] == "Kitchen window"
    await set_sensor(hass, "smoke", "on")
    assert state(hass, PANEL) == "triggered"


async def test_fine_tuning_one_sensor_keeps_the_others(
    hass: HomeAssistant, binary_sensors: dict[str, str], loaded_entry: MockConfigEntry
) -> None:
    await submit(hass, loaded_entry, "alarm_sensors", {CONF_ALARM_SENSORS: [DOOR, WINDOW]})
    window_before = loaded_entry.options[CONF_ALARM_SENSORS][WINDOW]
    result = await submit(
        hass,
        loaded_entry,
        "alarm_sensors",
        {CONF_ALARM_SENSORS: [DOOR, WINDOW], CONF_ALARM_SENSOR_EDIT: DOOR},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "alarm_sensor"
    assert result["description_placeholders"] == {"sensor": f"Front door ({DOOR})"}
    tuned = {
        "modes": ["armed_away"],
        "entry_delay": True,
        "exit_delay": True,
        "always_on": False,
        "arm_on_close": True,
        "allow_open": False,
        "trigger_unavailable": True,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], tuned)
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    door = stored_sensor(loaded_entry, DOOR)
    assert door.modes == {S.ARMED_AWAY}
    assert door.arm_on_close
    assert door.trigger_unavailable
    assert loaded_entry.options[CONF_ALARM_SENSORS][WINDOW] == window_before
    # Home no longer watches the door.
    await set_sensor(hass, "front_door", "on")
    await call_panel(hass, "alarm_arm_home")
    assert state(hass, PANEL) == "armed_home"


async def test_a_sensor_added_while_armed_and_open_is_no_opening(
    hass: HomeAssistant, binary_sensors: dict[str, str], loaded_entry: MockConfigEntry
) -> None:
    """Saving the options restarts the panel: the sensors it knew react, a new one is taken."""
    await submit(hass, loaded_entry, "alarm_sensors", {CONF_ALARM_SENSORS: [DOOR]})
    await call_panel(hass, "alarm_arm_home")
    await set_sensor(hass, "kitchen_window", "on")
    await submit(hass, loaded_entry, "alarm_sensors", {CONF_ALARM_SENSORS: [DOOR, WINDOW]})
    assert state(hass, PANEL) == "armed_home"
    await set_sensor(hass, "kitchen_window", "off")
    await set_sensor(hass, "kitchen_window", "on")
    assert state(hass, PANEL) == "triggered"


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {CONF_ALARM_SENSORS: [DOOR], CONF_ALARM_SENSOR_EDIT: WINDOW},
            {CONF_ALARM_SENSOR_EDIT: "sensor_not_chosen"},
        ),
        ({CONF_ALARM_SENSORS: [DOOR, "sensor.kitchen"]}, {CONF_ALARM_SENSORS: "sensor_not_binary"}),
        ({CONF_ALARM_SENSORS: ["binary_sensor.nowhere"]}, {CONF_ALARM_SENSORS: "sensor_not_found"}),
    ],
)
async def test_the_sensors_form_refuses_bad_choices(
    hass: HomeAssistant,
    binary_sensors: dict[str, str],
    loaded_entry: MockConfigEntry,
    fields: dict[str, Any],
    errors: dict[str, str],
) -> None:
    hass.states.async_set("sensor.kitchen", "21")
    before = dict(loaded_entry.options)
    result = await submit(hass, loaded_entry, "alarm_sensors", fields)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert STRINGS["options"]["error"][next(iter(errors.values()))]
    assert dict(loaded_entry.options) == before
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_ALARM_SENSORS: [DOOR]}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_a_sensor_that_guards_nothing_is_refused(
    hass: HomeAssistant, binary_sensors: dict[str, str], loaded_entry: MockConfigEntry
) -> None:
    result = await submit(
        hass,
        loaded_entry,
        "alarm_sensors",
        {CONF_ALARM_SENSORS: [DOOR], CONF_ALARM_SENSOR_EDIT: DOOR},
    )
    before = dict(loaded_entry.options)
    flags = ("entry_delay", "exit_delay", "always_on", "arm_on_close", "allow_open")
    nothing = {"modes": [], "trigger_unavailable": False} | dict.fromkeys(flags, False)
    result = await hass.config_entries.options.async_configure(result["flow_id"], nothing)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"modes": "sensor_guards_nothing"}
    assert dict(loaded_entry.options) == before


# -- users -----------------------------------------------------------------------------------------


async def test_a_new_user_gets_a_hashed_code_and_only_their_modes(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    await submit(hass, loaded_entry, "alarm", alarm_input(**{CONF_ALARM_CODE: "1111"}))
    on_loop = record_key_derivations(monkeypatch, hass)
    result = await submit_user(hass, loaded_entry, None, user_input())
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert on_loop and not any(on_loop)  # compared with the main code and hashed off the loop
    assert not holds_code(dict(loaded_entry.options), "3333")
    (cy,) = (User.from_dict(user) for user in loaded_entry.options[CONF_ALARM_USERS])
    assert cy.name == "Cy"
    assert cy.code_hash.verify("3333")

    with pytest.raises(ServiceValidationError) as refused:
        await call_panel(hass, "alarm_arm_away", code="3333")
    assert refused.value.translation_key == "not_permitted"
    await call_panel(hass, "alarm_arm_home", code="3333")
    assert state(hass, PANEL) == "armed_home"
    assert changed_by(hass) == "Cy"
    await call_panel(hass, "alarm_disarm", code="1111")  # the main code may do everything
    assert changed_by(hass) == "Main code"


async def test_a_user_is_edited_keeping_the_code_then_removed(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await submit_user(hass, loaded_entry, None, user_input())
    stored = loaded_entry.options[CONF_ALARM_USERS][0]["code_hash"]
    edit = user_input(**{CONF_USER_NAME: "Cyril", CONF_USER_ARM_MODES: ["armed_away"]})
    del edit[CONF_USER_CODE]
    result = await submit_user(hass, loaded_entry, "0", edit | {CONF_USER_REMOVE: False})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (cyril,) = loaded_entry.options[CONF_ALARM_USERS]
    assert cyril["name"] == "Cyril"
    assert cyril["code_hash"] == stored
    assert cyril["arm_modes"] == ["armed_away"]
    await call_panel(hass, "alarm_arm_away", code="3333")
    assert state(hass, PANEL) == "arming"

    await submit_user(hass, loaded_entry, "0", edit | {CONF_USER_REMOVE: True})
    assert loaded_entry.options[CONF_ALARM_USERS] == []
    panel = hass.states.get(PANEL)
    assert panel is not None
    assert panel.attributes["code_format"] is None  # no code left: none is asked for


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({CONF_USER_NAME: "  "}, {CONF_USER_NAME: "user_name_required"}),
        ({CONF_USER_NAME: "Main code"}, {CONF_USER_NAME: "user_name_taken"}),
        ({CONF_USER_NAME: "Ann"}, {CONF_USER_NAME: "user_name_taken"}),
        ({CONF_USER_CODE: "1111"}, {CONF_USER_CODE: "code_taken"}),
        ({CONF_USER_CODE: "4711"}, {CONF_USER_CODE: "code_taken"}),  # the main code
        ({CONF_USER_CODE: ""}, {CONF_USER_CODE: "user_code_required"}),
    ],
)
@pytest.mark.parametrize(
    "entry_options",
    [
        {
            CONF_ALARM_CODE_HASH: CodeHash.create("4711", iterations=1).to_dict(),
            CONF_ALARM_USERS: [User.create("Ann", "1111", iterations=1).to_dict()],
        }
    ],
)
async def test_the_user_form_refuses_bad_names_and_codes(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fields: dict[str, Any],
    errors: dict[str, str],
) -> None:
    before = dict(loaded_entry.options)
    result = await submit_user(hass, loaded_entry, NEW_USER, user_input(**fields))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert STRINGS["options"]["error"][next(iter(errors.values()))]
    assert dict(loaded_entry.options) == before
    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input())
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert [user["name"] for user in loaded_entry.options[CONF_ALARM_USERS]] == ["Ann", "Cy"]


async def test_the_main_code_must_differ_from_the_users_codes(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await submit_user(hass, loaded_entry, None, user_input())
    before = dict(loaded_entry.options)
    result = await submit(hass, loaded_entry, "alarm", alarm_input(**{CONF_ALARM_CODE: "3333"}))
    assert result["errors"] == {CONF_ALARM_CODE: "code_taken"}
    assert dict(loaded_entry.options) == before


async def test_the_lockout_is_set_in_the_alarm_section(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    fields = {CONF_ALARM_CODE: "1111", CONF_ALARM_LOCKOUT_ATTEMPTS: 2, CONF_ALARM_LOCKOUT_TIME: 60}
    await submit(hass, loaded_entry, "alarm", alarm_input(**fields))
    assert loaded_entry.options[CONF_ALARM_LOCKOUT_ATTEMPTS] == 2
    assert loaded_entry.options[CONF_ALARM_LOCKOUT_TIME] == 60.0
    for _ in range(2):
        with pytest.raises(ServiceValidationError):
            await call_panel(hass, "alarm_arm_home", code="9999")
    with pytest.raises(ServiceValidationError) as refused:
        await call_panel(hass, "alarm_arm_home", code="1111")
    assert refused.value.translation_key == "locked_out"


# -- notifications ---------------------------------------------------------------------------------


async def test_notify_targets_and_events_are_saved(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    async def receive(call: ServiceCall) -> None:
        """A notify action."""

    hass.services.async_register("notify", "phone", receive)
    hass.states.async_set("notify.kitchen_display", "unknown")
    result = await open_section(hass, loaded_entry, "alarm_notify")
    options = result["data_schema"].schema[CONF_ALARM_NOTIFY_TARGETS].config["options"]
    assert options == ["notify.kitchen_display", "notify.phone"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_ALARM_NOTIFY_TARGETS: ["notify.phone", "notify.kitchen_display"],
            CONF_ALARM_NOTIFY_EVENTS: ["triggered"],
        },
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    notifier = loaded_entry.runtime_data.alarm.notifier
    assert notifier.settings.targets == ("notify.phone", "notify.kitchen_display")
    assert notifier.settings.events == {EventKind.TRIGGERED}


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("phone", "notify_target_invalid"),
        ("light.kitchen", "notify_target_invalid"),
        ("notify.nobody", "notify_target_not_found"),
        ("notify.send_message", "notify_target_not_found"),
    ],
)
async def test_the_notify_form_refuses_unknown_targets(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, target: str, error: str
) -> None:
    async def receive(call: ServiceCall) -> None:
        """A notify action."""

    hass.services.async_register("notify", "phone", receive)
    hass.services.async_register("notify", "send_message", receive)
    before = dict(loaded_entry.options)
    result = await submit(
        hass,
        loaded_entry,
        "alarm_notify",
        {CONF_ALARM_NOTIFY_TARGETS: ["notify.phone", target], CONF_ALARM_NOTIFY_EVENTS: []},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_ALARM_NOTIFY_TARGETS: error}
    assert STRINGS["options"]["error"][error]
    assert dict(loaded_entry.options) == before


def test_every_security_form_field_is_translated() -> None:
    steps = STRINGS["options"]["step"]
    for step in ("alarm_sensors", "alarm_sensor", "alarm_users", "alarm_user", "alarm_notify"):
        assert steps[step]["title"]
        assert set(steps[step]["data"]) == set(steps[step]["data_description"])
    assert set(STRINGS["selector"]["alarm_events"]["options"]) == {str(kind) for kind in EventKind}
    for kind in EventKind:
        assert STRINGS["exceptions"][f"alarm_event_{kind}"]["message"]


async def test_custom_bypass_and_code_to_arm_in_the_forms(
    hass: HomeAssistant, binary_sensors: dict[str, str], loaded_entry: MockConfigEntry
) -> None:
    # The alarm form: custom bypass has its own timings; a form without its section keeps them.
    custom = {"arming_time": 0, "delay_time": 5, "trigger_time": 60}
    await submit(
        hass,
        loaded_entry,
        "alarm",
        alarm_input(
            **{CONF_ALARM_CODE: "1111", CONF_ALARM_CODE_ARM_REQUIRED: False},
            armed_custom_bypass=custom,
        ),
    )
    assert loaded_entry.options[CONF_ALARM_TIMES]["armed_custom_bypass"] == custom
    await submit(hass, loaded_entry, "alarm", alarm_input(**{CONF_ALARM_CODE_ARM_REQUIRED: False}))
    assert loaded_entry.options[CONF_ALARM_TIMES]["armed_custom_bypass"] == custom

    # The sensor form: the door is picked for custom bypass only.
    result = await submit(
        hass,
        loaded_entry,
        "alarm_sensors",
        {CONF_ALARM_SENSORS: [DOOR], CONF_ALARM_SENSOR_EDIT: DOOR},
    )
    tuned = {
        "modes": ["armed_custom_bypass"],
        "entry_delay": True,
        "exit_delay": True,
        "always_on": False,
        "arm_on_close": False,
        "allow_open": False,
        "trigger_unavailable": False,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], tuned)
    await hass.async_block_till_done()
    assert stored_sensor(loaded_entry, DOOR).modes == {S.ARMED_CUSTOM_BYPASS}

    # The user form: Cy may arm custom bypass, never without a code.
    await submit_user(
        hass,
        loaded_entry,
        None,
        user_input(
            **{CONF_USER_ARM_MODES: ["armed_custom_bypass"], CONF_USER_CODE_ARM_REQUIRED: True}
        ),
    )
    (cy,) = (User.from_dict(user) for user in loaded_entry.options[CONF_ALARM_USERS])
    assert (cy.arm_modes, cy.code_arm_required) == (frozenset({S.ARMED_CUSTOM_BYPASS}), True)
    edit = user_input(**{CONF_USER_NAME: "Cyril", CONF_USER_ARM_MODES: ["armed_custom_bypass"]})
    del edit[CONF_USER_CODE]
    await submit_user(hass, loaded_entry, "0", edit | {CONF_USER_REMOVE: False})
    (cyril,) = (User.from_dict(user) for user in loaded_entry.options[CONF_ALARM_USERS])
    assert cyril.code_arm_required is True  # left out of the form: kept

    # The reloaded panel follows all three.
    with pytest.raises(ServiceValidationError) as refused:
        await call_panel(hass, "alarm_arm_custom_bypass")
    assert refused.value.translation_key == "code_required"
    await call_panel(hass, "alarm_arm_away")  # nobody requires a code for away
    await call_panel(hass, "alarm_disarm", code="1111")
    await set_sensor(hass, "front_door", "on")
    with pytest.raises(ServiceValidationError) as refused:
        await call_panel(hass, "alarm_arm_custom_bypass", code="3333")
    assert refused.value.translation_key == "open_sensors"
    await set_sensor(hass, "front_door", "off")
    await call_panel(hass, "alarm_arm_custom_bypass", code="3333")
    assert state(hass, PANEL) == "armed_custom_bypass"
    assert changed_by(hass) == "Cyril"


def test_every_arm_mode_is_named_in_the_forms() -> None:
    modes = STRINGS["selector"]["alarm_modes"]["options"]
    sections = STRINGS["options"]["step"]["alarm"]["sections"]
    for mode in ARMED_STATES:
        assert modes[str(mode)]
        assert sections[str(mode)]["name"]
    assert STRINGS["options"]["step"]["alarm_user"]["data"][CONF_USER_CODE_ARM_REQUIRED]
