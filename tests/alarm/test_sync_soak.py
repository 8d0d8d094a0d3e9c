"""Seeded soak in a real hass: RoomDB's panel and HA's manual panel through random use and outages.

Per run, 500 random uses of either panel (someone uses RoomDB's panel or the target panel) with
random outages in between (the target goes unavailable, comes back) while time passes and timers
fire. No delays (arming/entry 0) and a short alarm time keep it fast under the frozen clock.
Checked after every action: a local change causes at most one call to the target, a change on the
target none (HA authoritative) — so nothing ping-pongs; at the end both panels agree, nothing is
pending, and a quiet day sends nothing.
"""

from __future__ import annotations

from collections import Counter
import random
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.alarm.machine import STABLE_STATES
from custom_components.roomdb.alarm.state_mapping import map_inbound
from custom_components.roomdb.alarm.sync import SyncStatus
from custom_components.roomdb.const import EVENT_ALARM_TRANSITION

from .conftest import (
    PANEL,
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
    tick,
)

ACTIONS = 500
ALARM_TIME = 5
LOCAL_SERVICES = [
    "alarm_arm_home",
    "alarm_arm_away",
    "alarm_arm_night",
    "alarm_arm_vacation",
    "alarm_disarm",
    "alarm_disarm",
    "alarm_trigger",
]
TARGET_SERVICES = [
    "alarm_arm_home",
    "alarm_arm_away",
    "alarm_arm_night",
    "alarm_arm_custom_bypass",
    "alarm_arm_vacation",
    "alarm_disarm",
    "alarm_disarm",
    "alarm_trigger",
]
GAPS = [0, 0, 0.2, 1, 1.5, 3, 4, 10, 60]


@pytest.fixture
def target_config() -> dict[str, Any]:
    return manual_target(trigger_time=ALARM_TIME)


@pytest.fixture
def origins(hass: HomeAssistant) -> Counter[str]:
    seen: Counter[str] = Counter()

    @callback
    def _record(event: Event) -> None:
        seen[event.data["origin"]] += 1

    hass.bus.async_listen(EVENT_ALARM_TRANSITION, _record)
    return seen


@pytest.mark.parametrize(
    ("entry_options", "ha_authoritative"),
    [
        (sync_options(trigger=ALARM_TIME), True),
        (sync_options(ha_authoritative=False, trigger=ALARM_TIME), False),
    ],
    ids=["ha_authoritative", "local_authoritative"],
)
@pytest.mark.parametrize("seed", [7, 2026])
async def test_soak_converges_without_loops(
    hass: HomeAssistant,
    alarm_entry: MockConfigEntry,
    calls: ServiceCalls,
    freezer: FrozenDateTimeFactory,
    origins: Counter[str],
    seed: int,
    ha_authoritative: bool,
) -> None:
    rng = random.Random(seed)
    sync = sync_of(alarm_entry)
    online = True
    done: Counter[str] = Counter()

    while done["local"] + done["remote"] < ACTIONS:
        await tick(hass, freezer, rng.choice(GAPS) * rng.random())
        before = len(calls.outbound)
        roll = rng.random()
        if roll < 0.1:
            if online:
                await target_offline(hass)
                done["outages"] += 1
            else:
                await target_back(hass)
            online = not online
            assert len(calls.outbound) - before <= 1, "a reconnect sends at most the queued change"
            continue
        try:
            if roll < 0.55:
                done["local"] += 1
                await call_panel(hass, rng.choice(LOCAL_SERVICES))
            else:
                service = rng.choice(TARGET_SERVICES)
                if service == "alarm_trigger" and target_entity(hass).alarm_state in (
                    "pending",
                    "triggered",
                ):
                    service = "alarm_disarm"  # manual raises KeyError on a second trigger
                done["remote"] += 1
                await call_target(hass, calls, service)
        except HomeAssistantError:
            done["refused"] += 1  # e.g. arming during an alarm: refused, nothing changes
        sent = len(calls.outbound) - before
        reconnected = not online and state(hass, TARGET) != "unavailable"
        online = state(hass, TARGET) != "unavailable"  # a panel that writes its state is back
        if roll < 0.55 or reconnected or not ha_authoritative:
            # One call per local change; a reconnect may send the queued change; local authority
            # may also answer a tie with one call.
            assert sent <= 1, calls.outbound[before:]
        else:
            assert sent == 0, f"a target change was answered: {calls.outbound[before:]}"

    # Settle: the target comes back and every timer runs out.
    if not online:
        await target_back(hass)
    for _ in range(3):
        await tick(hass, freezer, 3600)

    local = state(hass, PANEL)
    assert map_inbound(state(hass, TARGET)) == local
    assert local in {str(s) for s in STABLE_STATES}
    assert alarm_entry.runtime_data.alarm.machine.next_deadline() is None
    assert sync.pending is None
    assert sync.status is SyncStatus.IN_SYNC

    # Quiet: a further day without anyone sends nothing and changes nothing.
    quiet = (len(calls.outbound), sum(origins.values()))
    await tick(hass, freezer, 86_400)
    assert (len(calls.outbound), sum(origins.values())) == quiet

    # The soak exercised what it claims to.
    assert done["outages"] >= 15
    assert origins["local"] >= 100
    assert origins["home_assistant"] >= 50
    assert len(calls.outbound) >= 100
    # No runaway: calls stay below the number of things that may cause one.
    assert len(calls.outbound) <= done["local"] + done["outages"] + origins["timer"] + (
        0 if ha_authoritative else done["remote"]
    )
