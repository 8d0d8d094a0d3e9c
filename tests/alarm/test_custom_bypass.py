"""Custom bypass and per-user "code required to arm", on the panel and through the sync.

Real template binary sensors over `input_boolean` helpers guard RoomDB's panel (see conftest); the
sync target is HA's `manual` panel.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.alarm_control_panel.const import AlarmControlPanelEntityFeature
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.roomdb.alarm.const import (
    ALARM_STORE_KEY,
    CONF_ALARM_CODE_ARM_REQUIRED,
    CONF_ALARM_CODE_HASH,
    CONF_ALARM_SENSORS,
    CONF_ALARM_TIMES,
    CONF_ALARM_USERS,
    CONF_SYNC_ENABLED,
    SYNC_STORE_KEY,
)
from custom_components.roomdb.alarm.machine import ARMED_STATES, AlarmState, CodeHash, User
from custom_components.roomdb.alarm.sensor_rules import PRESET_MODES, default_sensor
from custom_components.roomdb.alarm.sync import SyncStatus, migrate_sync_v1
from custom_components.roomdb.const import DOMAIN

from .conftest import (
    LONG_ALARM_TARGET,
    PANEL,
    SYNC_SENSOR,
    TARGET,
    ServiceCalls,
    arm_service,
    attributes,
    call_panel,
    call_target,
    manual_target,
    sensor_options,
    set_sensor,
    state,
    sync_options,
    tick,
)
from .users import ANN

S = AlarmState
DOOR = "binary_sensor.front_door"
WINDOW = "binary_sensor.kitchen_window"
BO = User.create(
    "Bo",
    "2222",
    iterations=1,
    arm_modes=frozenset({S.ARMED_HOME, S.ARMED_CUSTOM_BYPASS}),
    disarm_modes=frozenset({S.ARMED_HOME, S.ARMED_CUSTOM_BYPASS}),
    code_arm_required=True,
)
"""May arm home and custom bypass, and those two never without a code."""
CY_BEFORE = {
    "name": "Cy",
    "code_hash": CodeHash.create("3333", iterations=1).to_dict(),
    "arm_modes": ["armed_away", "armed_home", "armed_night", "armed_vacation"],
    "disarm_modes": ["armed_away", "armed_home", "armed_night", "armed_vacation"],
}
"""A user as stored before custom bypass and per-user arm codes existed."""


def guarded_options(*, code_arm_required: bool = False, **extra: Any) -> dict[str, Any]:
    """Sync to the manual panel; no delays; the door also guards custom bypass, the window not."""
    return {
        **sync_options(trigger=300),
        CONF_ALARM_SENSORS: sensor_options(front_door={"modes": sorted(ARMED_STATES)}),
        CONF_ALARM_USERS: [ANN.to_dict(), BO.to_dict()],
        CONF_ALARM_CODE_ARM_REQUIRED: code_arm_required,
        **extra,
    }


@pytest.fixture
def entry_options() -> dict[str, Any]:
    return guarded_options()


@pytest.fixture
def target_config() -> dict[str, Any]:
    return dict(LONG_ALARM_TARGET)


# -- custom bypass ---------------------------------------------------------------------------------


async def test_custom_bypass_guards_its_sensors_and_syncs_both_ways(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    calls: ServiceCalls,
    events: list[dict[str, Any]],
) -> None:
    features = AlarmControlPanelEntityFeature(attributes(hass)["supported_features"])
    assert AlarmControlPanelEntityFeature.ARM_CUSTOM_BYPASS in features
    await call_panel(hass, "alarm_arm_custom_bypass", code="2222")
    assert state(hass, PANEL) == "armed_custom_bypass"
    assert attributes(hass)["changed_by"] == "Bo"
    assert state(hass, TARGET) == "armed_custom_bypass"
    assert calls.services() == ["alarm_arm_custom_bypass"]
    assert events[-1] == {
        "event": "armed",
        "mode": "armed_custom_bypass",
        "bypassed_sensors": [],
        "origin": "local",
        "changed_by": "Bo",
    }
    # The window was not picked for custom bypass: opening it sets nothing off.
    await set_sensor(hass, "kitchen_window", "on")
    assert state(hass, PANEL) == "armed_custom_bypass"
    # The door was: no entry delay in this mode, so the alarm goes off, here and on the target.
    await set_sensor(hass, "front_door", "on")
    assert state(hass, PANEL) == "triggered"
    assert state(hass, TARGET) == "triggered"
    assert attributes(hass)["triggered_by"] == [DOOR]
    assert events[-1]["event"] == "triggered"
    assert events[-1]["mode"] == "armed_custom_bypass"
    await call_panel(hass, "alarm_disarm", code="2222")
    assert (state(hass, PANEL), state(hass, TARGET)) == ("disarmed", "disarmed")
    assert calls.services() == ["alarm_arm_custom_bypass", "alarm_trigger", "alarm_disarm"]
    assert attributes(hass, SYNC_SENSOR)["last_push_error"] is None


async def test_the_targets_custom_bypass_reaches_roomdb_without_a_call_back(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
) -> None:
    await tick(hass, freezer, 5)
    await call_target(hass, calls, "alarm_arm_custom_bypass")
    assert state(hass, PANEL) == "armed_custom_bypass"
    assert attributes(hass)["changed_by"] == TARGET
    await tick(hass, freezer, 5)
    await call_target(hass, calls, "alarm_arm_vacation")
    assert state(hass, PANEL) == "armed_vacation"
    await tick(hass, freezer, 3600)
    assert calls.outbound == []
    assert state(hass, SYNC_SENSOR) == SyncStatus.IN_SYNC


async def test_custom_bypass_refuses_its_open_sensors_unless_forced(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    calls: ServiceCalls,
    events: list[dict[str, Any]],
) -> None:
    await set_sensor(hass, "kitchen_window", "on")  # not picked for custom bypass: no matter
    await set_sensor(hass, "front_door", "on")
    with pytest.raises(ServiceValidationError) as refused:
        await call_panel(hass, "alarm_arm_custom_bypass", code="1111")
    assert refused.value.translation_key == "open_sensors"
    assert refused.value.translation_placeholders == {
        "state": "armed_custom_bypass",
        "sensors": "Front door",
    }
    assert events[-1] == {
        "event": "arm_failure",
        "mode": "armed_custom_bypass",
        "open_sensors": {DOOR: "open"},
        "changed_by": "Ann",
    }
    assert (state(hass, PANEL), state(hass, TARGET)) == ("disarmed", "disarmed")
    assert calls.outbound == []
    response = await arm_service(hass, mode="armed_custom_bypass", code="1111", force=True)
    assert response == {"state": "armed_custom_bypass", "bypassed_sensors": [DOOR]}
    assert state(hass, TARGET) == "armed_custom_bypass"
    assert calls.services() == ["alarm_arm_custom_bypass"]


@pytest.mark.parametrize(
    "target_config",
    [
        manual_target(
            trigger_time=120,  # the manual panel's default
            arming_states=["armed_away", "armed_home", "armed_night", "armed_vacation"],
        )
    ],
)
async def test_custom_bypass_is_not_sent_to_a_target_without_it(
    hass: HomeAssistant,
    guarded: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Never as another mode: the target would show that mode, and RoomDB would take it."""
    await call_panel(hass, "alarm_arm_custom_bypass", code="1111")
    assert state(hass, PANEL) == "armed_custom_bypass"
    assert state(hass, TARGET) == "disarmed"
    assert calls.outbound == []
    status = state(hass, SYNC_SENSOR)
    sync = attributes(hass, SYNC_SENSOR)
    assert (status, sync["pending_state"]) == (SyncStatus.ERROR, None)
    assert sync["last_push_error"] == (
        f"{TARGET} does not support armed_custom_bypass, so RoomDB did not send that change"
    )
    # Quiet: no retry, no call, and RoomDB keeps its mode.
    await tick(hass, freezer, 3600)
    assert calls.outbound == []
    assert state(hass, PANEL) == "armed_custom_bypass"
    # The next mode both panels have is sent as usual.
    await call_panel(hass, "alarm_arm_away", code="1111")
    assert calls.services() == ["alarm_arm_away"]
    assert state(hass, TARGET) == "armed_away"
    assert state(hass, SYNC_SENSOR) == SyncStatus.IN_SYNC


