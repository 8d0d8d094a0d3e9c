"""Two-way sync against HA's own `manual` alarm panel in the same hass."""

from __future__ import annotations

import asyncio
from datetime import timedelta
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.alarm_control_panel.const import (
    DATA_COMPONENT,
    DOMAIN as ALARM_DOMAIN,
    AlarmControlPanelState,
)
from homeassistant.core import (
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceNotSupported
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.roomdb.alarm.const import (
    CONF_SYNC_CODE,
    CONF_SYNC_ENABLED,
    CONF_SYNC_SEND_CODE,
    CONF_SYNC_SKEW_TOLERANCE,
    CONF_SYNC_TARGET,
    SYNC_STORE_KEY,
)
from custom_components.roomdb.alarm.machine import AlarmState
from custom_components.roomdb.alarm.state_mapping import map_inbound
from custom_components.roomdb.alarm.sync import SyncStatus

from .conftest import (
    PANEL,
    SYNC_SENSOR,
    TARGET,
    ServiceCalls,
    call_panel,
    call_target,
    manual_target,
    state,
    sync_of,
    sync_options,
    target_back,
    target_entity,
    target_offline,
    target_unavailable,
    tick,
)


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Sync with the manual panel, HA authoritative, no delays (tests override it)."""
    return sync_options()


TARGET_WITH_CODE = {"platform": "manual", "name": "House", "arming_time": 0, "code": "1357"}
"""A manual panel that asks for its code "1357" to arm and disarm."""


def sending_code(code: str) -> dict[str, Any]:
    """Sync options that send `code` with every call to the target."""
    return {**sync_options(), CONF_SYNC_SEND_CODE: True, CONF_SYNC_CODE: code}


async def run_loop(rounds: int = 20) -> None:
    """Let the event loop run what is ready, without waiting for tasks that hang."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def sensor(hass: HomeAssistant) -> tuple[str, dict[str, Any]]:
    current = hass.states.get(SYNC_SENSOR)
    assert current is not None
    return current.state, dict(current.attributes)


async def test_local_changes_mirror_once(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    transitions: list[dict[str, Any]],
) -> None:
    assert sensor(hass)[0] == SyncStatus.IN_SYNC
    for service, expected, outbound in (
        ("alarm_arm_away", "armed_away", "alarm_arm_away"),
        ("alarm_arm_home", "armed_home", "alarm_arm_home"),
        ("alarm_arm_night", "armed_night", "alarm_arm_night"),
        ("alarm_arm_vacation", "armed_vacation", "alarm_arm_vacation"),
        ("alarm_arm_custom_bypass", "armed_custom_bypass", "alarm_arm_custom_bypass"),
        ("alarm_disarm", "disarmed", "alarm_disarm"),
    ):
        before = len(calls.outbound)
        await call_panel(hass, service)
        assert calls.services()[before:] == [outbound], service
        assert state(hass, TARGET) == expected
    assert state(hass, PANEL) == "disarmed"
    # The target's echoes were recognised: every transition is RoomDB's own.
    assert {t["origin"] for t in transitions} == {"local"}
    status, attributes = sensor(hass)
    assert status == SyncStatus.IN_SYNC
    assert attributes["last_seen_state"] == "disarmed"
    assert attributes["pending_state"] is None
    assert attributes["last_push_success"] is not None
    assert attributes["last_push_error"] is None


async def test_target_changes_mirror_without_a_call_back(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
    transitions: list[dict[str, Any]],
) -> None:
    for service, expected in (
        ("alarm_arm_home", "armed_home"),
        ("alarm_arm_away", "armed_away"),
        ("alarm_arm_night", "armed_night"),
        ("alarm_arm_custom_bypass", "armed_custom_bypass"),
        ("alarm_arm_vacation", "armed_vacation"),
        ("alarm_disarm", "disarmed"),
    ):
        await tick(hass, freezer, 5)
        await call_target(hass, calls, service)
        assert state(hass, PANEL) == expected, service
    assert calls.outbound == []
    current = hass.states.get(PANEL)
    assert current is not None
    assert current.attributes["changed_by"] == TARGET
    first = transitions[0]
    assert first["origin"] == "home_assistant"
    assert first["target_entity_id"] == TARGET
    assert first["target_state"] == "armed_home"
    target_state = hass.states.get(TARGET)
    assert target_state is not None
    assert transitions[-1]["target_last_updated"] == target_state.last_updated.isoformat()
    assert sensor(hass)[0] == SyncStatus.IN_SYNC


async def test_mixed_changes_converge_with_one_call_per_local_change(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
) -> None:
    await call_panel(hass, "alarm_arm_away")
    await tick(hass, freezer, 5)
    await call_target(hass, calls, "alarm_disarm")
    await tick(hass, freezer, 5)
    await call_panel(hass, "alarm_arm_night")
    await tick(hass, freezer, 5)
    await call_target(hass, calls, "alarm_arm_home")
    assert calls.services() == ["alarm_arm_away", "alarm_arm_night"]
    assert state(hass, PANEL) == "armed_home"
    assert state(hass, TARGET) == "armed_home"
    # Quiet afterwards: nothing is sent back and forth.
    await tick(hass, freezer, 3600)
    assert len(calls.outbound) == 2


@pytest.mark.parametrize("unusable", ["unknown", "unavailable", "", "armed_sideways"])
async def test_unusable_target_states_are_recorded_never_applied(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    transitions: list[dict[str, Any]],
    unusable: str,
) -> None:
    hass.states.async_set(TARGET, unusable)
    await hass.async_block_till_done()
    assert state(hass, PANEL) == "disarmed"
    assert transitions == []
    status, attributes = sensor(hass)
    assert status == SyncStatus.OFFLINE
    assert attributes["last_seen_state"] == unusable
    # Local keeps working; nothing is sent to an unusable target.
    await call_panel(hass, "alarm_arm_home")
    assert state(hass, PANEL) == "armed_home"
    assert calls.outbound == []
    assert sensor(hass)[1]["pending_state"] == "armed_home"


@pytest.mark.parametrize(
    "passing",
    # Every Home Assistant alarm state RoomDB's panel has no counterpart for (`disarming`, HA
    # 2024.11+): a state Home Assistant adds later lands here too and must not be taken for an
    # outage.
    [str(s) for s in AlarmControlPanelState if map_inbound(s) is None],
)
async def test_target_passing_through_a_state_without_counterpart_stays_online(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
    transitions: list[dict[str, Any]],
    passing: str,
) -> None:
    await tick(hass, freezer, 30)
    await call_target(hass, calls, "alarm_arm_away")
    assert state(hass, PANEL) == "armed_away"
    statuses: list[str] = []

    @callback
    def _record(event: Event[EventStateChangedData]) -> None:
        if (new_state := event.data["new_state"]) is not None:
            statuses.append(new_state.state)

    async_track_state_change_event(hass, SYNC_SENSOR, _record)
    await tick(hass, freezer, 5)
    # The panel shows the state while it works on a disarm (as keypad panels do).
    current = hass.states.get(TARGET)
    assert current is not None
    hass.states.async_set(TARGET, passing, current.attributes)
    await hass.async_block_till_done()
    status, attributes = sensor(hass)
    assert status == SyncStatus.IN_SYNC
    assert attributes["last_seen_state"] == passing
    assert state(hass, PANEL) == "armed_away"  # recorded, never transitioned on
    await tick(hass, freezer, 2)
    await call_target(hass, calls, "alarm_disarm")
    assert state(hass, PANEL) == "disarmed"
    assert [t["new"] for t in transitions] == ["armed_away", "disarmed"]
    assert SyncStatus.OFFLINE not in statuses
    assert sensor(hass)[0] == SyncStatus.IN_SYNC
    assert calls.outbound == []


async def test_offline_queues_only_the_latest_change_then_pushes_it(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await tick(hass, freezer, 60)
    with caplog.at_level(logging.INFO):
        await target_offline(hass)
    assert "is unavailable" in caplog.text
    await call_panel(hass, "alarm_arm_home")
    await tick(hass, freezer, 10)
    await call_panel(hass, "alarm_arm_away")
    latest = dt_util.utcnow()
    assert state(hass, PANEL) == "armed_away"
    assert calls.outbound == []
    status, attributes = sensor(hass)
    assert status == SyncStatus.OFFLINE
    assert attributes["pending_state"] == "armed_away"
    assert attributes["pending_since"] == latest.isoformat()

    await tick(hass, freezer, 60)
    # Back in the state it had before the outage: its old stamp counts, the local change is newer.
    await target_back(hass)
    assert calls.services() == ["alarm_arm_away"]
    assert state(hass, TARGET) == "armed_away"
    assert state(hass, PANEL) == "armed_away"
    assert sensor(hass)[0] == SyncStatus.IN_SYNC


async def test_target_that_changed_during_the_outage_wins(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
) -> None:
    await target_offline(hass)
    await tick(hass, freezer, 10)
    await call_panel(hass, "alarm_arm_away")
    await tick(hass, freezer, 10)
    # The target comes back armed home: it changed while RoomDB could not see it.
    await call_target(hass, calls, "alarm_arm_home")
    assert calls.outbound == []
    assert state(hass, PANEL) == "armed_home"
    status, attributes = sensor(hass)
    assert status == SyncStatus.IN_SYNC
    assert attributes["pending_state"] is None


@pytest.mark.parametrize(
    ("entry_options", "gap", "winner"),
    [
        (sync_options(), 1.0, "armed_night"),  # tie, HA authoritative: the target
        (sync_options(ha_authoritative=False), 1.0, "armed_away"),  # tie, local authoritative
        (sync_options(), 5.0, "armed_away"),  # the local change is clearly newer
        ({**sync_options(), CONF_SYNC_SKEW_TOLERANCE: 0.0}, 1.0, "armed_away"),
    ],
)
async def test_reconnect_resolves_by_timestamps(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
    gap: float,
    winner: str,
) -> None:
    """The target's pre-outage stamp against the pending local change's time."""
    await tick(hass, freezer, 30)
    await call_target(hass, calls, "alarm_arm_night")
    await target_offline(hass)
    freezer.tick(timedelta(seconds=gap))
    await call_panel(hass, "alarm_arm_away")
    await tick(hass, freezer, 120)
    await target_back(hass)
    assert state(hass, PANEL) == winner
    assert state(hass, TARGET) == winner
    expected_calls = ["alarm_arm_away"] if winner == "armed_away" else []
    assert calls.services() == expected_calls
    assert sensor(hass)[0] == SyncStatus.IN_SYNC


async def test_restart_keeps_a_pending_change(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    await tick(hass, freezer, 30)
    await target_offline(hass)
    await call_panel(hass, "alarm_arm_night")
    pending_since = dt_util.utcnow()
    assert await hass.config_entries.async_unload(alarm_entry.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[SYNC_STORE_KEY]["data"]
    assert stored["pending"] == {"state": "armed_night", "at": pending_since.timestamp()}

    await tick(hass, freezer, 300)
    assert await hass.config_entries.async_setup(alarm_entry.entry_id)
    await hass.async_block_till_done()
    assert state(hass, PANEL) == "armed_night"
    status, attributes = sensor(hass)
    assert status == SyncStatus.OFFLINE
    assert attributes["pending_state"] == "armed_night"
    assert attributes["pending_since"] == pending_since.isoformat()
    assert calls.outbound == []

    await target_back(hass)
    assert calls.services() == ["alarm_arm_night"]
    assert state(hass, TARGET) == "armed_night"
    assert sensor(hass)[0] == SyncStatus.IN_SYNC


async def test_restart_pushes_a_pending_change_when_the_target_is_there(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
) -> None:
    await tick(hass, freezer, 30)
    await target_offline(hass)
    await call_panel(hass, "alarm_arm_home")
    assert await hass.config_entries.async_unload(alarm_entry.entry_id)
    await hass.async_block_till_done()
    await target_back(hass)  # back while RoomDB is stopped, in its pre-outage state
    await tick(hass, freezer, 30)
    assert await hass.config_entries.async_setup(alarm_entry.entry_id)
    await hass.async_block_till_done()
    assert calls.services() == ["alarm_arm_home"]
    assert state(hass, TARGET) == "armed_home"


async def test_restart_remembers_that_the_target_shows_roomdbs_own_change(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A change queued 1 s after RoomDB's last call is newer than that call, across a restart.

    The target made no change of its own, so no tie with the clock tolerance hands it the win.
    """
    await tick(hass, freezer, 30)
    await call_panel(hass, "alarm_arm_away")
    await target_offline(hass)
    await tick(hass, freezer, 1)
    await call_panel(hass, "alarm_arm_home")
    assert await hass.config_entries.async_unload(alarm_entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(alarm_entry.entry_id)
    await hass.async_block_till_done()
    await target_back(hass)
    assert calls.services() == ["alarm_arm_away", "alarm_arm_home"]
    assert state(hass, TARGET) == "armed_home"
    assert state(hass, PANEL) == "armed_home"
    assert sensor(hass)[0] == SyncStatus.IN_SYNC


async def test_first_sync_adopts_the_target(
    hass: HomeAssistant, target: str, mock_entry: MockConfigEntry, calls: ServiceCalls
) -> None:
    await call_target(hass, calls, "alarm_arm_away")
    mock_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert state(hass, PANEL) == "armed_away"
    assert calls.outbound == []
    await hass.config_entries.async_unload(mock_entry.entry_id)


async def test_unknown_target_appearing_later_wins(
    hass: HomeAssistant,
    target: str,
    mock_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Nothing was ever seen of it: its first state is newer than the queued change."""
    hass.states.async_remove(target)  # not there yet when RoomDB starts
    mock_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert sensor(hass)[0] == SyncStatus.OFFLINE
    await call_panel(hass, "alarm_arm_home")
    await tick(hass, freezer, 10)
    await target_back(hass)
    assert calls.outbound == []
    assert state(hass, PANEL) == "disarmed"
    assert sensor(hass)[0] == SyncStatus.IN_SYNC
    await hass.config_entries.async_unload(mock_entry.entry_id)


async def test_removed_target_coming_back_gets_the_queued_change(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
) -> None:
    await tick(hass, freezer, 10)
    hass.states.async_remove(TARGET)
    await hass.async_block_till_done()
    assert sensor(hass)[0] == SyncStatus.OFFLINE
    await call_panel(hass, "alarm_arm_away")
    assert calls.outbound == []
    await tick(hass, freezer, 10)
    await target_back(hass)  # same state as before it went away: the queued change is newer
    assert calls.services() == ["alarm_arm_away"]
    assert state(hass, TARGET) == "armed_away"


async def test_reconnect_within_the_context_window_sends_the_queued_change(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A target back within seconds of RoomDB's call still carries that call's context.

    That state is the target reconnecting, not the answer to the call: the change queued during
    the outage is sent and both panels end in sync.
    """
    returns: list[State] = []

    @callback
    def _record_return(event: Event[EventStateChangedData]) -> None:
        old, new = event.data["old_state"], event.data["new_state"]
        if old is not None and old.state == "unavailable" and new is not None:
            returns.append(new)

    async_track_state_change_event(hass, TARGET, _record_return)
    await tick(hass, freezer, 30)
    await call_panel(hass, "alarm_arm_away")
    pushed = hass.states.get(TARGET)
    assert pushed is not None
    assert pushed.state == "armed_away"
    await tick(hass, freezer, 0.3)
    await target_unavailable(hass)
    assert sensor(hass)[0] == SyncStatus.OFFLINE
    await tick(hass, freezer, 0.3)
    await call_panel(hass, "alarm_arm_home")
    assert sensor(hass)[1]["pending_state"] == "armed_home"
    await tick(hass, freezer, 0.3)
    await target_back(hass)
    # The case under test: the target comes back in the state RoomDB pushed, with its context.
    assert [(s.state, s.context.id) for s in returns] == [("armed_away", pushed.context.id)]
    assert calls.services() == ["alarm_arm_away", "alarm_arm_home"]
    assert state(hass, TARGET) == "armed_home"
    assert state(hass, PANEL) == "armed_home"
    status, attributes = sensor(hass)
    assert status == SyncStatus.IN_SYNC
    assert attributes["pending_state"] is None


def failing(hass: HomeAssistant, error: str, pending: str | None) -> dict[str, Any]:
    """Check the sync sensor shows `error` with `pending` still queued; return its attributes."""
    status, attributes = sensor(hass)
    assert (status, attributes["last_push_error"], attributes["pending_state"]) == (
        SyncStatus.ERROR,
        error,
        pending,
    )
    return attributes


def sync_log(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    """The sync's log lines about its calls failing and working again (after their prefix)."""
    prefix = "roomdb/alarm/sync: "
    lines = [
        record.getMessage()
        for record in caplog.records
        if record.name == "custom_components.roomdb.alarm.sync"
    ]
    assert all(line.startswith(prefix) for line in lines), lines
    return [
        (record.levelno, record.getMessage().removeprefix(prefix))
        for record in caplog.records
        if record.name == "custom_components.roomdb.alarm.sync"
        and record.getMessage()
        .removeprefix(prefix)
        .startswith(("Alarm sync: ", "Alarm sync with "))
    ]


def fail_first_calls(
    monkeypatch: pytest.MonkeyPatch,
    hass: HomeAssistant,
    method: str,
    times: int | None,
    error: str | Exception,
) -> None:
    """Make the target panel's `method` raise `times` times (None: always), then behave normally.

    `error` is what it raises; a text is raised as a HomeAssistantError with that message.
    """
    entity = target_entity(hass)
    real = getattr(entity, method)
    failures = times

    async def flaky(code: str | None = None) -> None:
        nonlocal failures
        if failures is None or failures:
            if failures is not None:
                failures -= 1
            raise HomeAssistantError(error) if isinstance(error, str) else error
        await real(code)

    monkeypatch.setattr(entity, method, flaky)


async def test_failed_call_is_retried_with_backoff(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fail_first_calls(monkeypatch, hass, "async_alarm_arm_away", 2, "panel is busy")
    await tick(hass, freezer, 30)
    caplog.set_level(logging.INFO)
    await call_panel(hass, "alarm_arm_away")
    assert state(hass, PANEL) == "armed_away"  # local keeps working
    busy = f"{TARGET} refused alarm_arm_away: panel is busy"
    attributes = failing(hass, busy, pending="armed_away")
    first_retry = dt_util.parse_datetime(attributes["next_retry"])
    assert first_retry is not None
    first_delay = (first_retry - dt_util.utcnow()).total_seconds()
    assert 1.5 <= first_delay <= 2.5  # 2 s ± 25 %

    await tick(hass, freezer, first_delay + 0.01)
    assert calls.services() == ["alarm_arm_away", "alarm_arm_away"]
    status, attributes = sensor(hass)
    assert status == SyncStatus.ERROR
    second_retry = dt_util.parse_datetime(attributes["next_retry"])
    assert second_retry is not None
    second_delay = (second_retry - dt_util.utcnow()).total_seconds()
    assert 3.0 <= second_delay <= 5.0  # the backoff doubled

    await tick(hass, freezer, second_delay + 0.01)
    assert calls.services() == ["alarm_arm_away"] * 3
    assert state(hass, TARGET) == "armed_away"
    status, attributes = sensor(hass)
    assert status == SyncStatus.IN_SYNC
    assert attributes["next_retry"] is None
    assert attributes["last_push_error"] == busy  # kept as history
    # Said in the log once when it starts failing, once when it works again.
    assert sync_log(caplog) == [
        (logging.WARNING, f"Alarm sync: {busy}"),
        (logging.INFO, f"Alarm sync with {TARGET} works again"),
    ]


async def test_retry_after_the_target_moved_on_adopts_it(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A retry runs the rules again: a newer target change drops the pending one."""
    fail_first_calls(monkeypatch, hass, "async_alarm_arm_night", None, "no")
    await call_panel(hass, "alarm_arm_night")
    assert sensor(hass)[0] == SyncStatus.ERROR
    await tick(hass, freezer, 1)
    await call_target(hass, calls, "alarm_arm_home")
    assert state(hass, PANEL) == "armed_home"
    status, attributes = sensor(hass)
    assert status == SyncStatus.IN_SYNC
    assert attributes["pending_state"] is None
    assert attributes["next_retry"] is None
    await tick(hass, freezer, 600)
    assert calls.services() == ["alarm_arm_night"]


@pytest.mark.parametrize("target_config", [TARGET_WITH_CODE])
@pytest.mark.parametrize("entry_options", [sending_code("1357")])
async def test_code_is_sent_when_configured(
    hass: HomeAssistant, alarm_entry: MockConfigEntry, calls: ServiceCalls
) -> None:
    await call_panel(hass, "alarm_arm_away")
    await call_panel(hass, "alarm_disarm")
    assert calls.outbound == [
        ("alarm_arm_away", {"entity_id": TARGET, "code": "1357"}),
        ("alarm_disarm", {"entity_id": TARGET, "code": "1357"}),
    ]
    assert state(hass, TARGET) == "disarmed"


@pytest.mark.parametrize("target_config", [TARGET_WITH_CODE])
async def test_refused_call_is_an_error_and_local_keeps_its_state(
    hass: HomeAssistant, alarm_entry: MockConfigEntry, calls: ServiceCalls
) -> None:
    await call_panel(hass, "alarm_arm_home")
    assert state(hass, PANEL) == "armed_home"
    assert state(hass, TARGET) == "disarmed"
    failing(
        hass,
        f"{TARGET} refused alarm_arm_home because it needs a code and RoomDB sent none;"
        ' turn on "Send a code" in RoomDB\'s alarm sync options',
        pending="armed_home",
    )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            # Home Assistant's own refusal, in its words from its strings.
            ServiceNotSupported(ALARM_DOMAIN, "alarm_arm_away", TARGET),
            (
                f"{TARGET} refused alarm_arm_away: Entity {TARGET} does not support action"
                " alarm_control_panel.alarm_arm_away"
            ),
        ),
        (HomeAssistantError(), f"{TARGET} refused alarm_arm_away without giving a reason"),
        (
            # A key whose integration has no such string: the key alone says nothing.
            HomeAssistantError(translation_domain="manual", translation_key="busy"),
            f"{TARGET} refused alarm_arm_away without giving a reason",
        ),
        (
            KeyError("armed_sideways"),
            (
                f"{TARGET} failed on alarm_arm_away with an unexpected error:"
                " KeyError: 'armed_sideways'"
            ),
        ),
        (
            RuntimeError(),
            f"{TARGET} failed on alarm_arm_away with an unexpected error: RuntimeError",
        ),
    ],
    ids=["translated", "no_message", "untranslated_key", "key_error", "bare_error"],
)
async def test_other_failures_are_said_in_words(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    expected: str,
) -> None:
    fail_first_calls(monkeypatch, hass, "async_alarm_arm_away", 1, error)
    await tick(hass, freezer, 30)
    await call_panel(hass, "alarm_arm_away")
    failing(hass, expected, pending="armed_away")


@pytest.mark.parametrize("target_config", [TARGET_WITH_CODE])
@pytest.mark.parametrize("entry_options", [sending_code("0000")])
async def test_wrong_code_for_the_target_is_said_in_words(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await tick(hass, freezer, 30)
    caplog.set_level(logging.WARNING)
    await call_panel(hass, "alarm_arm_home")
    await tick(hass, freezer, 3)  # the retry is refused too
    assert calls.services() == ["alarm_arm_home", "alarm_arm_home"]
    assert state(hass, TARGET) == "disarmed"
    expected = (
        f"{TARGET} refused alarm_arm_home because it did not accept the code RoomDB sent;"
        " correct the code in RoomDB's alarm sync options"
    )
    failing(hass, expected, pending="armed_home")
    # Said once in the log when it starts failing, not at every retry.
    assert sync_log(caplog) == [(logging.WARNING, f"Alarm sync: {expected}")]


async def test_target_without_a_loaded_integration_is_said_in_words(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Its integration unloaded, the panel's last state stays where something else keeps it.

    Home Assistant answers a call for an entity nobody serves with a log line only, so the call
    "succeeds": the sync must not take that for the target having followed.
    """
    await tick(hass, freezer, 30)
    last = hass.states.get(TARGET)
    assert last is not None
    await hass.data[DATA_COMPONENT].async_remove_entity(TARGET)
    hass.states.async_set(TARGET, last.state, last.attributes)
    await hass.async_block_till_done()
    await call_panel(hass, "alarm_arm_away")
    attributes = failing(
        hass,
        f"RoomDB could not call alarm_arm_away on {TARGET} because no loaded integration"
        " provides that panel; check that the panel's integration is set up",
        pending="armed_away",
    )
    assert attributes["next_retry"] is not None


async def arm_away_while_the_target_hangs(
    hass: HomeAssistant,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> asyncio.Event:
    """Arm RoomDB's panel away while the target's `alarm_arm_away` never returns.

    The call stays running until the event returned is set. Ticks 30 s first, so the local
    change is clearly newer than the target's state.
    """
    release = asyncio.Event()

    async def hang(code: str | None = None) -> None:
        await release.wait()

    monkeypatch.setattr(target_entity(hass), "async_alarm_arm_away", hang)
    await tick(hass, freezer, 30)
    await hass.services.async_call(
        ALARM_DOMAIN, "alarm_arm_away", {"entity_id": PANEL}, blocking=True
    )
    await run_loop()  # not block_till_done: it would wait for the call that hangs
    assert calls.services() == ["alarm_arm_away"]
    return release


async def test_hanging_target_call_times_out(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A foreign integration whose service never returns must not hold up the sync."""
    release = await arm_away_while_the_target_hangs(hass, calls, freezer, monkeypatch)
    try:
        freezer.tick(timedelta(seconds=30))
        async_fire_time_changed(hass)
        await run_loop()
        failing(
            hass, f"{TARGET} did not finish alarm_arm_away within 30 seconds", pending="armed_away"
        )
        # The panel answers again: the retry goes through.
        monkeypatch.undo()
        await tick(hass, freezer, 3)
        assert calls.services() == ["alarm_arm_away", "alarm_arm_away"]
        assert state(hass, TARGET) == "armed_away"
        assert sensor(hass)[0] == SyncStatus.IN_SYNC
    finally:
        release.set()


@pytest.mark.timeout(60)  # without the fix the unload waits for the call forever (frozen clock)
async def test_unload_does_not_wait_for_a_hanging_call(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    hass_storage: dict[str, Any],
) -> None:
    release = await arm_away_while_the_target_hangs(hass, calls, freezer, monkeypatch)
    try:
        assert await hass.config_entries.async_unload(alarm_entry.entry_id)
        # The change is kept for the next start.
        assert hass_storage[SYNC_STORE_KEY]["data"]["pending"]["state"] == "armed_away"
    finally:
        release.set()


@pytest.mark.parametrize(
    "target_config",
    [
        {
            "platform": "manual",
            "name": "House",
            "arming_time": 0,
            "code_arm_required": False,
            "arming_states": ["armed_away"],
        }
    ],
)
async def test_mode_the_target_lacks_is_not_sent(
    hass: HomeAssistant, alarm_entry: MockConfigEntry, calls: ServiceCalls
) -> None:
    await call_panel(hass, "alarm_arm_night")
    assert calls.outbound == []
    failing(
        hass, f"{TARGET} does not support armed_night, so RoomDB did not send that change", None
    )
    await call_panel(hass, "alarm_arm_away")
    assert calls.services() == ["alarm_arm_away"]
    assert sensor(hass)[0] == SyncStatus.IN_SYNC


@pytest.mark.parametrize("target_config", [manual_target(trigger_time=30)])
@pytest.mark.parametrize("entry_options", [sync_options(trigger=30)])
async def test_trigger_is_mirrored_and_ends_on_both_sides(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
) -> None:
    await call_panel(hass, "alarm_arm_away")
    await call_panel(hass, "alarm_trigger")
    assert state(hass, PANEL) == "triggered"
    assert state(hass, TARGET) == "triggered"
    assert calls.services() == ["alarm_arm_away", "alarm_trigger"]
    await tick(hass, freezer, 31)
    assert state(hass, PANEL) == "armed_away"
    assert state(hass, TARGET) == "armed_away"
    assert sensor(hass)[0] == SyncStatus.IN_SYNC


@pytest.mark.parametrize(
    "target_config",
    [
        {
            "platform": "manual",
            "name": "House",
            "arming_time": 20,
            "delay_time": 0,
            "code_arm_required": False,
        }
    ],
)
async def test_target_exit_delay_is_mirrored_not_answered(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
) -> None:
    await tick(hass, freezer, 5)
    await call_target(hass, calls, "alarm_arm_away")
    assert state(hass, TARGET) == "arming"
    assert state(hass, PANEL) == "arming"
    await tick(hass, freezer, 21)
    assert state(hass, TARGET) == "armed_away"
    assert state(hass, PANEL) == "armed_away"
    assert calls.outbound == []


@pytest.mark.parametrize(
    "entry_options", [sync_options(), sync_options(ha_authoritative=False)], ids=["ha", "local"]
)
async def test_target_answering_a_call_with_another_state_is_followed_not_repeated(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    transitions: list[dict[str, Any]],
) -> None:
    """A panel without a night mode answers RoomDB's `alarm_arm_night` with armed_home.

    That state carries RoomDB's context but is not what RoomDB asked for: it is the panel's answer,
    so RoomDB takes it (either authority) and does not ask again, which would get the same answer.
    """
    await call_panel(hass, "alarm_arm_night")
    answered = hass.states.get(TARGET)
    assert answered is not None
    hass.states.async_set(TARGET, "armed_home", answered.attributes, context=answered.context)
    await hass.async_block_till_done()
    assert state(hass, PANEL) == "armed_home"
    assert [(t["new"], t["origin"]) for t in transitions] == [
        ("armed_night", "local"),
        ("armed_home", "home_assistant"),
    ]
    assert calls.services() == ["alarm_arm_night"]
    assert sensor(hass)[0] == SyncStatus.IN_SYNC


async def test_panel_reporting_after_the_calls_is_not_taken_for_a_change(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    monkeypatch: pytest.MonkeyPatch,
    transitions: list[dict[str, Any]],
) -> None:
    """A panel that reports its state after the call returned (as MQTT panels do).

    Two quick local changes are both sent before the first report arrives, so both reports carry
    the second call's context: the first is the late echo of the first call, not a change of the
    target, and RoomDB's panel must not step back to it.
    """
    entity = target_entity(hass)

    async def accept(code: str | None = None) -> None:
        """The command is on its way to the device; its state is reported later."""

    for method in ("async_alarm_arm_away", "async_alarm_arm_home"):
        monkeypatch.setattr(entity, method, accept)
    await call_panel(hass, "alarm_arm_away")
    await call_panel(hass, "alarm_arm_home")
    assert calls.services() == ["alarm_arm_away", "alarm_arm_home"]
    latest = calls.contexts[-1]
    for reported in ("armed_away", "armed_home"):
        current = hass.states.get(TARGET)
        assert current is not None
        hass.states.async_set(TARGET, reported, current.attributes, context=latest)
        await hass.async_block_till_done()
        assert state(hass, PANEL) == "armed_home"
    assert [(t["new"], t["origin"]) for t in transitions] == [
        ("armed_away", "local"),
        ("armed_home", "local"),
    ]
    assert len(calls.outbound) == 2
    assert sensor(hass)[0] == SyncStatus.IN_SYNC


@pytest.mark.parametrize(
    ("entry_options", "expected_target", "expected_calls"),
    [
        ({**sync_options(), CONF_SYNC_ENABLED: False}, "disarmed", []),
        (
            {**sync_options(ha_authoritative=False), CONF_SYNC_ENABLED: False},
            "armed_away",
            ["alarm_arm_away"],
        ),
    ],
)
async def test_enabling_sync_later_follows_authority(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
    expected_target: str,
    expected_calls: list[str],
) -> None:
    """Changed while sync was off: the newer local state is pushed only by local authority."""
    assert sensor(hass)[0] == SyncStatus.DISABLED
    await tick(hass, freezer, 60)
    await call_panel(hass, "alarm_arm_away")
    assert calls.outbound == []
    await tick(hass, freezer, 60)
    hass.config_entries.async_update_entry(
        alarm_entry, options={**alarm_entry.options, CONF_SYNC_ENABLED: True}
    )
    assert await hass.config_entries.async_reload(alarm_entry.entry_id)
    await hass.async_block_till_done()
    assert state(hass, PANEL) == "armed_away"
    assert state(hass, TARGET) == expected_target
    assert calls.services() == expected_calls


async def test_disabling_sync_forgets_its_state(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    hass_storage: dict[str, Any],
) -> None:
    await target_offline(hass)
    await call_panel(hass, "alarm_arm_away")
    hass.config_entries.async_update_entry(
        alarm_entry, options={**alarm_entry.options, CONF_SYNC_ENABLED: False}
    )
    assert await hass.config_entries.async_reload(alarm_entry.entry_id)
    await hass.async_block_till_done()
    assert SYNC_STORE_KEY not in hass_storage
    status, attributes = sensor(hass)
    assert status == SyncStatus.DISABLED
    assert attributes["pending_state"] is None
    await target_back(hass)
    await call_panel(hass, "alarm_disarm")
    assert calls.outbound == []


async def test_new_target_does_not_inherit_what_was_seen_of_the_old_one(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
) -> None:
    await call_target(hass, calls, "alarm_arm_home")
    hass.config_entries.async_update_entry(
        alarm_entry, options={**alarm_entry.options, CONF_SYNC_TARGET: "alarm_control_panel.shed"}
    )
    assert await hass.config_entries.async_reload(alarm_entry.entry_id)
    await hass.async_block_till_done()
    status, attributes = sensor(hass)
    assert status == SyncStatus.OFFLINE
    assert attributes["target"] == "alarm_control_panel.shed"
    assert attributes["last_seen_state"] is None
    assert state(hass, PANEL) == "armed_home"


async def test_unload_leaves_nothing_running(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fail_first_calls(monkeypatch, hass, "async_alarm_arm_away", None, "down")
    await call_panel(hass, "alarm_arm_away")
    sync = sync_of(alarm_entry)
    controller = alarm_entry.runtime_data.alarm
    assert sync._unsub_retry is not None
    assert await hass.config_entries.async_unload(alarm_entry.entry_id)
    await hass.async_block_till_done()
    assert sync._unsub_retry is None
    assert sync._unsubs == []
    # A target change after unload reaches nobody.
    await call_target(hass, calls, "alarm_arm_home")
    assert sync.last_seen_state == "disarmed"
    assert controller.machine.state is AlarmState.ARMED_AWAY
    assert controller._unsub_timer is None


async def test_local_change_during_a_call_is_sent_next(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the latest change is pending: one made while a call runs is sent after it."""
    entity = target_entity(hass)
    real_arm_away = entity.async_alarm_arm_away  # type: ignore[attr-defined]

    async def slow_arm_away(code: str | None = None) -> None:
        # Someone presses home meanwhile.
        await hass.services.async_call(
            "alarm_control_panel", "alarm_arm_home", {"entity_id": PANEL}, blocking=True
        )
        await real_arm_away(code)

    monkeypatch.setattr(entity, "async_alarm_arm_away", slow_arm_away)
    await call_panel(hass, "alarm_arm_away")
    assert calls.services() == ["alarm_arm_away", "alarm_arm_home"]
    assert state(hass, PANEL) == "armed_home"
    assert state(hass, TARGET) == "armed_home"
    assert sensor(hass)[0] == SyncStatus.IN_SYNC


async def test_retry_waits_for_the_target_to_come_back(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fail_first_calls(monkeypatch, hass, "async_alarm_arm_night", 1, "glitch")
    await tick(hass, freezer, 10)
    await call_panel(hass, "alarm_arm_night")
    await target_offline(hass)
    await tick(hass, freezer, 300)  # the retry finds the target offline: nothing is sent
    assert calls.services() == ["alarm_arm_night"]
    assert sensor(hass)[0] == SyncStatus.OFFLINE
    await target_back(hass)
    assert calls.services() == ["alarm_arm_night", "alarm_arm_night"]
    assert state(hass, TARGET) == "armed_night"
    assert sensor(hass)[0] == SyncStatus.IN_SYNC


async def test_unusable_stored_sync_state_starts_over(
    hass: HomeAssistant,
    target: str,
    mock_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    hass_storage[SYNC_STORE_KEY] = {
        "version": 1,
        "minor_version": 1,
        "key": SYNC_STORE_KEY,
        "data": {"target": TARGET, "pending": {"state": "sideways", "at": 1.0}},
    }
    mock_entry.add_to_hass(hass)
    with caplog.at_level(logging.WARNING):
        assert await hass.config_entries.async_setup(mock_entry.entry_id)
        await hass.async_block_till_done()
    assert "Stored alarm sync state is unusable" in caplog.text
    status, attributes = sensor(hass)
    assert status == SyncStatus.IN_SYNC
    assert attributes["pending_state"] is None
    await hass.config_entries.async_unload(mock_entry.entry_id)
