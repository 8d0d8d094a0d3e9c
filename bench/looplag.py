"""Event-loop lag probe: how late do scheduled callbacks run while RoomDB works?"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LagStats:
    """Scheduled-callback delay in milliseconds."""

    samples: int
    p50_ms: float
    p99_ms: float
    max_ms: float


class LoopLagProbe:
    """Schedules a callback every `interval` seconds and records how late each one ran."""

    def __init__(self, interval: float = 0.005) -> None:
        self._interval = interval
        self._lags: list[float] = []
        self._handle: asyncio.TimerHandle | None = None
        self._expected = 0.0

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._expected = loop.time() + self._interval
        self._handle = loop.call_at(self._expected, self._tick)

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._lags.append(max(0.0, now - self._expected))
        self._expected = now + self._interval
        self._handle = loop.call_at(self._expected, self._tick)

    def stop(self) -> LagStats:
        if self._handle is not None:
            self._handle.cancel()
        lags = sorted(self._lags)
        if not lags:
            return LagStats(0, 0.0, 0.0, 0.0)

        def pct(q: float) -> float:
            return lags[min(len(lags) - 1, int(q * len(lags)))] * 1000

        return LagStats(len(lags), pct(0.50), pct(0.99), lags[-1] * 1000)
