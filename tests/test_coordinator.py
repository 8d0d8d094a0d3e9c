"""The health snapshot follows every commit, including one that lands during a refresh."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.roomdb.coordinator import REFRESH_COOLDOWN
from custom_components.roomdb.events.stats import EventStreamStats
from custom_components.roomdb.ml.status import MlStatus


async def _cooldown(hass: HomeAssistant) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + REFRESH_COOLDOWN * 2)
    await hass.async_block_till_done()


async def test_a_commit_during_a_refresh_gets_its_own_refresh(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    coordinator = loaded_entry.runtime_data.coordinator
    await _cooldown(hass)
    reads: list[int] = []
    real_parts = coordinator._parts

    def parts_with_a_commit_landing() -> tuple[EventStreamStats, MlStatus]:
        # The refresh has read the database; a commit that lands now must not be absorbed.
        reads.append(len(reads))
        if len(reads) == 1:
            coordinator.async_schedule_refresh()
        return real_parts()

    coordinator._parts = parts_with_a_commit_landing
    coordinator.async_schedule_refresh()
    coordinator.async_schedule_refresh()  # a burst: one refresh
    await _cooldown(hass)
    assert reads == [0]
    await _cooldown(hass)
    assert reads == [0, 1]
    await _cooldown(hass)
    assert reads == [0, 1], "no commit since: no further refresh"


async def test_unload_cancels_a_pending_refresh(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    coordinator = loaded_entry.runtime_data.coordinator
    await _cooldown(hass)
    coordinator.async_schedule_refresh()
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await _cooldown(hass)
    assert coordinator._timer is None
