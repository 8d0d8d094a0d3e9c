"""How the activity and vacuum pipelines write: the store's path plus dedupe and backoff.

* The write itself is :meth:`RoomConfigStore.upsert` in ``patch`` mode, so admission, the write
  limiter and the counters apply exactly as for the services.
* An identical patch for the same (domain, room_id) within ``dedupe_window`` seconds of the last
  successful write is dropped without touching the store.
* A ``retry`` (rate limited) answer schedules another attempt after
  ``max(retry_after, backoff)`` with the shared backoff (2 s doubling to 60 s, ±25 % jitter). A
  newer patch for the same key while a retry is pending replaces the pending one, so the retry
  sends the latest state. ``denied`` and ``error`` answers are logged and dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
import random
import time
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from ..backoff import Backoff
from ..log import get_logger
from .export_doc import canonical_json
from .store import RoomConfigStore, WriteMode, WriteResult, WriteStatus

_LOGGER = get_logger(__name__)

DEDUPE_WINDOW: Final = 5.0

type Key = tuple[str, str]


class PipelineWriter:
    """Dedupe + retry-with-backoff in front of the store, for one pipeline."""

    def __init__(
        self,
        hass: HomeAssistant,
        store: RoomConfigStore,
        name: str,
        *,
        dedupe_window: float = DEDUPE_WINDOW,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        """Create the writer; ``name`` is the ``source`` in the store's log lines."""
        self.hass = hass
        self.store = store
        self.name = name
        self.dedupe_window = dedupe_window
        self.clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._last: dict[Key, tuple[str, float]] = {}
        self._pending: dict[Key, dict[str, Any]] = {}
        self._timers: dict[Key, CALLBACK_TYPE] = {}
        self._backoffs: dict[Key, Backoff] = {}
        self.written = 0
        self.deduplicated = 0
        self.retries = 0
        self.dropped = 0

    def backoff(self, key: Key) -> Backoff:
        """The backoff of ``key`` (created on first use)."""
        if key not in self._backoffs:
            self._backoffs[key] = Backoff(rng=self._rng.random)
        return self._backoffs[key]

    async def async_write(
        self, domain: str, room_id: str, patch: Mapping[str, Any]
    ) -> WriteResult | None:
        """Write ``patch`` (or queue it behind a pending retry); ``None`` when not sent now."""
        key = (domain, room_id)
        data = dict(patch)
        last = self._last.get(key)
        if (
            last is not None
            and last[0] == canonical_json(data)
            and self.clock() - last[1] < self.dedupe_window
        ):
            self.deduplicated += 1
            _LOGGER.debug(
                "room_id=%s domain=%s source=%s: identical write within %g s dropped",
                room_id,
                domain,
                self.name,
                self.dedupe_window,
            )
            return None
        if key in self._timers:
            self._pending[key] = data
            return None
        return await self._async_attempt(key, data)

    async def _async_attempt(self, key: Key, data: dict[str, Any]) -> WriteResult:
        domain, room_id = key
        result = await self.store.upsert(
            domain, room_id, data, mode=WriteMode.PATCH, source=self.name
        )
        backoff = self.backoff(key)
        if result.status is WriteStatus.OK:
            self.written += 1
            self._last[key] = (canonical_json(data), self.clock())
            backoff.reset()
            return result
        if result.status is WriteStatus.RETRY:
            attempt = backoff.attempt + 1
            delay = backoff.next_delay(result.retry_after)
            self.retries += 1
            self._pending[key] = data
            self._timers[key] = async_call_later(self.hass, delay, partial(self._async_retry, key))
            _LOGGER.debug(
                "room_id=%s domain=%s source=%s attempt=%s: rate limited, retrying in %.2f s",
                room_id,
                domain,
                self.name,
                attempt,
                delay,
            )
            return result
        self.dropped += 1
        backoff.reset()
        return result

    async def _async_retry(self, key: Key, _now: datetime) -> None:
        self._timers.pop(key, None)
        data = self._pending.pop(key, None)
        if data is not None:
            await self._async_attempt(key, data)

    @callback
    def async_stop(self) -> None:
        """Cancel pending retries."""
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()
        self._pending.clear()

    def health(self) -> dict[str, Any]:
        """Counters for the health endpoint."""
        return {
            "written": self.written,
            "deduplicated": self.deduplicated,
            "retries": self.retries,
            "dropped": self.dropped,
            "pending_retries": len(self._timers),
        }
