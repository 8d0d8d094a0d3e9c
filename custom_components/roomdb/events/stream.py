"""The event stream of one loaded entry: the buffer, the sender and the forwarder, wired up."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event as HassEvent, HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .buffer import EventBuffer
from .forwarder import EventForwarder, TrackedPredicate
from .options import EventStreamSettings
from .sink import EventSink, endpoint_for_logs
from .stats import EventStreamStats


class EventStream:
    """Numbers what RoomDB emits, keeps it in the Store and sends it while enabled."""

    def __init__(
        self,
        hass: HomeAssistant,
        options: Mapping[str, Any],
        on_change: Callable[[], None],
        is_tracked: TrackedPredicate,
    ) -> None:
        """Build the parts from the entry options; ``on_change`` refreshes the sensors.

        ``is_tracked`` picks the state changes forwarded when that option is on: the ML ingest's
        own rule, so the stream and ``raw_events`` see the same entities.
        """
        self._hass = hass
        self.settings = EventStreamSettings.from_options(options)
        self.buffer = EventBuffer(hass, self.settings.buffer_size)
        self.sink = EventSink(
            hass,
            self.buffer,
            url=self.settings.url if self.settings.enabled else None,
            token=self.settings.token,
            on_change=on_change,
            session=async_get_clientsession(hass),
        )
        self.forwarder = EventForwarder(
            hass,
            self.buffer.async_emit,
            include_state_changes=self.settings.include_state_changes,
            is_tracked=is_tracked,
        )
        self._unsub_stop: CALLBACK_TYPE | None = None

    async def async_start(self) -> None:
        """Restore the buffer; when enabled, start forwarding and sending."""
        await self.buffer.async_load()
        self.sink.async_start()
        if not self.settings.enabled:
            return
        self._unsub_stop = self._hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_STOP, self._async_hass_stopping
        )
        self.forwarder.async_start()

    async def _async_hass_stopping(self, _event: HassEvent) -> None:
        # Events fired while HA shuts down are still numbered and kept by the final write; only
        # sending stops, so the final write knows no number beyond it left the process.
        self._unsub_stop = None
        await self.sink.async_stop()
        self.buffer.async_mark_stopped()

    async def async_stop(self) -> None:
        """Stop forwarding and sending, then write the buffer (entry unload)."""
        if self._unsub_stop is not None:
            self._unsub_stop()
            self._unsub_stop = None
        self.forwarder.async_stop()
        await self.sink.async_stop()
        if self.settings.enabled:
            await self.buffer.async_save_now()

    def stats(self) -> EventStreamStats:
        """Return the current figures."""
        ring = self.buffer.ring
        return EventStreamStats(
            state=self.sink.state,
            last_error=self.sink.last_error,
            capacity=ring.capacity,
            buffered=len(ring),
            oldest=ring.oldest,
            newest=ring.newest,
            last_sent=ring.last_sent,
            last_acked=ring.last_acked,
            pending=ring.pending_count(),
            overflowed=ring.overflowed,
            resent=ring.resent,
            unrecoverable=ring.unrecoverable,
        )

    async def async_flush(self) -> EventStreamStats:
        """Send what is pending now, wait for that attempt and return the figures."""
        await self.sink.async_flush()
        return self.stats()

    def diagnostics(self) -> dict[str, Any]:
        """Return settings (without the token) and figures for the diagnostics download."""
        return {
            "enabled": self.settings.enabled,
            "endpoint": endpoint_for_logs(self.settings.url) if self.settings.url else None,
            "buffer_size": self.settings.buffer_size,
            "include_state_changes": self.settings.include_state_changes,
            "device_key": self.buffer.device_key,
            "next_sequence": self.buffer.ring.next_sequence,
            "high_water": self.buffer.allocator.high_water,
            "skipped": self.buffer.ring.skipped,
            **self.stats().as_dict(),
        }
