"""One POST and its answer, against small real servers that misbehave on purpose."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import ClientSession, web
import pytest

from custom_components.roomdb.events.event import Event
from custom_components.roomdb.events.transport import async_post_events, describe_transport_error
from custom_components.roomdb.events.wire import MAX_RESPONSE_CHARS

EVENT = Event(1, "test", "2026-01-01T00:00:00Z", {})


async def endless(_request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(_request)
    chunk = b" " * 65536
    for _ in range(MAX_RESPONSE_CHARS // len(chunk) + 8):
        await response.write(chunk)
    await response.write_eof()
    return response


async def odd_charset(_request: web.Request) -> web.Response:
    return web.Response(
        body=b'{"ok": true, "gaps": []}',
        headers={"Content-Type": "application/json; charset=x-no-such-charset"},
    )


@pytest.fixture
async def base_url(socket_enabled: None) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/endless", endless)
    app.router.add_post("/charset", odd_charset)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_an_endless_answer_is_cut_off_and_retried(base_url: str) -> None:
    async with ClientSession() as session:
        result = await async_post_events(
            session, f"{base_url}/endless", "t", [EVENT], "key", request_timeout=5
        )
    assert not result.ok
    assert result.retryable
    assert result.error is not None
    assert "answer too large" in result.error


async def test_an_unknown_charset_is_read_as_utf8(base_url: str) -> None:
    async with ClientSession() as session:
        result = await async_post_events(
            session, f"{base_url}/charset", "t", [EVENT], "key", request_timeout=5
        )
    assert result.ok


async def test_an_invalid_url_is_a_transport_failure(socket_enabled: None) -> None:
    async with ClientSession() as session:
        result = await async_post_events(
            session, "http://[::1/ingest", "t", [EVENT], "key", request_timeout=5
        )
    assert not result.ok
    assert result.retryable
    assert result.error is not None


def test_describe_transport_error() -> None:
    assert describe_transport_error(TimeoutError(), 2.5) == "no answer within 2.5 s"
    assert describe_transport_error(OSError(), 1) == "OSError"
    assert describe_transport_error(OSError("a\n  b"), 1) == "OSError: a b"
