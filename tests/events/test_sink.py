"""The sender against the real reference peer, inside a real Home Assistant."""

from __future__ import annotations

import asyncio
from dataclasses import replace
import logging
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.const import DOMAIN
from custom_components.roomdb.events import sink as sink_module
from custom_components.roomdb.events.sink import (
    ISSUE_EVENT_STREAM_ERROR,
    SinkTuning,
    endpoint_for_logs,
)
from custom_components.roomdb.events.stats import EndpointState
from tests.conftest import listeners_besides_ha_pending_saves
from tests.peers.ingest_server import IngestServer

from .conftest import FAST, fire_config_changes, stream_of, wait_until

LOGGER_NAME = "custom_components.roomdb.events.sink"


def key_of(entry: MockConfigEntry) -> str:
    return stream_of(entry).buffer.device_key


async def test_delivers_in_order_with_the_wire_format(
    hass: HomeAssistant, peer: IngestServer, loaded_entry: MockConfigEntry
) -> None:
    fire_config_changes(hass, 45)
    key = key_of(loaded_entry)
    await wait_until(lambda: stream_of(loaded_entry).stats().last_acked == 45)

    assert peer.stream(key).arrivals == list(range(1, 46))
    first = peer.events(key)[0]
    assert first["device_key"] == key
    assert first["source_vendor"] == "home_assistant"
    assert first["event_type"] == "config_changed"
    assert first["timestamp"].endswith("Z")
    assert first["data"] == {
        "domain": "activity",
        "room_id": "room_0",
        "version": 1,
        "action": "created",
    }
    stats = stream_of(loaded_entry).stats()
    # Answered ok, but only a later POST can confirm them: pending until then.
    assert (stats.state, stats.last_acked, stats.last_confirmed, stats.pending) == ("ok", 45, 40, 5)
    assert stats.resent == 0
    await stream_of(loaded_entry).async_flush()  # confirms the tail with a heartbeat
    stats = stream_of(loaded_entry).stats()
    assert (stats.newest, stats.last_confirmed, stats.pending) == (46, 45, 0)
    assert peer.events(key)[-1]["event_type"] == "heartbeat"
    assert peer.duplicates == 0
    assert peer.gaps(key) == []


async def test_dropped_events_are_recovered_from_the_buffer(
    hass: HomeAssistant, peer: IngestServer, loaded_entry: MockConfigEntry
) -> None:
    key = key_of(loaded_entry)
    peer.drop_sequences({3, 7})
    fire_config_changes(hass, 10)
    await wait_until(lambda: peer.sequences(key) == list(range(1, 11)))
    await wait_until(lambda: stream_of(loaded_entry).stats().resent == 2)

    stats = stream_of(loaded_entry).stats()
    assert stats.unrecoverable == 0
    assert peer.dropped_events == 2
    assert peer.duplicates == 0
    latencies = peer.stream(key).recovery_latencies
    assert len(latencies) == 2
    assert max(latencies) < 1.0


@pytest.fixture
def heartbeat(monkeypatch: pytest.MonkeyPatch) -> SinkTuning:
    tuning = replace(FAST, heartbeat_interval=0.3)
    monkeypatch.setattr(sink_module, "DEFAULT_TUNING", tuning)
    return tuning


async def test_a_lost_tail_is_found_by_the_heartbeat(
    hass: HomeAssistant, heartbeat: SinkTuning, peer: IngestServer, loaded_entry: MockConfigEntry
) -> None:
    stream = stream_of(loaded_entry)
    key = key_of(loaded_entry)
    fire_config_changes(hass, 3)
    await wait_until(lambda: stream.stats().last_acked >= 3)
    peer.drop_next(1)  # the next POST is answered 200 but its event is lost
    fire_config_changes(hass, 1, start=3)
    lost = stream.buffer.ring.newest
    assert lost is not None
    await wait_until(lambda: stream.stats().last_acked == lost)
    assert lost not in peer.sequences(key)

    # After the idle interval a heartbeat follows; the peer reports the loss and it is resent.
    await wait_until(lambda: lost in peer.sequences(key))
    await wait_until(lambda: stream.stats().resent == 1)
    assert [e["data"]["room_id"] for e in peer.events(key) if e["event_type"] != "heartbeat"] == [
        "room_0",
        "room_1",
        "room_2",
        "room_3",
    ]

    # The resend needs confirmation too: one more heartbeat gives it, then the stream stays
    # silent while idle.
    await wait_until(lambda: stream.buffer.ring.newest == lost + 2)
    await wait_until(lambda: stream.stats().pending == 0)
    posts = peer.posts
    await asyncio.sleep(3 * heartbeat.heartbeat_interval)
    assert peer.posts == posts
    assert peer.gaps(key) == []
    assert peer.sequences(key) == list(range(1, lost + 3))


