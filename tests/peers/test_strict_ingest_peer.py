"""The strict peer on its own: what a client sees of each behaviour, and the bookkeeping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from custom_components.roomdb.events.event import Event
from custom_components.roomdb.events.transport import async_post_events
from tests.peers.strict_ingest_peer import PostRecord, StrictIngestPeer

TOKEN = "strict"
KEY = "device"
TS = "2026-01-01T00:00:00Z"


def wire(*seqs: int) -> dict[str, Any]:
    return {
        "events": [
            {
                "sequence_number": seq,
                "device_key": KEY,
                "source_vendor": "home_assistant",
                "event_type": "test",
                "timestamp": TS,
                "data": {},
            }
            for seq in seqs
        ]
    }


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as client:
        yield client


async def post(session: aiohttp.ClientSession, peer: StrictIngestPeer, *seqs: int) -> Any:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with session.post(peer.url, json=wire(*seqs), headers=headers) as response:
        assert response.status == 200
        return await response.json()


def gaps(answer: Any) -> list[int]:
    return [n for entry in answer["gaps"] for n in entry["missing_sequences"]]


async def test_once_policy_reports_each_number_in_one_answer(
    session: aiohttp.ClientSession,
) -> None:
    async with StrictIngestPeer(TOKEN, gap_policy="once") as peer:
        assert gaps(await post(session, peer, 1, 2)) == []
        assert gaps(await post(session, peer, 5)) == [3, 4]
        assert gaps(await post(session, peer, 6)) == []  # 3, 4 still missing, not repeated
        assert gaps(await post(session, peer, 3)) == []
        assert peer.stream(KEY).holes() == [4]
        assert peer.stream(KEY).unrecovered() == [4]
        assert peer.stream(KEY).reported_in == {3: [2], 4: [2]}


async def test_every_policy_repeats_what_is_missing(session: aiohttp.ClientSession) -> None:
    async with StrictIngestPeer(TOKEN, gap_policy="every") as peer:
        await post(session, peer, 1)
        assert gaps(await post(session, peer, 4)) == [2, 3]
        assert gaps(await post(session, peer, 2)) == [3]
        assert gaps(await post(session, peer, 5)) == [3]


async def test_a_dropped_post_is_a_connection_error_and_stores_nothing(
    session: aiohttp.ClientSession,
) -> None:
    async with StrictIngestPeer(TOKEN, drop_posts={2}, drop_when=lambda i, s: 9 in s) as peer:
        await post(session, peer, 1)
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await post(session, peer, 2)
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await post(session, peer, 9)
        await post(session, peer, 2)
        assert peer.sequences(KEY) == [1, 2]
        assert [p.outcome for p in peer.posts] == ["stored", "dropped", "dropped", "stored"]

        # RoomDB's own transport classifies it as retryable, not stored.
        event = Event(3, "test", TS, {})
        result = await async_post_events(
            session, peer.url, TOKEN, [event], KEY, request_timeout=2.0
        )
        assert result.ok and peer.sequences(KEY) == [1, 2, 3]
        peer.drop_posts = {len(peer.posts) + 1}
        result = await async_post_events(
            session, peer.url, TOKEN, [Event(4, "test", TS, {})], KEY, request_timeout=2.0
        )
        assert (result.ok, result.retryable) == (False, True)
        assert "ServerDisconnectedError" in (result.error or "")
        assert peer.sequences(KEY) == [1, 2, 3]


async def test_lost_numbers_are_answered_ok_and_reported_once_revealed(
    session: aiohttp.ClientSession,
) -> None:
    async with StrictIngestPeer(TOKEN) as peer:
        peer.lose_sequences({2, 5})
        assert gaps(await post(session, peer, 1, 2, 3, 4, 5)) == [2]  # 5 is the tail: unseen
        assert gaps(await post(session, peer, 6)) == [5]
        assert gaps(await post(session, peer, 2, 5)) == []  # a later copy is stored
        assert peer.sequences(KEY) == [1, 2, 3, 4, 5, 6]
        assert peer.posts[0].lost == [2, 5]


async def test_a_lost_answer_stores_but_breaks_the_connection(
    session: aiohttp.ClientSession,
) -> None:
    async with StrictIngestPeer(TOKEN, drop_answer_when=lambda r: r.index == 2) as peer:
        await post(session, peer, 1)
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await post(session, peer, 3)
        assert peer.sequences(KEY) == [1, 3]
        assert peer.posts[1].gaps == [2]
        assert peer.posts[1].answered is False


async def test_a_client_that_goes_away_leaves_nothing_stored(
    session: aiohttp.ClientSession,
) -> None:
    async with StrictIngestPeer(TOKEN, abort_on_disconnect=True) as peer:
        arrived = asyncio.Event()

        async def hold(record: PostRecord) -> None:
            arrived.set()
            await asyncio.sleep(5)

        peer.gate_before_store = hold
        request = asyncio.ensure_future(post(session, peer, 1))
        await asyncio.wait_for(arrived.wait(), 2)
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
        async with asyncio.timeout(2):
            while peer.posts[0].outcome != "abandoned":
                await asyncio.sleep(0.01)
        assert peer.sequences(KEY) == []


async def test_a_late_answer_outlives_a_client_timeout(socket_enabled: None) -> None:
    async with (
        StrictIngestPeer(TOKEN, delay=0.3) as peer,
        aiohttp.ClientSession() as session,
    ):
        result = await async_post_events(
            session, peer.url, TOKEN, [Event(1, "test", TS, {})], KEY, request_timeout=0.1
        )
        assert (result.ok, result.retryable) == (False, True)
        assert peer.sequences(KEY) == [1]  # stored all the same