# -- who may arm, and with which code --------------------------------------------------------------


async def test_arming_without_a_code_follows_the_users(
    hass: HomeAssistant, guarded: MockConfigEntry, calls: ServiceCalls
) -> None:
    """Panel-wide arming needs no code; Bo's modes (home, custom bypass) always need one."""
    # Some modes arm without a code, so Home Assistant lets code-less calls through to RoomDB.
    assert attributes(hass)["code_arm_required"] is False
    for mode in ("alarm_arm_home", "alarm_arm_custom_bypass"):
        with pytest.raises(ServiceValidationError) as refused:
            await call_panel(hass, mode)
        assert refused.value.translation_domain == DOMAIN
        assert refused.value.translation_key == "code_required"
        assert state(hass, PANEL) == "disarmed"
    assert calls.outbound == []

    await call_panel(hass, "alarm_arm_away")
    assert state(hass, PANEL) == "armed_away"
    assert attributes(hass)["changed_by"] is None  # nobody's code
    await call_panel(hass, "alarm_disarm", code="1111")

    # A code where none is needed still tells who armed.
    await call_panel(hass, "alarm_arm_night", code="1111")
    assert state(hass, PANEL) == "armed_night"
    assert attributes(hass)["changed_by"] == "Ann"
    await call_panel(hass, "alarm_disarm", code="1111")

    # A wrong one is refused, and so is a mode the code's user may not arm.
    with pytest.raises(ServiceValidationError) as refused:
        await call_panel(hass, "alarm_arm_away", code="9999")
    assert refused.value.translation_key == "invalid_code"
    with pytest.raises(ServiceValidationError) as refused:
        await call_panel(hass, "alarm_arm_away", code="2222")
    assert refused.value.translation_key == "not_permitted"
    assert state(hass, PANEL) == "disarmed"

    await call_panel(hass, "alarm_arm_home", code="2222")
    assert state(hass, PANEL) == "armed_home"
    assert attributes(hass)["changed_by"] == "Bo"
    assert state(hass, TARGET) == "armed_home"