@pytest.mark.parametrize("buffer_size", [10])
async def test_gaps_older_than_the_buffer_are_unrecoverable_not_retried(
    hass: HomeAssistant,
    peer: IngestServer,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = stream_of(loaded_entry)
    key = key_of(loaded_entry)
    await peer.stop()
    fire_config_changes(hass, 25)
    await wait_until(lambda: stream.stats().state == EndpointState.RETRYING)
    stats = stream.stats()
    assert (stats.buffered, stats.oldest, stats.newest, stats.overflowed) == (10, 16, 25, 15)

    await peer.start(peer.host, peer.port)
    await stream.async_flush()
    await wait_until(lambda: stream.stats().unrecoverable == 15)
    assert peer.sequences(key) == list(range(16, 27))  # 26: the flush's heartbeat
    assert peer.gaps(key) == list(range(1, 16))
    assert (
        "misses 15 events that are no longer buffered or were resent too often (1-15)"
        in caplog.text
    )

    # The peer keeps reporting 1..15 with every answer: counted once, never resent.
    posts = peer.posts
    fire_config_changes(hass, 3, start=25)
    await wait_until(lambda: peer.sequences(key)[-1] == 29)
    stats = stream.stats()
    assert stats.unrecoverable == 15
    assert stats.resent == 0
    assert peer.posts - posts <= 3
    assert caplog.text.count("no longer buffered") == 1


async def test_outage_then_recovery_delivers_everything_exactly_once(
    hass: HomeAssistant,
    peer: IngestServer,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = stream_of(loaded_entry)
    key = key_of(loaded_entry)
    fire_config_changes(hass, 5)
    await wait_until(lambda: len(peer.sequences(key)) == 5)

    caplog.set_level(logging.INFO, LOGGER_NAME)
    await peer.stop()
    fire_config_changes(hass, 30, start=5)
    await wait_until(lambda: stream.stats().state == EndpointState.RETRYING)
    await asyncio.sleep(0.5)  # several backoff rounds while down
    fire_config_changes(hass, 10, start=35)
    stats = stream.stats()
    assert stats.pending == 45  # 40 never answered, 5 answered but not confirmed yet
    assert stats.last_error is not None
    await peer.start(peer.host, peer.port)

    await wait_until(lambda: stream.stats().last_acked == 45)
    await stream.async_flush()
    assert (stream.stats().state, stream.stats().pending) == (EndpointState.OK, 0)
    assert peer.sequences(key) == list(range(1, 47))  # and the flush's heartbeat
    assert peer.duplicates == 0
    assert peer.conflicts == 0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    infos = [r for r in caplog.records if "reachable again" in r.getMessage()]
    assert len(warnings) == 1
    assert "is unavailable" in warnings[0].getMessage()
    assert len(infos) == 1


@pytest.mark.parametrize("mode", ["500", "html", "429", "timeout"])
async def test_retryable_answers_back_off_and_recover(
    hass: HomeAssistant, peer: IngestServer, loaded_entry: MockConfigEntry, mode: Any
) -> None:
    stream = stream_of(loaded_entry)
    key = key_of(loaded_entry)
    peer.fail_next(1, mode=mode)
    fire_config_changes(hass, 4)
    await wait_until(lambda: stream.stats().last_acked == 4, timeout=8)
    assert peer.sequences(key) == [1, 2, 3, 4]
    assert stream.stats().state == EndpointState.OK
    assert stream.stats().last_error is None
    assert peer.failed == 1
    assert peer.duplicates == 0


async def test_bad_token_stops_sending_until_the_options_change(
    hass: HomeAssistant,
    peer: IngestServer,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = stream_of(loaded_entry)
    key = key_of(loaded_entry)
    peer.token = "rotated"
    fire_config_changes(hass, 3)
    await wait_until(lambda: stream.stats().state == EndpointState.ERROR)
    stats = stream.stats()
    assert stats.last_error == "HTTP 401: authentication rejected (check the token)"
    assert stats.pending == 3
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_EVENT_STREAM_ERROR) is not None
    assert caplog.text.count("refused the events") == 1

    posts = peer.posts
    fire_config_changes(hass, 2, start=3)
    await asyncio.sleep(0.3)
    assert peer.posts == posts  # new events wait in the buffer
    assert stream.stats().pending == 5

    # A flush tries once more; still refused, still one log line.
    response = await hass.services.async_call(
        DOMAIN, "flush_events", {}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["state"] == "error"
    assert peer.posts == posts + 1
    assert caplog.text.count("refused the events") == 1

    # The token is fixed on the peer side: a flush resumes the stream and clears the issue.
    peer.token = "peer-token"
    response = await hass.services.async_call(
        DOMAIN, "flush_events", {}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["state"] == "ok"
    assert peer.sequences(key) == [1, 2, 3, 4, 5, 6]  # 6: the heartbeat confirming 1..5
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_EVENT_STREAM_ERROR) is None


def test_log_helpers() -> None:
    assert endpoint_for_logs("https://user:pw@core.example/ingest?key=1#x") == (
        "https://core.example/ingest"
    )
    assert endpoint_for_logs("http://[::1") == "<invalid URL>"


def gap_entry(key: str, numbers: Any, **extra: Any) -> dict[str, Any]:
    return {
        "device_key": key,
        "source_vendor": "home_assistant",
        "missing_sequences": numbers,
        **extra,
    }


async def test_malformed_gap_reports_are_rejected_safely(
    hass: HomeAssistant,
    peer: IngestServer,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = stream_of(loaded_entry)
    key = key_of(loaded_entry)
    malformed: list[Any] = [
        [gap_entry(key, ["1"])],  # strings
        [gap_entry(key, [1.5])],  # floats
        [gap_entry(key, [True])],  # booleans
        [gap_entry(key, [-3, 0])],  # negative / zero
        [gap_entry(key, [2**63])],  # beyond a 64-bit sequence
        [gap_entry(key, list(range(1, 20_002)))],  # a huge list
        [gap_entry(key, {"1": 1})],  # wrong container
        [gap_entry(key, None)],
        "not a list",
        [42, "entry"],  # entries that are not objects
        [{"missing_sequences": [1]}],  # no device key / vendor
    ]
    for sent, gaps in enumerate(malformed, start=1):
        peer.respond_next({"ok": True, "gaps": gaps})
        fire_config_changes(hass, 1, start=sent)
        await wait_until(lambda sent=sent: stream.stats().last_acked == sent)
        stats = stream.stats()
        assert stats.state == EndpointState.OK
        assert stats.last_error is not None
        assert stats.last_error.startswith("malformed gap report ignored"), stats.last_error
        assert (stats.resent, stats.unrecoverable) == (0, 0)
    warned = [r for r in caplog.records if "stored the batch but" in r.getMessage()]
    assert [r.levelno for r in warned] == [logging.WARNING] + [logging.DEBUG] * 10

    # Well-formed reports that are not ours to act on: another installation, other vendor,
    # numbers this installation never emitted.
    for gaps in (
        [gap_entry("another-installation", [1, 2])],
        [{**gap_entry(key, [1]), "source_vendor": "other_vendor"}],
        [gap_entry(key, [10_000])],
    ):
        sent += 1
        peer.respond_next({"ok": True, "gaps": gaps})
        fire_config_changes(hass, 1, start=sent)
        await wait_until(lambda sent=sent: stream.stats().last_acked == sent)
        assert stream.stats().last_error is None
    stats = stream.stats()
    assert (stats.resent, stats.unrecoverable, stats.pending) == (0, 0, 1)  # the tail awaits
    assert peer.sequences(key) == list(range(1, sent + 1))
    assert peer.duplicates == 0


async def test_a_peer_reporting_a_gap_forever_gets_bounded_resends(
    hass: HomeAssistant, peer: IngestServer, loaded_entry: MockConfigEntry
) -> None:
    stream = stream_of(loaded_entry)
    key = key_of(loaded_entry)
    fire_config_changes(hass, 2)
    await wait_until(lambda: stream.stats().last_acked == 2)
    for _ in range(15):  # a broken peer that claims 1 is missing after every POST
        peer.respond_next({"ok": True, "gaps": [gap_entry(key, [1])]})
    fire_config_changes(hass, 1, start=2)
    await wait_until(lambda: stream.stats().unrecoverable == 1)
    stats = stream.stats()
    assert stats.resent == 10  # MAX_RESEND_ATTEMPTS, then given up
    assert stats.state == EndpointState.OK
    assert peer.duplicates == 10


async def test_flush_events_returns_the_buffer_figures(
    hass: HomeAssistant, peer: IngestServer, loaded_entry: MockConfigEntry
) -> None:
    stream = stream_of(loaded_entry)
    await peer.stop()
    fire_config_changes(hass, 3)
    await wait_until(lambda: stream.stats().state == EndpointState.RETRYING)
    response = await hass.services.async_call(
        DOMAIN, "flush_events", {}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["state"] == "retrying"
    assert response["pending"] == 3
    assert "Cannot connect" in str(response["last_error"])

    await peer.start(peer.host, peer.port)
    response = await hass.services.async_call(
        DOMAIN, "flush_events", {}, blocking=True, return_response=True
    )
    assert response == {
        "state": "ok",
        "last_error": None,
        "capacity": 200,
        "buffered": 4,
        "oldest": 1,
        "newest": 4,  # the heartbeat that confirms 1..3
        "last_sent": 4,
        "last_acked": 4,
        "last_confirmed": 3,
        "pending": 0,
        "overflowed": 0,
        "resent": 0,
        "unrecoverable": 0,
        "awaiting_resend": 0,
        "peer_missing": [],
        "disagreement": [],
    }
    assert peer.sequences(key_of(loaded_entry)) == [1, 2, 3, 4]


async def test_flush_events_needs_a_loaded_entry(hass: HomeAssistant) -> None:
    from homeassistant.exceptions import ServiceValidationError
    from homeassistant.setup import async_setup_component

    assert await async_setup_component(hass, DOMAIN, {})
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "flush_events", {}, blocking=True, return_response=True
        )
    assert err.value.translation_key == "not_loaded"


async def test_unload_leaves_no_listener_or_task(
    hass: HomeAssistant, peer: IngestServer, mock_entry: MockConfigEntry
) -> None:
    mock_entry.add_to_hass(hass)
    # A first cycle loads what RoomDB depends on (http, sensor) with their own listeners.
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    assert await hass.config_entries.async_unload(mock_entry.entry_id)
    await hass.async_block_till_done()
    listeners = listeners_besides_ha_pending_saves(hass)

    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()
    stream = stream_of(mock_entry)
    fire_config_changes(hass, 3)
    await wait_until(lambda: stream.stats().last_acked == 3)
    task = stream.sink._task
    assert task is not None
    stream.sink.async_start()  # idempotent
    stream.forwarder.async_start()
    assert stream.sink._task is task
    assert await hass.config_entries.async_unload(mock_entry.entry_id)
    await hass.async_block_till_done()

    assert task.done()
    assert stream.sink._task is None
    assert stream.buffer._store._delay_handle is None
    assert listeners_besides_ha_pending_saves(hass) == listeners


async def test_switching_the_stream_off_clears_the_error_issue(
    hass: HomeAssistant,
    peer: IngestServer,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    peer.token = "rotated"
    fire_config_changes(hass, 1)
    await wait_until(lambda: stream_of(loaded_entry).stats().state == EndpointState.ERROR)
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_EVENT_STREAM_ERROR) is not None

    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, "event_stream_enabled": False}
    )
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert stream_of(loaded_entry).stats().state == EndpointState.DISABLED
    assert stream_of(loaded_entry).stats().pending == 1  # kept for when it is switched on again
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_EVENT_STREAM_ERROR) is None
