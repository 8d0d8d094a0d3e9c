"""The event stream's real parts in an in-process Home Assistant, sending to the reference peer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
import tempfile

import aiohttp
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_test_home_assistant

from custom_components.roomdb.events.sink import EventSink, SinkTuning
from custom_components.roomdb.events.store import EventBuffer
from tests.peers.ingest_server import IngestServer


@dataclass(frozen=True, slots=True)
class StreamRig:
    """A loaded ``EventBuffer`` (a real ``Store`` on disk) and a sender, not started yet."""

    hass: HomeAssistant
    peer: IngestServer
    buffer: EventBuffer
    sink: EventSink


@asynccontextmanager
async def stream_rig(
    peer: IngestServer, capacity: int, tuning: SinkTuning
) -> AsyncIterator[StreamRig]:
    """Start ``peer`` and build the buffer and sender against it; stop everything afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            async_test_home_assistant(config_dir=str(Path(tmp))) as hass,
            aiohttp.ClientSession() as session,
        ):
            await peer.start()
            buffer = EventBuffer(hass, capacity)
            await buffer.async_load()
            sink = EventSink(
                hass,
                buffer,
                url=peer.url,
                token=peer.token,
                on_change=lambda: None,
                session=session,
                tuning=tuning,
            )
            try:
                yield StreamRig(hass, peer, buffer, sink)
            finally:
                await sink.async_stop()
                await buffer.async_save_now()
                await peer.stop()
                await hass.async_stop(force=True)