@pytest.mark.parametrize("entry_options", [guarded_options(code_arm_required=True)])
async def test_panel_wide_code_to_arm_asks_for_a_code_in_every_mode(
    hass: HomeAssistant, guarded: MockConfigEntry
) -> None:
    assert attributes(hass)["code_arm_required"] is True
    with pytest.raises(ServiceValidationError) as refused:
        await call_panel(hass, "alarm_arm_away")
    assert refused.value.translation_key == "code_arm_required"  # Home Assistant's own check
    with pytest.raises(ServiceValidationError) as refused:
        await arm_service(hass, mode="armed_away")
    assert refused.value.translation_key == "code_required"
    assert state(hass, PANEL) == "disarmed"
    await call_panel(hass, "alarm_arm_away", code="1111")
    assert attributes(hass)["changed_by"] == "Ann"


@pytest.mark.parametrize(
    "entry_options",
    [
        {
            **guarded_options(),
            CONF_ALARM_USERS: [
                User.create("Ann", "1111", iterations=1, code_arm_required=True).to_dict()
            ],
        }
    ],
)
async def test_a_user_who_may_arm_everything_with_a_code_makes_every_arming_ask(
    hass: HomeAssistant, guarded: MockConfigEntry
) -> None:
    assert attributes(hass)["code_arm_required"] is True
    with pytest.raises(ServiceValidationError):
        await call_panel(hass, "alarm_arm_vacation")
    assert state(hass, PANEL) == "disarmed"


# -- settings from before ------------------------------------------------------------------------


def options_from_before(*, code_arm_required: bool) -> dict[str, Any]:
    """Options as the last release stored them: a main code, Cy, the door on its presets."""
    return {
        **sync_options(),
        CONF_ALARM_CODE_HASH: CodeHash.create("4711", iterations=1).to_dict(),
        CONF_ALARM_CODE_ARM_REQUIRED: code_arm_required,
        CONF_ALARM_USERS: [CY_BEFORE],
        CONF_ALARM_SENSORS: {
            DOOR: {
                "modes": ["armed_away", "armed_home", "armed_night", "armed_vacation"],
                "entry_delay": True,
                "exit_delay": True,
                "always_on": False,
                "arm_on_close": False,
                "allow_open": False,
                "trigger_unavailable": False,
            }
        },
        CONF_ALARM_TIMES: {
            str(mode): {"arming_time": 0, "delay_time": 0, "trigger_time": 300}
            for mode in ("armed_away", "armed_home", "armed_night", "armed_vacation", "disarmed")
        },
    }


