"""Event-loop lag of a real in-process HA under 2,000 state changes/s, with and without RoomDB,
plus a training run and an export in the middle of the RoomDB run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress
import gc
from pathlib import Path
import random
import tempfile
import time

from homeassistant import loader
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_test_home_assistant

from bench.looplag import LagStats, LoopLagProbe

ENTITIES = (
    [(f"binary_sensor.motion_{i}", {"device_class": "motion"}, ("on", "off")) for i in range(40)]
    + [(f"light.lamp_{i}", {}, ("on", "off")) for i in range(40)]
    + [(f"media_player.tv_{i}", {}, ("playing", "paused", "off")) for i in range(10)]
    + [(f"binary_sensor.door_{i}", {"device_class": "door"}, ("on", "off")) for i in range(10)]
)


async def drive_state_changes(
    hass: HomeAssistant,
    rate: int,
    seconds: float,
    midpoint: Callable[[HomeAssistant], Awaitable[None]] | None,
) -> LagStats:
    rng = random.Random(7)
    # Start both runs from a collected heap, so a full collection left over from set-up does not
    # land in one run's window and not the other's.
    gc.collect()
    probe = LoopLagProbe()
    probe.start()
    tick = 0.01
    per_tick = max(1, int(rate * tick))
    started = time.monotonic()
    fired_midpoint = False
    background: set[asyncio.Task[object]] = set()
    while (elapsed := time.monotonic() - started) < seconds:
        for _ in range(per_tick):
            entity_id, attrs, states = ENTITIES[rng.randrange(len(ENTITIES))]
            hass.states.async_set(entity_id, rng.choice(states), attrs)
        if midpoint is not None and not fired_midpoint and elapsed >= seconds / 2:
            fired_midpoint = True
            task = hass.async_create_task(midpoint(hass), eager_start=False)
            background.add(task)
        await asyncio.sleep(tick - ((time.monotonic() - started) % tick))
    if background:
        await asyncio.gather(*background, return_exceptions=True)
    return probe.stop()


async def training_and_export(hass: HomeAssistant) -> None:
    for service in ("run_pipeline", "export"):
        if hass.services.has_service("roomdb", service):
            with suppress(Exception):
                await hass.services.async_call(
                    "roomdb", service, {}, blocking=True, return_response=True
                )


async def measure(rate: int, seconds: float, with_roomdb: bool) -> LagStats:
    with tempfile.TemporaryDirectory() as tmp:
        async with async_test_home_assistant(config_dir=str(Path(tmp))) as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
            assert await async_setup_component(hass, "homeassistant", {})
            if with_roomdb:
                entry = MockConfigEntry(
                    domain="roomdb",
                    data={"mapping_path": "roomdb/area_mapping.yaml", "export_path": "export.json"},
                )
                entry.add_to_hass(hass)
                assert await hass.config_entries.async_setup(entry.entry_id)
                await hass.async_block_till_done()
            stats = await drive_state_changes(
                hass, rate, seconds, training_and_export if with_roomdb else None
            )
            if with_roomdb:
                await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
            await hass.async_stop(force=True)
    return stats


def run(quick: bool) -> list[dict[str, object]]:
    seconds = 5.0 if quick else 30.0
    rate = 2000
    baseline = asyncio.run(measure(rate, seconds, with_roomdb=False))
    roomdb = asyncio.run(measure(rate, seconds, with_roomdb=True))
    rows: list[dict[str, object]] = []
    for metric, ours, base, target, limit in (
        ("loop lag p50", roomdb.p50_ms, baseline.p50_ms, "", None),
        ("loop lag p99", roomdb.p99_ms, baseline.p99_ms, "< 10 ms", 10.0),
        ("loop lag max", roomdb.max_ms, baseline.max_ms, "< 50 ms", 50.0),
    ):
        rows.append(
            {
                "benchmark": "event loop",
                "metric": f"{metric} ({rate}/s for {seconds:.0f} s)",
                "roomdb": ours,
                "baseline": base,
                "unit": "ms",
                "ratio": (base / ours) if ours else 1.0,
                "target": target,
                "met": limit is None or ours < limit,
            }
        )
    return rows
