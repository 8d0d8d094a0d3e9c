"""Tests for the reference ingest server, and for the pure client pieces against it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import os
from pathlib import Path
import signal
import socket
import sys
import time
from typing import Any

import aiohttp
import pytest

from custom_components.roomdb.backoff import Backoff
from custom_components.roomdb.events.document import emit_event
from custom_components.roomdb.events.ring import EventRing
from custom_components.roomdb.events.sequence import SequenceAllocator
from custom_components.roomdb.events.wire import (
    build_ingest_body,
    parse_ingest_response,
    transport_failure,
)
from tests.peers.ingest_server import HTML_PAGE, IngestServer

TOKEN = "secret-token"
KEY = "roomdb-test-device"
TS = "2026-01-01T00:00:00Z"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def wire_event(seq: int, key: str = KEY, **data: Any) -> dict[str, Any]:
    return {
        "sequence_number": seq,
        "device_key": key,
        "source_vendor": "home_assistant",
        "event_type": "test",
        "timestamp": TS,
        "data": data,
    }


def batch(*seqs: int, key: str = KEY) -> dict[str, Any]:
    return {"events": [wire_event(seq, key) for seq in seqs]}


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[IngestServer]:
    async with IngestServer(TOKEN, hang_seconds=5.0) as peer:
        yield peer


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as client:
        yield client


async def post(
    session: aiohttp.ClientSession, server: IngestServer, body: Any, token: str | None = TOKEN
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.post(server.url, json=body, headers=headers) as resp:
        text = await resp.text()
        try:
            return resp.status, await resp.json(content_type=None)
        except ValueError:
            return resp.status, text


# -- the server on its own ---------------------------------------------------------------------


async def test_binds_loopback_and_reports_health(
    server: IngestServer, session: aiohttp.ClientSession
) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert server.port > 0
    async with session.get(f"{server.base_url}/health") as resp:
        assert resp.status == 200
        health = await resp.json()
    assert health["ok"] is True
    assert health["posts"] == 0


async def test_requires_the_bearer_token(
    server: IngestServer, session: aiohttp.ClientSession
) -> None:
    for token in (None, "wrong", TOKEN + "x"):
        status, body = await post(session, server, batch(1), token=token)
        assert status == 401
        assert body["ok"] is False
    async with session.post(server.url, json=batch(1), headers={"Authorization": TOKEN}) as resp:
        assert resp.status == 401  # no scheme
    async with session.get(f"{server.base_url}/events", params={"device_key": KEY}) as resp:
        assert resp.status == 401
    assert server.sequences(KEY) == []
    assert server.unauthorized == 5


async def test_stores_in_order_and_serves_events(
    server: IngestServer, session: aiohttp.ClientSession
) -> None:
    for seqs in ((1, 2, 3), (4,), (5, 6)):
        status, body = await post(session, server, batch(*seqs))
        assert status == 200
        assert body == {"ok": True, "gaps": []}
    assert server.sequences(KEY) == [1, 2, 3, 4, 5, 6]
    assert server.stream(KEY).arrivals == [1, 2, 3, 4, 5, 6]
    async with session.get(
        f"{server.base_url}/events", params={"device_key": KEY, "after": "4"}, headers=AUTH
    ) as resp:
        served = await resp.json()
    assert [e["sequence_number"] for e in served["events"]] == [5, 6]
    assert served["max_seen"] == 6
    assert served["gaps"] == []
    assert server.stats()["stored"] == 6


async def test_dedupes_and_counts_conflicting_reuse(
    server: IngestServer, session: aiohttp.ClientSession
) -> None:
    await post(session, server, batch(1, 2))
    await post(session, server, batch(2, 3))
    assert (server.stored, server.duplicates, server.conflicts) == (3, 1, 0)
    reused = {"events": [wire_event(3, other="payload")]}
    await post(session, server, reused)
    assert (server.duplicates, server.conflicts) == (2, 1)
    assert server.stream(KEY).conflicts == [3]
    assert server.events(KEY)[2]["data"] == {}  # the first copy wins


async def test_detects_gaps_per_device(
    server: IngestServer, session: aiohttp.ClientSession
) -> None:
    _, body = await post(session, server, batch(1, 2, 5))
    assert body["gaps"] == [
        {"device_key": KEY, "source_vendor": "home_assistant", "missing_sequences": [3, 4]}
    ]
    _, body = await post(session, server, batch(1, 3, key="other"))
    assert body["gaps"] == [
        {"device_key": "other", "source_vendor": "home_assistant", "missing_sequences": [2]}
    ]
    _, body = await post(session, server, batch(3))
    assert body["gaps"][0]["missing_sequences"] == [4]
    _, body = await post(session, server, batch(4))
    assert body["gaps"] == []
    assert server.gaps(KEY) == []
    assert server.gaps("other") == [2]
    assert server.streams() == [("other", "home_assistant"), (KEY, "home_assistant")]


async def test_report_all_devices_and_gap_bound(session: aiohttp.ClientSession) -> None:
    async with IngestServer(TOKEN, report_all_devices=True, max_gaps_per_report=3) as peer:
        await post(session, peer, batch(10, key="other"))
        _, body = await post(session, peer, batch(1))
        assert body["gaps"] == [
            {
                "device_key": "other",
                "source_vendor": "home_assistant",
                "missing_sequences": [7, 8, 9],
            }
        ]


async def test_drop_sequences_loses_once_and_reports_the_gap(
    server: IngestServer, session: aiohttp.ClientSession
) -> None:
    server.drop_sequences({2, 4})
    status, body = await post(session, server, batch(1, 2, 3, 4, 5))
    assert status == 200
    assert body["gaps"][0]["missing_sequences"] == [2, 4]
    assert server.dropped_events == 2
    _, body = await post(session, server, batch(2, 4))  # the resend is stored
    assert body["gaps"] == []
    assert server.sequences(KEY) == [1, 2, 3, 4, 5]
    latencies = server.stream(KEY).recovery_latencies
    assert len(latencies) == 2
    assert all(0 <= lat < 5 for lat in latencies)


async def test_drop_sequences_for_one_device_only(
    server: IngestServer, session: aiohttp.ClientSession
) -> None:
    server.drop_sequences([1], device_key="other")
    await post(session, server, batch(1))
    await post(session, server, batch(1, key="other"))
    assert server.sequences(KEY) == [1]
    assert server.sequences("other") == []


async def test_drop_next_events(server: IngestServer, session: aiohttp.ClientSession) -> None:
    server.drop_next(2)
    _, body = await post(session, server, batch(1, 2, 3))
    assert body["gaps"][0]["missing_sequences"] == [1, 2]
    await post(session, server, batch(4))
    assert server.sequences(KEY) == [3, 4]


async def test_drop_probability_is_seeded(session: aiohttp.ClientSession) -> None:
    outcomes = []
    for _ in range(2):
        async with IngestServer(TOKEN) as peer:
            peer.drop_probability(0.3, seed=42)
            for seq in range(1, 41):
                await post(session, peer, batch(seq))
            outcomes.append(peer.sequences(KEY))
            assert peer.dropped_posts == 40 - len(peer.sequences(KEY))
    assert outcomes[0] == outcomes[1]
    assert 15 < len(outcomes[0]) < 40
    with pytest.raises(ValueError, match="probability"):
        IngestServer().drop_probability(1.5)


async def test_drop_probability_one_drops_everything(
    server: IngestServer, session: aiohttp.ClientSession
) -> None:
    server.drop_probability(1.0)
    status, body = await post(session, server, batch(1, 2))
    assert (status, body) == (200, {"ok": True, "gaps": []})
    assert server.sequences(KEY) == []
    assert (server.dropped_posts, server.dropped_events) == (1, 2)


async def test_delay(server: IngestServer, session: aiohttp.ClientSession) -> None:
    server.delay(0.3)
    start = time.monotonic()
    status, _ = await post(session, server, batch(1))
    assert status == 200
    assert time.monotonic() - start >= 0.3
    server.delay(0)
    start = time.monotonic()
    await post(session, server, batch(2))
    assert time.monotonic() - start < 0.3


@pytest.mark.parametrize(
    ("mode", "status", "content_type"),
    [
        ("500", 500, "application/json"),
        ("429", 429, "application/json"),
        ("html", 200, "text/html"),
    ],
)
async def test_fail_next_stores_nothing(
    server: IngestServer,
    session: aiohttp.ClientSession,
    mode: Any,
    status: int,
    content_type: str,
) -> None:
    server.fail_next(2, mode=mode)
    for _ in range(2):
        async with session.post(server.url, json=batch(1), headers=AUTH) as resp:
            assert resp.status == status
            assert resp.content_type == content_type
            text = await resp.text()
            if mode == "429":
                assert resp.headers["Retry-After"] == "1"
            if mode == "html":
                assert text == HTML_PAGE
        result = parse_ingest_response(resp.status, content_type, text, KEY)
        assert result.retryable
        assert not result.ok
    assert server.sequences(KEY) == []
    assert server.failed == 2
    status_after, _ = await post(session, server, batch(1))
    assert status_after == 200
    assert server.sequences(KEY) == [1]
    with pytest.raises(ValueError, match="fail mode"):
        server.fail_next(1, mode="teapot")  # type: ignore[arg-type]


async def test_fail_timeout_holds_until_the_client_gives_up(
    server: IngestServer, session: aiohttp.ClientSession
) -> None:
    server.fail_next(1, mode="timeout")
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        async with session.post(
            server.url, json=batch(1), headers=AUTH, timeout=aiohttp.ClientTimeout(total=0.3)
        ):
            pass
    assert time.monotonic() - start < 2
    assert server.sequences(KEY) == []
    stop_started = time.monotonic()
    await server.stop()  # releases the held request instead of waiting hang_seconds
    assert time.monotonic() - stop_started < 3


async def test_restart_keeps_or_forgets(
    server: IngestServer, session: aiohttp.ClientSession
) -> None:
    await post(session, server, batch(1, 2))
    port = server.port
    await server.restart()
    assert server.port == port
    assert server.sequences(KEY) == [1, 2]
    _, body = await post(session, server, batch(3))
    assert body["gaps"] == []
    await server.restart(forget=True)
    assert server.sequences(KEY) == []
    _, body = await post(session, server, batch(5))
    assert body["gaps"][0]["missing_sequences"] == [1, 2, 3, 4]


async def test_unreachable_while_down(server: IngestServer, session: aiohttp.ClientSession) -> None:
    await server.stop()
    assert not server.running
    with pytest.raises(aiohttp.ClientConnectionError):
        await post(session, server, batch(1))
    await server.start(server.host, server.port)
    status, _ = await post(session, server, batch(1))
    assert status == 200
    with pytest.raises(RuntimeError, match="already running"):
        await server.start()


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        [],
        {},
        {"events": {}},
        {"events": [1]},
        {"events": [wire_event(1), {**wire_event(2), "sequence_number": True}]},
        {"events": [{**wire_event(1), "sequence_number": -1}]},
        {"events": [{**wire_event(1), "sequence_number": "1"}]},
        {"events": [{**wire_event(1), "device_key": ""}]},
        {"events": [{**wire_event(1), "data": []}]},
        {"events": [{k: v for k, v in wire_event(1).items() if k != "timestamp"}]},
    ],
)
async def test_rejects_malformed_bodies_atomically(
    server: IngestServer, session: aiohttp.ClientSession, body: Any
) -> None:
    data = body if isinstance(body, str) else None
    async with session.post(
        server.url, json=None if data else body, data=data, headers=AUTH
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["ok"] is False
    assert server.sequences(KEY) == []
    assert server.bad_requests == 1


async def test_empty_batch_is_a_connection_test(
    server: IngestServer, session: aiohttp.ClientSession
) -> None:
    status, body = await post(session, server, {"events": []})
    assert (status, body) == (200, {"ok": True, "gaps": []})


async def test_respond_next_scripts_answers(
    server: IngestServer, session: aiohttp.ClientSession
) -> None:
    server.respond_next({"ok": True, "gaps": [{"device_key": KEY, "missing_sequences": "x"}]})
    server.respond_next("<html>", status=502, content_type="text/html", store=False)
    _, body = await post(session, server, batch(1))
    assert body["gaps"][0]["missing_sequences"] == "x"
    status, _ = await post(session, server, batch(2))
    assert status == 502
    assert server.sequences(KEY) == [1]
    server.respond_next({"ok": True})
    server.clear_faults()
    _, body = await post(session, server, batch(3))
    assert body == {
        "ok": True,
        "gaps": [{"device_key": KEY, "source_vendor": "home_assistant", "missing_sequences": [2]}],
    }


async def test_command_line_entry_point(socket_enabled: None) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = Path(__file__).resolve().parents[2]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.peers.ingest_server",
        "--port",
        str(port),
        "--token",
        "demo",
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with aiohttp.ClientSession() as client:
            for _ in range(100):
                with contextlib.suppress(aiohttp.ClientConnectionError):
                    async with client.get(f"http://127.0.0.1:{port}/health") as resp:
                        if resp.status == 200:
                            break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("the server did not come up")
            async with client.post(
                f"http://127.0.0.1:{port}/ingest",
                json=batch(1, 3),
                headers={"Authorization": "Bearer demo"},
            ) as resp:
                assert (await resp.json())["gaps"][0]["missing_sequences"] == [2]
        proc.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(proc.communicate(), 10)
        assert proc.returncode == 0, stderr.decode()
        assert b"reference ingest server" in stderr
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


# -- the pure client pieces against the real peer -----------------------------------------------


class MiniSender:
    """A test-only sender built from ring + wire + backoff (the HA glue's sink is richer)."""

    def __init__(
        self, session: aiohttp.ClientSession, url: str, *, capacity: int = 200, token: str = TOKEN
    ) -> None:
        self.session = session
        self.url = url
        self.token = token
        self.ring = EventRing(capacity)
        self.allocator = SequenceAllocator()
        self.backoff = Backoff(base=0.01, cap=0.05, rng=lambda: 0.5)
        self.errors: list[str] = []

    def emit(self, count: int) -> None:
        for _ in range(count):
            emit_event(self.ring, self.allocator, "test", {"n": self.allocator.peek()})

    async def _post(self, events: list[Any]) -> Any:
        body = build_ingest_body(events, KEY)
        try:
            async with self.session.post(
                self.url,
                json=body,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=aiohttp.ClientTimeout(total=0.5),
            ) as resp:
                text = await resp.text()
                return parse_ingest_response(resp.status, resp.content_type, text, KEY)
        except (aiohttp.ClientError, TimeoutError) as err:
            return transport_failure(type(err).__name__)

    async def flush(self, *, batch_size: int = 50, max_rounds: int = 200) -> None:
        """Send until nothing is pending and no gap is left to resend (bounded)."""
        for _ in range(max_rounds):
            events = self.ring.next_batch(batch_size)
            if not events:
                return
            self.ring.mark_sent(events)
            self.allocator.confirm(self.allocator.reserve())  # stands in for the Store write
            result = await self._post(events)
            if not result.ok:
                self.errors.append(result.error or "")
                if not result.retryable:
                    return
                await asyncio.sleep(self.backoff.next_delay(result.retry_after))
                continue
            self.backoff.reset()
            self.ring.record_stored(events, result.gaps)
        pytest.fail("flush did not settle")


async def test_client_pieces_recover_drops_and_survive_outages(
    server: IngestServer, session: aiohttp.ClientSession
) -> None:
    sender = MiniSender(session, server.url)
    sender.emit(30)
    server.drop_sequences({3, 17})
    await sender.flush(batch_size=10)
    assert server.sequences(KEY) == list(range(1, 31))
    assert sender.ring.resent == 2

    sender.emit(20)
    server.fail_next(2, mode="500")
    await sender.flush(batch_size=10)
    server.fail_next(1, mode="html")
    sender.emit(5)
    await sender.flush()
    server.fail_next(1, mode="timeout")
    sender.emit(5)
    await sender.flush()
    await server.stop()
    sender.emit(5)
    stopped = asyncio.create_task(sender.flush())
    await asyncio.sleep(0.2)
    await server.start(server.host, server.port)
    await stopped
    assert server.sequences(KEY) == list(range(1, 66))
    assert server.conflicts == 0
    assert any("HTML" in error for error in sender.errors)
    assert len(sender.errors) >= 5


async def test_client_pieces_count_gaps_older_than_the_buffer(
    server: IngestServer, session: aiohttp.ClientSession
) -> None:
    sender = MiniSender(session, server.url, capacity=5)
    sender.emit(12)  # 1..7 evicted before they were ever sent
    await sender.flush()
    assert server.gaps(KEY) == [1, 2, 3, 4, 5, 6, 7]
    assert sender.ring.unrecoverable == 7
    sender.emit(1)
    await sender.flush()  # the peer reports 1..7 again: counted once, not resent
    assert sender.ring.unrecoverable == 7
    assert sender.ring.overflowed == 7


async def test_client_pieces_stop_on_a_bad_token(
    server: IngestServer, session: aiohttp.ClientSession
) -> None:
    sender = MiniSender(session, server.url, token="wrong")
    sender.emit(3)
    await sender.flush()
    assert sender.errors == ["HTTP 401: authentication rejected (check the token)"]
    assert sender.ring.pending_count() == 3
