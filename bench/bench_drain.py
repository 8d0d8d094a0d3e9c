"""Event stream drain: loop lag while a full buffer of 5,000 events goes to a slow peer.

RoomDB's real ``EventBuffer`` (HA ``Store`` on disk) is filled with 5,000 events while the peer is
down, then the sender drains it to the reference peer, which answers each POST 20 ms late, while
new events keep arriving (200/s for 8 s, so the Store's delayed saves of the full buffer happen
during the run). A lag probe measures how late the event loop runs scheduled callbacks meanwhile,
beside the same probe on the bare loop (the same Home Assistant, idle) for the same time. A second
run makes the peer lose one event of every batch, so every answer reports a gap and the full
buffer is saved to the Store after every POST (the worst case for the loop).
"""

from __future__ import annotations

import asyncio
import time

from bench.looplag import LagStats, LoopLagProbe
from bench.stream_rig import stream_rig
from custom_components.roomdb.events.sink import SinkTuning
from tests.peers.ingest_server import IngestServer

TOKEN = "bench"
ANSWER_DELAY = 0.02
LIVE_RATE = 200
LIVE_SECONDS = 8.0
TUNING = SinkTuning(heartbeat_interval=3600.0)


def _payload(i: int) -> dict[str, object]:
    return {
        "domain": "motion_lighting",
        "room_id": f"room_{i % 100}",
        "version": i,
        "action": "updated",
        "entity_id": f"binary_sensor.motion_{i % 50}",
    }


async def _drain(count: int, *, gaps: bool) -> tuple[LagStats, LagStats, float]:
    peer = IngestServer(TOKEN)
    peer.delay(ANSWER_DELAY)
    if gaps:
        peer.drop_sequences(range(50, count + 1, 100))
    async with stream_rig(peer, 2 * count, TUNING) as rig:
        for i in range(count):
            rig.buffer.async_emit("config_changed", _payload(i))
        await asyncio.sleep(0.5)
        probe = LoopLagProbe(0.001)
        probe.start()
        started = time.monotonic()
        rig.sink.async_start()
        live = count
        while time.monotonic() - started < LIVE_SECONDS:
            rig.buffer.async_emit("config_changed", _payload(live))
            live += 1
            await asyncio.sleep(1 / LIVE_RATE)
        while rig.buffer.ring.pending_count():
            await asyncio.sleep(0.005)
        seconds = time.monotonic() - started
        draining = probe.stop()
        bare = LoopLagProbe(0.001)
        bare.start()
        await asyncio.sleep(seconds)
        idle = bare.stop()
        assert peer.sequences(rig.buffer.device_key) == list(range(1, live + 1))
    return draining, idle, seconds


def _row(detail: str, name: str, ours: float, bare: float, target: float) -> dict[str, object]:
    return {
        "benchmark": "drain",
        "metric": f"loop lag {name} while draining ({detail}); baseline: idle loop",
        "roomdb": ours,
        "baseline": bare,
        "unit": "ms",
        "ratio": bare / ours if ours else float("inf"),
        "target": f"< {target:g} ms",
        "met": ours < target,
    }


def run(quick: bool) -> list[dict[str, object]]:
    count = 5_000
    rows: list[dict[str, object]] = []
    for gaps in (False, True):
        draining, idle, seconds = asyncio.run(_drain(count, gaps=gaps))
        detail = (
            f"{count:,} buffered + {LIVE_RATE}/s live events, peer answers in "
            f"{ANSWER_DELAY * 1e3:.0f} ms{', a gap in every answer' if gaps else ''}, "
            f"{seconds:.1f} s"
        )
        rows.append(_row(detail, "p99", draining.p99_ms, idle.p99_ms, 5.0))
        rows.append(_row(detail, "max", draining.max_ms, idle.max_ms, 20.0))
    return rows


if __name__ == "__main__":
    for row in run(quick=False):
        print(row)
