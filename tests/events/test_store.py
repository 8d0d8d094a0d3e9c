"""The Store-backed buffer: device key, numbering across reloads and restarts, damaged documents."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from homeassistant import loader
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import orjson
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.roomdb.const import (
    CONF_EXPORT_PATH,
    CONF_MAPPING_PATH,
    DEFAULT_EXPORT_PATH,
    DEFAULT_MAPPING_PATH,
    DOMAIN,
)
from custom_components.roomdb.events.document import dump_stream, emit_event
from custom_components.roomdb.events.ring import EventRing
from custom_components.roomdb.events.sequence import SequenceAllocator
from custom_components.roomdb.events.store import (
    BROKEN_STORAGE_KEY,
    ISSUE_EVENT_BUFFER_RESET,
    STORAGE_KEY,
    EventBuffer,
    restore_document,
    salvage_floor,
)
from tests.peers.ingest_server import IngestServer

from .conftest import fire_config_changes, stream_of, wait_until


def stored(hass_storage: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = hass_storage[STORAGE_KEY]["data"]
    return document


def document(last_used: int, *, key: str = "k" * 32, clean: bool = True) -> dict[str, Any]:
    ring, allocator = EventRing(50), SequenceAllocator()
    for _ in range(last_used):
        emit_event(ring, allocator, "test", {}, timestamp="2026-01-01T00:00:00Z")
    return orjson.loads(
        orjson.dumps({"device_key": key, **dump_stream(ring, allocator, clean=clean)})
    )


# -- pure restore rules ---------------------------------------------------------------------------


def test_restore_first_start_makes_a_device_key() -> None:
    restored = restore_document(None, 10)
    assert len(restored.device_key) == 32
    assert restored.problem is None
    assert restored.stream.allocator.peek() == 1
    assert restore_document(None, 10).device_key != restored.device_key


def test_restore_keeps_key_and_numbering() -> None:
    restored = restore_document(document(7, clean=False), 5)
    assert restored.device_key == "k" * 32
    assert restored.problem is None
    assert restored.stream.allocator.peek() == 8
    assert len(restored.stream.ring) == 5  # the configured size wins


@pytest.mark.parametrize("key", [None, "", 42, "x" * 129, "bad\nkey"])
def test_restore_with_an_unusable_key_starts_a_new_stream(key: object) -> None:
    raw = {**document(7), "device_key": key}
    restored = restore_document(raw, 10)
    assert restored.device_key not in {key, "k" * 32}
    assert restored.problem == "the device key is missing or invalid"
    assert restored.stream.allocator.peek() == 1  # a new key: numbering from 1 is not a reuse


def test_restore_salvages_the_highest_number_of_a_damaged_stream() -> None:
    raw = document(7)
    raw["ring"]["events"][0]["timestamp"] = "yesterday"
    restored = restore_document(raw, 10)
    assert restored.device_key == "k" * 32
    assert restored.problem is not None
    assert "timestamp" in restored.problem
    assert restored.stream.allocator.peek() == 8
    assert len(restored.stream.ring) == 0


def test_restore_without_any_trustworthy_number_changes_the_key() -> None:
    raw = {"device_key": "k" * 32, "version": 1, "sequence": "?", "ring": []}
    restored = restore_document(raw, 10)
    assert restored.device_key != "k" * 32
    assert restored.stream.allocator.peek() == 1


def test_salvage_floor_reads_every_trace() -> None:
    assert salvage_floor({}) is None
    assert salvage_floor({"sequence": {"last_used": 4, "high_water": "x"}}) == 4
    assert salvage_floor({"ring": {"next_sequence": 10, "events": [{"sequence_number": 12}]}}) == 12
    assert salvage_floor({"ring": {"next_sequence": True, "events": ["x", {"a": 1}]}}) is None


# -- in a real Home Assistant ------------------------------------------------------------------


async def test_device_key_is_created_once_and_kept(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    key = stream_of(loaded_entry).buffer.device_key
    assert len(key) == 32
    assert stored(hass_storage)["device_key"] == key  # saved at once, before anything is sent
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert stream_of(loaded_entry).buffer.device_key == key


async def test_emit_numbers_consecutively_and_rejects_bad_input_without_a_hole(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    buffer = stream_of(loaded_entry).buffer
    assert buffer.async_emit("a", {}).sequence_number == 1
    with pytest.raises(ValueError):
        buffer.async_emit("", {})
    with pytest.raises(TypeError):
        buffer.async_emit("a", ["not", "a", "dict"])  # type: ignore[arg-type]
    assert buffer.async_emit("a", {"x": 1}).sequence_number == 2


async def test_unload_and_reload_mid_stream_keeps_numbering(
    hass: HomeAssistant, peer: IngestServer, loaded_entry: MockConfigEntry
) -> None:
    key = stream_of(loaded_entry).buffer.device_key
    fire_config_changes(hass, 5)
    await wait_until(lambda: stream_of(loaded_entry).stats().last_acked == 5)
    await peer.stop()
    fire_config_changes(hass, 4, start=5)  # 6..9 stay pending while the peer is down
    await wait_until(lambda: stream_of(loaded_entry).stats().state == "retrying")

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    fire_config_changes(hass, 3, start=100)  # not loaded: nothing is numbered
    await peer.start(peer.host, peer.port)
    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done()

    fire_config_changes(hass, 3, start=9)
    await wait_until(lambda: stream_of(loaded_entry).stats().last_acked == 12)
    assert stream_of(loaded_entry).buffer.device_key == key
    assert peer.sequences(key) == list(range(1, 13))
    assert [e["data"]["room_id"] for e in peer.events(key)] == [f"room_{i}" for i in range(12)]
    assert (peer.conflicts, peer.duplicates) == (0, 0)


@asynccontextmanager
async def restarted_home_assistant(config_dir: str) -> AsyncIterator[HomeAssistant]:
    """A second Home Assistant on the same config dir (and the same mocked .storage)."""
    async with async_test_home_assistant(config_dir=config_dir) as hass:
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)
        try:
            yield hass
        finally:
            for entry in hass.config_entries.async_entries(DOMAIN):
                await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_stop(force=True)


async def test_restart_with_the_same_storage_keeps_key_and_numbering(
    hass: HomeAssistant,
    peer: IngestServer,
    loaded_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    key = stream_of(loaded_entry).buffer.device_key
    fire_config_changes(hass, 5)
    await wait_until(lambda: stream_of(loaded_entry).stats().last_acked == 5)
    await peer.stop()
    fire_config_changes(hass, 3, start=5)  # 6..8 pending when Home Assistant stops
    await wait_until(lambda: stream_of(loaded_entry).stats().state == "retrying")

    await hass.async_stop()  # STOP, then the Store's final write
    document = stored(hass_storage)
    assert document["device_key"] == key
    assert document["sequence"] == {"last_used": 8, "high_water": 8, "clean": True}
    assert [e["sequence_number"] for e in document["ring"]["events"]] == list(range(1, 9))
    assert document["ring"]["last_acked"] == 5

    await peer.start(peer.host, peer.port)
    async with restarted_home_assistant(hass.config.config_dir) as second:
        entry = MockConfigEntry(
            domain=DOMAIN,
            data={CONF_MAPPING_PATH: DEFAULT_MAPPING_PATH, CONF_EXPORT_PATH: DEFAULT_EXPORT_PATH},
            options=entry_options,
        )
        entry.add_to_hass(second)
        assert await async_setup_component(second, DOMAIN, {})
        await second.async_block_till_done()
        assert stream_of(entry).buffer.device_key == key
        await wait_until(lambda: stream_of(entry).stats().last_acked == 8)
        fire_config_changes(second, 2, start=8)
        await wait_until(lambda: stream_of(entry).stats().last_acked == 10)

    assert peer.sequences(key) == list(range(1, 11))
    assert (peer.conflicts, peer.duplicates) == (0, 0)


async def test_final_write_is_clean_and_a_crash_resumes_above_every_sent_number(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    buffer = EventBuffer(hass, 10)
    await buffer.async_load()
    for _ in range(3):
        buffer.async_emit("a", {})
    await buffer.async_write_ahead(3)  # what the sender does before a POST
    assert stored(hass_storage)["sequence"] == {"last_used": 3, "high_water": 3, "clean": False}
    buffer.async_emit("a", {})
    buffer.async_mark_stopped()
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    assert stored(hass_storage)["sequence"]["clean"] is True

    # An unclean document (a crash after the write-ahead) resumes above what may have been sent.
    hass_storage[STORAGE_KEY]["data"] = document(3, clean=False)
    restarted = EventBuffer(hass, 10)
    await restarted.async_load()
    assert restarted.allocator.peek() == 4
    assert restarted.device_key == "k" * 32


async def test_a_damaged_document_raises_a_repair_issue_and_never_reuses_numbers(
    hass: HomeAssistant, hass_storage: dict[str, Any], issue_registry: ir.IssueRegistry
) -> None:
    raw = document(9)
    raw["ring"]["events"][2]["sequence_number"] = "three"
    hass_storage[STORAGE_KEY] = {"version": 1, "minor_version": 1, "key": STORAGE_KEY, "data": raw}
    buffer = EventBuffer(hass, 10)
    await buffer.async_load()

    assert buffer.device_key == "k" * 32
    assert buffer.async_emit("a", {}).sequence_number == 10
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE_EVENT_BUFFER_RESET)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["next"] == "10"
    assert hass_storage[BROKEN_STORAGE_KEY]["data"]["document"] == raw
    assert stored(hass_storage)["sequence"]["last_used"] == 9  # the repaired document is saved
