"""One HTTP POST of a batch to the ingest endpoint, turned into an ``IngestResult``.

Shared by the sender and the options flow's connection test, so both read answers the same way.
The answer body is read up to a bound: a proxy that streams an endless page cannot exhaust memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import aiohttp

from .event import Event
from .wire import (
    MAX_RESPONSE_CHARS,
    IngestResult,
    encode_ingest_body,
    parse_ingest_response,
    transport_failure,
)

READ_CHUNK: Final = 64 * 1024
MAX_TRANSPORT_DETAIL: Final = 160


async def _read_bounded(response: aiohttp.ClientResponse, limit: int) -> str:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(READ_CHUNK):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    encoding = response.charset or "utf-8"
    raw = b"".join(chunks)
    try:
        return raw.decode(encoding, errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


def describe_transport_error(err: BaseException, timeout: float) -> str:
    """Return a short, user-readable reason for a POST that got no HTTP answer."""
    if isinstance(err, TimeoutError):
        return f"no answer within {timeout:g} s"
    detail = " ".join(str(err).split())[:MAX_TRANSPORT_DETAIL]
    return f"{type(err).__name__}: {detail}" if detail else type(err).__name__


async def async_post_events(
    session: aiohttp.ClientSession,
    url: str,
    token: str,
    events: Sequence[Event],
    device_key: str,
    *,
    request_timeout: float,
) -> IngestResult:
    """POST ``events`` (may be empty: a connection test) and classify the answer; never raises."""
    body = encode_ingest_body(events, device_key)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        async with session.post(
            url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=request_timeout)
        ) as response:
            text = await _read_bounded(response, MAX_RESPONSE_CHARS)
            return parse_ingest_response(
                response.status,
                response.content_type,
                text,
                device_key,
                retry_after=response.headers.get("Retry-After"),
            )
    except aiohttp.ClientConnectorError as err:
        return transport_failure(describe_transport_error(err, request_timeout), reached_peer=False)
    except (aiohttp.ClientError, TimeoutError, ValueError) as err:
        return transport_failure(describe_transport_error(err, request_timeout))