@pytest.mark.parametrize("entry_options", [options_from_before(code_arm_required=False)])
async def test_settings_from_before_keep_arming_as_they_did(
    hass: HomeAssistant, guarded: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Arming needs no code (the panel said so, and Cy follows it); Cy has no custom bypass."""
    assert attributes(hass)["code_arm_required"] is False
    await call_panel(hass, "alarm_arm_vacation")
    assert state(hass, PANEL) == "armed_vacation"
    await set_sensor(hass, "front_door", "on")
    assert state(hass, PANEL) == "triggered"
    await call_panel(hass, "alarm_disarm", code="3333")
    assert attributes(hass)["changed_by"] == "Cy"
    with pytest.raises(ServiceValidationError) as refused:
        await call_panel(hass, "alarm_arm_custom_bypass", code="3333")
    assert refused.value.translation_key == "not_permitted"
    # The main code may do everything, custom bypass included; the door (on its presets) does not
    # guard it, so it may be open. Custom bypass has no stored timings: the defaults apply.
    await call_panel(hass, "alarm_arm_custom_bypass", code="4711")
    assert state(hass, PANEL) == "arming"
    await tick(hass, freezer, 60)
    assert state(hass, PANEL) == "armed_custom_bypass"
    assert state(hass, TARGET) == "armed_custom_bypass"
    assert guarded.options[CONF_ALARM_USERS] == [CY_BEFORE]  # nothing was rewritten


def armed_vacation_stored(
    changed_at: float, local_change_at: float, **panel: Any
) -> dict[str, Any]:
    """A `roomdb.alarm` Store file (version 2) as the last release wrote it: armed vacation."""
    machine = {
        "version": 2,
        "state": "armed_vacation",
        "target": None,
        "deadline": None,
        "changed_at": changed_at,
        "last_local_change_at": local_change_at,
    }
    return {
        "version": 2,
        "minor_version": 1,
        "key": ALARM_STORE_KEY,
        "data": {"machine": machine, **panel},
    }


@pytest.mark.parametrize(
    "entry_options",
    [{**options_from_before(code_arm_required=True), CONF_SYNC_ENABLED: False}],
)
async def test_a_stored_state_from_before_loads_as_it_was(
    hass: HomeAssistant,
    binary_sensors: dict[str, str],
    target: str,
    mock_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """The `roomdb.alarm` Store keeps its format: version 2, armed vacation with a bypass."""
    changed_at = dt_util.utcnow().timestamp() - 60
    hass_storage[ALARM_STORE_KEY] = armed_vacation_stored(
        changed_at,
        changed_at,
        readings={DOOR: "open"},
        bypassed=[DOOR],
        triggered_by=[],
        force=False,
        revert="disarmed",
        exit_deadline=None,
        changed_by="Cy",
        lockout={"failures": 0, "until": None},
    )
    await set_sensor(hass, "front_door", "on")
    mock_entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert state(hass, PANEL) == "armed_vacation"
    panel = attributes(hass)
    assert (panel["changed_by"], panel["bypassed_sensors"]) == ("Cy", [DOOR])
    assert panel["code_arm_required"] is True
    await call_panel(hass, "alarm_disarm", code="3333")
    assert state(hass, PANEL) == "disarmed"
    await hass.config_entries.async_unload(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert hass_storage[ALARM_STORE_KEY]["version"] == 2
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=1), fire_all=True)
    await hass.async_block_till_done()


def test_presets_leave_custom_bypass_to_the_user() -> None:
    for device_class in ("door", "window", "motion", "smoke", None):
        assert S.ARMED_CUSTOM_BYPASS not in default_sensor(DOOR, device_class).modes
    assert S.ARMED_CUSTOM_BYPASS not in PRESET_MODES
    assert PRESET_MODES < ARMED_STATES


@pytest.mark.parametrize(
    ("roomdb_sent_it", "panel_after", "sent"),
    [
        # RoomDB's vacation, shown by the target as custom bypass: vacation is sent again.
        (True, "armed_vacation", ["alarm_arm_vacation"]),
        # The target's own custom bypass, taken as vacation before: now taken as it is.
        (False, "armed_custom_bypass", []),
    ],
)
async def test_a_sync_state_from_before_no_longer_reads_custom_bypass_as_vacation(
    hass: HomeAssistant,
    target: str,
    calls: ServiceCalls,
    mock_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    roomdb_sent_it: bool,
    panel_after: str,
    sent: list[str],
) -> None:
    await call_target(hass, calls, "alarm_arm_custom_bypass")
    shown = hass.states.get(TARGET)
    assert shown is not None
    at = shown.last_updated_timestamp
    local_change = at - 1 if roomdb_sent_it else at - 100
    hass_storage[ALARM_STORE_KEY] = armed_vacation_stored(
        at, local_change, changed_by=None if roomdb_sent_it else TARGET
    )
    hass_storage[SYNC_STORE_KEY] = {
        "version": 1,
        "minor_version": 1,
        "key": SYNC_STORE_KEY,
        "data": {
            "target": TARGET,
            "pending": None,
            "last_seen": {"state": "armed_custom_bypass", "last_updated": at},
            "last_good": {
                "state": "armed_vacation",
                "at": at,
                "answers": {"state": "armed_vacation", "at": at - 1, "sent_at": at - 0.5}
                if roomdb_sent_it
                else None,
            },
            "features": int(attributes(hass, TARGET)["supported_features"]),
            "last_push_attempt": at - 0.5 if roomdb_sent_it else None,
            "last_push_success": at if roomdb_sent_it else None,
            "last_push_error": None,
            "failing": False,
        },
    }
    mock_entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert state(hass, PANEL) == panel_after
    assert calls.services() == sent
    assert state(hass, TARGET) == panel_after
    assert state(hass, SYNC_SENSOR) == SyncStatus.IN_SYNC
    await hass.config_entries.async_unload(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert hass_storage[SYNC_STORE_KEY]["version"] == 2
    assert hass_storage[SYNC_STORE_KEY]["data"]["last_good"]["state"] == panel_after


def test_the_sync_migration_keeps_a_queued_change_and_other_shapes() -> None:
    seen = {"state": "armed_custom_bypass", "last_updated": 10.0}
    answers = {"state": "armed_vacation", "at": 9.0, "sent_at": 9.5}
    queued = {"state": "disarmed", "at": 11.0}
    data = {
        "pending": queued,
        "last_seen": seen,
        "last_good": {"state": "armed_vacation", "at": 10.0, "answers": answers},
    }
    migrated = migrate_sync_v1(data)
    assert migrated["pending"] == queued  # a newer change waiting stays the one to send
    assert migrated["last_good"] == {"state": "armed_custom_bypass", "at": 10.0, "answers": answers}
    for other in (
        {"pending": None, "last_seen": None, "last_good": None},
        {"last_seen": {"state": "armed_vacation"}, "last_good": {"state": "armed_vacation"}},
        {"last_seen": seen, "last_good": "armed_vacation"},
    ):
        assert migrate_sync_v1(other) == other


async def test_a_sync_state_of_another_minor_version_loads_as_it_is(
    hass: HomeAssistant, target: str, mock_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """A same-major, newer-minor file (a later release's additions) keeps its layout."""
    hass_storage[SYNC_STORE_KEY] = {
        "version": 2,
        "minor_version": 2,
        "key": SYNC_STORE_KEY,
        "data": {
            "target": TARGET,
            "pending": {"state": "armed_custom_bypass", "at": 1.0},
            "last_push_error": "from a later release",
        },
    }
    mock_entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    # The queued change is taken (and, being older than the target's state, dropped for it).
    assert attributes(hass, SYNC_SENSOR)["last_push_error"] == "from a later release"
    assert state(hass, PANEL) == "disarmed"
    await hass.config_entries.async_unload(mock_entry.entry_id)
    await hass.async_block_till_done()
