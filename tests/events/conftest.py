"""Fixtures for the event stream glue: the real reference peer and an entry that streams to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.const import EVENT_CONFIG_CHANGED
from custom_components.roomdb.events import sink as sink_module
from custom_components.roomdb.events.options import (
    CONF_EVENT_BUFFER_SIZE,
    CONF_EVENT_STREAM_ENABLED,
    CONF_INGEST_TOKEN,
    CONF_INGEST_URL,
)
from custom_components.roomdb.events.runtime import EventStream
from custom_components.roomdb.events.sink import SinkTuning
from tests.peers.ingest_server import IngestServer

TOKEN = "peer-token"

# Real time throughout; only the waits that would take minutes are shortened.
FAST = SinkTuning(
    batch_limit=20,
    request_timeout=0.5,
    backoff_base=0.02,
    backoff_cap=0.1,
    heartbeat_interval=30.0,  # out of the way; the heartbeat tests shorten it
    flush_timeout=5.0,
)


@pytest.fixture(autouse=True)
def fast_tuning(monkeypatch: pytest.MonkeyPatch) -> SinkTuning:
    """Short backoff, heartbeat and request timeout for every sender the tests build."""
    monkeypatch.setattr(sink_module, "DEFAULT_TUNING", FAST)
    return FAST


@pytest.fixture
async def peer(socket_enabled: None) -> AsyncIterator[IngestServer]:
    """The reference ingest server on 127.0.0.1."""
    async with IngestServer(TOKEN, hang_seconds=2.0) as server:
        yield server


@pytest.fixture
def buffer_size() -> int:
    """The configured buffer size; tests override it."""
    return 200


@pytest.fixture
def entry_options(peer: IngestServer, buffer_size: int) -> dict[str, Any]:
    """Stream to the peer."""
    return {
        CONF_EVENT_STREAM_ENABLED: True,
        CONF_INGEST_URL: peer.url,
        CONF_INGEST_TOKEN: TOKEN,
        CONF_EVENT_BUFFER_SIZE: buffer_size,
    }


def stream_of(entry: MockConfigEntry) -> EventStream:
    stream: EventStream = entry.runtime_data.events
    return stream


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``predicate`` in real time until it holds; fail after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def fire_config_changes(hass: HomeAssistant, count: int, start: int = 0) -> None:
    """Fire ``count`` room-config changes the way the rooms part does."""
    for index in range(start, start + count):
        hass.bus.async_fire(
            EVENT_CONFIG_CHANGED,
            {"domain": "activity", "room_id": f"room_{index}", "version": 1, "action": "created"},
        )
