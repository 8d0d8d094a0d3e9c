"""Where an ingested event's time goes: CPU time per event of each thread, for `bench_bus_ingest`.

A development aid beside `bench_bus_ingest` (same 20,000 state changes of 200 entities): CPU time,
not wall time, of the event loop's thread and of the database's writer thread, so that the other
processes on a shared machine shift the figures little. Sides, each a fresh Home Assistant, in
turns: the bare bus; the bus with one filter that returns False (what any filtered listener costs);
RoomDB's ingest (the loop's time while the changes are set, then the loop's and the writer thread's
time during `Database.flush`). Wall times beside them, of the bare bus and of RoomDB: what the CPU
times leave unexplained. Prints the median of the runs, in µs per event.

    python -m bench.ingest_profile [RUNS]
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import gc
from pathlib import Path
import statistics
import sys
import tempfile
import threading
import time
from typing import Any

from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import callback
from pytest_homeassistant_custom_component.common import async_test_home_assistant

from bench.bench_bus_ingest import ENTITIES, Changes, _changes, _fire, roomdb_ingesting

COUNT = 20_000


def _thread_cpu(thread: threading.Thread) -> float:
    assert thread.ident is not None
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


@callback
def _ignore(_event: Any) -> None:
    """The listener beside a filter that lets nothing through."""


@callback
def _reject(_data: Any) -> bool:
    return False


async def _bus(changes: Changes, with_filter: bool) -> dict[str, float]:
    name = "one filter returning False" if with_filter else "bare bus"
    with tempfile.TemporaryDirectory() as tmp:
        async with async_test_home_assistant(config_dir=tmp) as hass:
            if with_filter:
                hass.bus.async_listen(EVENT_STATE_CHANGED, _ignore, _reject)
            _fire(hass, changes[: len(ENTITIES)])
            gc.collect()
            cpu0, wall0 = time.thread_time(), time.perf_counter()
            _fire(hass, changes[len(ENTITIES) :])
            wall1 = time.perf_counter()
            await hass.async_block_till_done()
            cpu2, wall2 = time.thread_time(), time.perf_counter()
            await hass.async_stop(force=True)
    if with_filter:
        return {f"{name}: loop": cpu2 - cpu0}
    return {
        f"{name}: loop": cpu2 - cpu0,
        f"{name}: wall time while the changes are set": wall1 - wall0,
        f"{name}: wall time, first call to the end": wall2 - wall0,
    }


async def _roomdb(changes: Changes) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        async with async_test_home_assistant(config_dir=tmp) as hass:
            async with roomdb_ingesting(hass, Path(tmp) / "roomdb.db", changes) as database:
                writer: threading.Thread = getattr(database.connection, "_thread")  # noqa: B009
                loop0, writer0 = time.thread_time(), _thread_cpu(writer)
                wall0 = time.perf_counter()
                _fire(hass, changes[len(ENTITIES) :])
                loop1, writer1 = time.thread_time(), _thread_cpu(writer)
                wall1 = time.perf_counter()
                await database.flush()
                loop2, writer2 = time.thread_time(), _thread_cpu(writer)
                wall2 = time.perf_counter()
            await hass.async_stop(force=True)
    return {
        "RoomDB: loop while the changes are set": loop1 - loop0,
        "RoomDB: writer thread meanwhile": writer1 - writer0,
        "RoomDB: loop during the flush (hand-off, BEGIN/COMMIT trips)": loop2 - loop1,
        "RoomDB: writer thread during the flush (INSERTs, COMMIT)": writer2 - writer1,
        "RoomDB: wall time while the changes are set": wall1 - wall0,
        "RoomDB: wall time from the last change to the last commit": wall2 - wall1,
        "RoomDB: wall time, first call to last commit": wall2 - wall0,
    }


def profile(runs: int) -> dict[str, float]:
    """Median µs per event of each part over `runs` turns of the sides."""
    changes = _changes(COUNT + len(ENTITIES))
    parts: dict[str, list[float]] = {}
    sides: tuple[Callable[[], dict[str, float]], ...] = (
        lambda: asyncio.run(_bus(changes, with_filter=False)),
        lambda: asyncio.run(_bus(changes, with_filter=True)),
        lambda: asyncio.run(_roomdb(changes)),
    )
    for _ in range(runs):
        for side in sides:
            for part, seconds in side().items():
                parts.setdefault(part, []).append(seconds / COUNT * 1e6)
    return {part: statistics.median(values) for part, values in parts.items()}


if __name__ == "__main__":
    for part, micros in profile(int(sys.argv[1]) if len(sys.argv) > 1 else 5).items():
        print(f"{part:64s} {micros:6.2f} µs/event")
