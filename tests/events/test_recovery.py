"""Hostile peers and hard stops, through the public contract: nothing reused, nothing lost.

A hard stop is modelled in-process as what SIGKILL leaves behind: the Store document as it was last
written (HA's Store is made read-only first, so no final write happens) and the SQLite file with
what was committed. ``tests/proof/test_crash_safety.py`` does the same with real SIGKILLs.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.const import DOMAIN
from custom_components.roomdb.events.runtime import EventStream
from custom_components.roomdb.events.store import ISSUE_EVENT_BUFFER_RESET, STORAGE_KEY
from tests.peers.ingest_server import IngestServer

from .conftest import stream_of, wait_until

MAPPING = """\
version: "3.1"
rooms:
  kitchen: {name: Kitchen, capabilities: [motion_lighting, activity]}
  hall: {name: Hall, capabilities: [motion_lighting, activity]}
"""


@pytest.fixture
def entry_options(entry_options: dict[str, Any]) -> dict[str, Any]:
    """Stream to the peer; no write limiter (the tests write the same keys repeatedly)."""
    return {**entry_options, "write_interval": 0}


@pytest.fixture
async def mapped_entry(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> MockConfigEntry:
    """A loaded entry with two rooms mapped."""
    path = Path(hass.config.config_dir) / "roomdb" / "area_mapping.yaml"
    await hass.async_add_executor_job(lambda: path.parent.mkdir(parents=True, exist_ok=True))
    await hass.async_add_executor_job(path.write_text, MAPPING)
    await loaded_entry.runtime_data.rooms.mapping.async_reload()
    return loaded_entry


async def update(hass: HomeAssistant, room: str, n: int) -> int:
    response = await hass.services.async_call(
        DOMAIN,
        "update_config",
        {"domain": "motion_lighting", "room_id": room, "config_data": {"n": n}},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    return int(response["version"])


async def restart_and_settle(hass: HomeAssistant, entry: MockConfigEntry) -> EventStream:
    """Set the entry up again and wait until the peer confirmed everything pending."""
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    stream = stream_of(entry)
    await stream.async_flush()
    await wait_until(lambda: stream.stats().pending == 0)
    return stream


async def hard_stop(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Unload like a SIGKILL would leave it: no further Store write, only committed SQL."""
    stream = stream_of(entry)
    stream.buffer._store.make_read_only()
    stream.buffer.on_saved = None
    stream.sink._session = None  # type: ignore[assignment]  # nothing more leaves the process
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


def config_events(peer: IngestServer, key: str) -> dict[int, tuple[str, int, str]]:
    """The peer's config_changed events: sequence -> (room, version, action)."""
    return {
        event["sequence_number"]: (
            event["data"]["room_id"],
            event["data"]["version"],
            event["data"]["action"],
        )
        for event in peer.events(key)
        if event["event_type"] == "config_changed"
    }


