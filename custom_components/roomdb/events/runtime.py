"""The event stream of one loaded entry: the buffer, the sender and the forwarder, wired up.

At start it also emits the events of room-config changes the journal holds beyond what the saved
buffer covers (changes committed just before a hard stop), and while running it trims the journal
up to what each completed save covers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event as HassEvent, HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..db.database import Database
from ..log import get_logger
from ..timestamps import wire_timestamp
from .forwarder import CONFIG_CHANGED_EVENT, EventForwarder, TrackedPredicate
from .journal import ChangeJournal
from .ledger import SequenceLedger
from .options import EventStreamSettings
from .runs import RunSet
from .sink import EventSink, endpoint_for_logs
from .stats import EventStreamStats
from .store import EventBuffer

_LOGGER = get_logger(__name__)


def _runs(numbers: list[int]) -> tuple[tuple[int, int], ...]:
    return tuple((first, last) for first, last in RunSet(numbers).to_list())


class EventStream:
    """Numbers what RoomDB emits, keeps it in the Store and sends it while enabled."""

    def __init__(
        self,
        hass: HomeAssistant,
        options: Mapping[str, Any],
        on_change: Callable[[], None],
        is_tracked: TrackedPredicate,
        database: Database,
    ) -> None:
        """Build the parts from the entry options; ``on_change`` refreshes the sensors.

        ``is_tracked`` picks the state changes forwarded when that option is on: the ML ingest's
        own rule, so the stream and ``raw_events`` see the same entities. ``database`` keeps the
        stream's second record (``ledger``) and the journal of room-config changes.
        """
        self._hass = hass
        self.settings = EventStreamSettings.from_options(options)
        self.journal = ChangeJournal(database)
        self.buffer = EventBuffer(hass, self.settings.buffer_size, ledger=SequenceLedger(database))
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

    @property
    def journals_changes(self) -> bool:
        """Return whether room-config changes must be journaled for this stream."""
        return self.settings.enabled

    async def async_start(self) -> None:
        """Restore the buffer; when enabled, recover journaled changes, forward and send."""
        await self.buffer.async_load()
        if not self.settings.enabled:
            # Nothing waits for these events: a stream switched on later starts from now.
            await self.journal.async_clear()
            self.sink.async_start()
            return
        await self._async_recover_journal()
        self.buffer.on_saved = self.journal.trim
        self.sink.async_start()
        self._unsub_stop = self._hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_STOP, self._async_hass_stopping
        )
        self.forwarder.async_start()

    async def _async_recover_journal(self) -> None:
        entries = await self.journal.async_after(self.buffer.last_change_id)
        for entry in entries:
            self.buffer.async_emit(
                CONFIG_CHANGED_EVENT,
                entry.as_event_data(),
                timestamp=wire_timestamp(datetime.fromisoformat(entry.changed_at)),
                change_id=entry.change_id,
            )
        if entries:
            _LOGGER.warning(
                "%d room-config change(s) committed before the last stop had no event yet; "
                "their events are numbered now (changes %d-%d)",
                len(entries),
                entries[0].change_id,
                entries[-1].change_id,
            )
            await self.buffer.async_save()
        self.journal.trim(self.buffer.last_change_id)

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
            last_confirmed=ring.last_confirmed,
            awaiting_resend=len(ring.missing),
            peer_missing=_runs(ring.last_report),
            disagreement=_runs(ring.disagreement()),
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