async def test_a_gap_report_for_numbers_never_sent_is_ignored_and_nothing_is_reused(
    hass: HomeAssistant,
    peer: IngestServer,
    mapped_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = stream_of(mapped_entry)
    key = stream.buffer.device_key
    await update(hass, "kitchen", 1)
    await wait_until(lambda: stream.stats().last_acked == 1)
    # SIGKILL the moment 3 reaches the peer: what is on disk then is all that survives.
    on_disk: list[Any] = []
    store_events = peer._store

    def store_and_watch(events: list[dict[str, Any]]) -> None:
        store_events(events)
        if not on_disk and any(e["sequence_number"] == 3 for e in events):
            on_disk.append(copy.deepcopy(hass_storage[STORAGE_KEY]))

    monkeypatch.setattr(peer, "_store", store_and_watch)
    peer.delay(0.3)
    await update(hass, "kitchen", 2)  # 2 is in flight for 0.3 s
    await wait_until(lambda: stream.stats().last_sent == 2)
    for n in (3, 4, 5):  # 3..5 numbered while 2 is in flight: not sent yet
        await update(hass, "hall", n)
    # The answer to the POST of 2 claims 3..5 are missing, though they were never sent.
    peer.respond_next({"ok": True, "gaps": [gap(key, [3, 4, 5])]})
    await wait_until(lambda: bool(on_disk))
    peer.delay(0)
    await hard_stop(hass, mapped_entry)
    hass_storage[STORAGE_KEY] = on_disk[0]
    await restart_and_settle(hass, mapped_entry)
    for n in (6, 7, 8):
        await update(hass, "kitchen", n)
    stream = stream_of(mapped_entry)
    await stream.async_flush()
    await wait_until(lambda: stream.stats().pending == 0)
    assert peer.conflicts == 0, "a number was given to two different events"
    assert "were never sent" in caplog.text


def gap(key: str, numbers: list[int]) -> dict[str, Any]:
    return {"device_key": key, "source_vendor": "home_assistant", "missing_sequences": numbers}


async def test_every_committed_change_has_its_event_after_a_hard_stop(
    hass: HomeAssistant,
    peer: IngestServer,
    mapped_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    stream = stream_of(mapped_entry)
    key = stream.buffer.device_key
    await update(hass, "kitchen", 1)
    await wait_until(lambda: stream.stats().last_acked == 1)
    await peer.stop()  # the endpoint is down: the next changes are numbered in memory only
    committed = [await update(hass, room, 10 + n) for n, room in enumerate(["hall", "kitchen"] * 3)]
    assert committed == [1, 2, 2, 3, 3, 4]
    await hard_stop(hass, mapped_entry)  # within the Store's 5 s save delay

    await peer.start(peer.host, peer.port)
    stream = await restart_and_settle(hass, mapped_entry)
    seen = sorted((room, version) for room, version, _ in config_events(peer, key).values())
    assert seen == sorted([("kitchen", v) for v in (1, 2, 3, 4)] + [("hall", v) for v in (1, 2, 3)])
    assert peer.conflicts == 0
    await stream.buffer.async_save()
    await mapped_entry.runtime_data.database.flush()
    rows = await mapped_entry.runtime_data.database.fetchall(
        "SELECT COUNT(*) FROM config_change_log"
    )
    assert rows[0][0] == 0  # the journal empties once the saved buffer covers it


async def test_a_deleted_change_journals_too(
    hass: HomeAssistant, peer: IngestServer, mapped_entry: MockConfigEntry
) -> None:
    stream = stream_of(mapped_entry)
    key = stream.buffer.device_key
    await update(hass, "kitchen", 1)
    await peer.stop()
    await hass.services.async_call(
        DOMAIN,
        "delete_config",
        {"domain": "motion_lighting", "room_id": "kitchen"},
        blocking=True,
        return_response=True,
    )
    await hard_stop(hass, mapped_entry)
    await peer.start(peer.host, peer.port)
    await restart_and_settle(hass, mapped_entry)
    actions = [action for _, _, action in config_events(peer, key).values()]
    assert actions == ["created", "deleted"]


@pytest.mark.parametrize("corrupt", [False, True])
async def test_a_lost_or_unreadable_buffer_keeps_the_stream_and_says_so(
    hass: HomeAssistant,
    peer: IngestServer,
    mapped_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    issue_registry: ir.IssueRegistry,
    corrupt: bool,
) -> None:
    stream = stream_of(mapped_entry)
    key = stream.buffer.device_key
    for n in range(1, 6):
        await update(hass, "kitchen", n)
    await wait_until(lambda: stream.stats().last_acked == 5)
    assert await hass.config_entries.async_unload(mapped_entry.entry_id)
    # What HA's Store does with a document that is not JSON: rename it aside, load nothing.
    del hass_storage[STORAGE_KEY]
    storage = Path(hass.config.config_dir) / ".storage"
    if corrupt:
        renamed = storage / f"{STORAGE_KEY}.corrupt.2026-12-06T12:00:00.000000+00:00"
        await hass.async_add_executor_job(lambda: storage.mkdir(exist_ok=True))
        await hass.async_add_executor_job(renamed.write_text, "{garbage")

    assert await hass.config_entries.async_setup(mapped_entry.entry_id)
    await hass.async_block_till_done()
    stream = stream_of(mapped_entry)
    assert stream.buffer.device_key == key
    await update(hass, "hall", 1)
    await wait_until(lambda: stream.stats().last_acked == 6)
    assert peer.sequences(key) == list(range(1, 7))
    assert peer.conflicts == 0
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE_EVENT_BUFFER_RESET)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["next"] == "6"
    if corrupt:
        assert issue.translation_placeholders["kept_as"] == renamed.name
        assert "unreadable" in issue.translation_placeholders["reason"]
    else:
        assert "missing" in issue.translation_placeholders["reason"]
