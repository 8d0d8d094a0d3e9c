"""The ingest wire format: the POST body RoomDB sends and a defensive parser for the answer.

Request: ``{"events": [{"sequence_number", "device_key", "source_vendor": "home_assistant",
"event_type", "timestamp", "data"}]}``. Answer: 200 with ``{"ok": true, "gaps": [{"device_key",
"source_vendor", "missing_sequences": [...]}]}``; ``gaps`` may be missing or empty.

``parse_ingest_response`` never raises: whatever the peer sends (or a proxy or captive portal in
between) becomes an ``IngestResult``. Pure Python, no Home Assistant import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
import json
import math
from typing import Any, Final

from .event import MAX_SEQUENCE, Event, is_int

SOURCE_VENDOR: Final = "home_assistant"
MAX_GAP_ENTRIES: Final = 10_000
"""Gap reports listing more missing numbers than this (in total for us) are rejected."""
MAX_RESPONSE_CHARS: Final = 2_000_000
"""Longer answers are not parsed (a gap report within the bounds is far shorter)."""
MAX_ERROR_SNIPPET: Final = 120


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one POST achieved.

    ``ok``: the peer stored the batch (acknowledge it). ``retryable``: not stored, try again
    later with backoff. Neither: a permanent error (bad token, rejected body) that needs the user.
    ``error`` also carries the reason when a 200 answer had a gap report that was rejected.
    """

    ok: bool
    retryable: bool
    gaps: list[int] = field(default_factory=list)
    error: str | None = None
    status: int | None = None
    retry_after: float | None = None
    """Seconds the peer asked to wait (``Retry-After``), if it said so."""
    reached_peer: bool = True
    """False only when no connection was made: the POST certainly never arrived."""


def event_to_wire(event: Event, device_key: str) -> dict[str, Any]:
    """Return one event in wire form."""
    return {
        "sequence_number": event.sequence_number,
        "device_key": device_key,
        "source_vendor": SOURCE_VENDOR,
        "event_type": event.event_type,
        "timestamp": event.timestamp,
        "data": event.data,
    }


def build_ingest_body(events: Iterable[Event], device_key: str) -> dict[str, Any]:
    """Return the POST body for a batch of events."""
    if not isinstance(device_key, str) or not device_key:
        raise ValueError("device_key must be a non-empty string")
    return {"events": [event_to_wire(event, device_key) for event in events]}


def encode_ingest_body(events: Iterable[Event], device_key: str) -> str:
    """Return the POST body as compact JSON text."""
    return json.dumps(build_ingest_body(events, device_key), separators=(",", ":"))


def transport_failure(reason: str, *, reached_peer: bool = True) -> IngestResult:
    """Return the result for a POST that got no HTTP answer (timeout, refused, reset, DNS)."""
    return IngestResult(
        ok=False, retryable=True, error=reason or "transport error", reached_peer=reached_peer
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header (seconds or an HTTP date) into seconds; None if unusable."""
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value[:9]), 86_400))
    try:
        moment = parsedate_to_datetime(value)
    except TypeError, ValueError, IndexError, OverflowError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), 86_400.0) if math.isfinite(seconds) else None


def _snippet(text: str) -> str:
    flat = " ".join(text[: MAX_ERROR_SNIPPET * 2].split())
    return flat[:MAX_ERROR_SNIPPET]


def _looks_like_html(content_type: str, text: str) -> bool:
    head = text.lstrip()[:64].lower()
    return "html" in content_type.lower() or head.startswith(("<!doctype", "<html", "<"))


def parse_ingest_response(
    status: int,
    content_type: str,
    text: str,
    device_key: str,
    *,
    source_vendor: str = SOURCE_VENDOR,
    retry_after: str | None = None,
    max_gaps: int = MAX_GAP_ENTRIES,
) -> IngestResult:
    """Classify an HTTP answer to an ingest POST; never raises.

    - 200-299 with a JSON object whose ``ok`` is ``true``: stored. Gaps are taken from entries
      for our ``device_key`` and ``source_vendor`` only. A malformed entry (wrong types, missing
      keys, non-integer, boolean, negative or zero numbers, more than ``max_gaps`` numbers) is
      ignored as a whole and named in ``error``; the batch still counts as stored.
    - 2xx that is HTML, not JSON, not an object, or without ``"ok": true``: retryable (a proxy
      or captive portal answered, or the peer did not store the batch).
    - 408, 425, 429 and 5xx: retryable (``retry_after`` from the header when given).
    - Any other status (400, 401, 403, 404, 413, 3xx, ...): permanent error, not retryable.
    """
    try:
        return _parse(
            status,
            content_type,
            text,
            device_key=device_key,
            source_vendor=source_vendor,
            retry_after=retry_after,
            max_gaps=max_gaps,
        )
    except Exception as err:  # noqa: BLE001 - the contract is "never raises"
        return IngestResult(
            ok=False, retryable=True, error=f"unparseable answer: {type(err).__name__}"
        )


def _parse(
    status: int,
    content_type: str,
    text: str,
    *,
    device_key: str,
    source_vendor: str,
    retry_after: str | None,
    max_gaps: int,
) -> IngestResult:
    content_type = content_type if isinstance(content_type, str) else ""
    text = text if isinstance(text, str) else ""
    if not is_int(status):
        return IngestResult(ok=False, retryable=True, error=f"invalid HTTP status {status!r}")
    if status in {408, 425, 429} or 500 <= status <= 599:
        reason = "rate limited" if status == 429 else "server error"
        if status in {408, 425}:
            reason = "request timeout" if status == 408 else "too early"
        if _looks_like_html(content_type, text):
            reason += ", HTML answer"
        return IngestResult(
            ok=False,
            retryable=True,
            error=f"HTTP {status}: {reason}",
            status=status,
            retry_after=parse_retry_after(retry_after),
        )
    if not 200 <= status <= 299:
        detail = _snippet(text)
        if status in {401, 403}:
            message = f"HTTP {status}: authentication rejected (check the token)"
        else:
            message = f"HTTP {status}: request rejected" + (f": {detail}" if detail else "")
        return IngestResult(ok=False, retryable=False, error=message, status=status)

    def retry(reason: str) -> IngestResult:
        return IngestResult(
            ok=False, retryable=True, error=f"HTTP {status}: {reason}", status=status
        )

    if len(text) > MAX_RESPONSE_CHARS:
        return retry(f"answer too large ({len(text)} characters)")
    if _looks_like_html(content_type, text):
        return retry(f"HTML answer instead of JSON: {_snippet(text)!r}")
    try:
        body = json.loads(text, parse_int=_parse_int)
    except ValueError, RecursionError:
        return retry(f"answer is not JSON: {_snippet(text)!r}")
    if not isinstance(body, dict):
        return retry(f"answer is JSON {type(body).__name__}, not an object")
    if body.get("ok") is not True:
        said = body.get("error")
        suffix = f": {_snippet(said)}" if isinstance(said, str) else ""
        flag = _snippet(repr(body.get("ok")))
        return retry(f"peer did not confirm the batch (ok={flag}){suffix}")
    gaps, problems = _extract_gaps(body.get("gaps"), device_key, source_vendor, max_gaps)
    error = "malformed gap report ignored: " + "; ".join(problems) if problems else None
    return IngestResult(ok=True, retryable=False, gaps=gaps, error=error, status=status)


def _extract_gaps(
    raw: object, device_key: str, source_vendor: str, max_gaps: int
) -> tuple[list[int], list[str]]:
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [f"gaps is {type(raw).__name__}, not a list"]
    problems: list[str] = []
    found: set[int] = set()
    for index, entry in enumerate(raw):
        if not isinstance(entry, Mapping):
            problems.append(f"entry {index} is {type(entry).__name__}, not an object")
            continue
        key, vendor = entry.get("device_key"), entry.get("source_vendor")
        if not isinstance(key, str) or not isinstance(vendor, str):
            problems.append(f"entry {index} lacks a string device_key/source_vendor")
            continue
        if key != device_key or vendor != source_vendor:
            continue  # another installation's or vendor's gaps: not ours to fill
        numbers = entry.get("missing_sequences")
        problem = _check_numbers(numbers, max_gaps - len(found))
        if problem is not None:
            problems.append(f"entry {index}: {problem}")
            continue
        assert isinstance(numbers, list)
        found.update(numbers)
    if len(problems) > 5:
        problems[5:] = [f"{len(problems) - 5} more"]
    return sorted(found), problems


def _check_numbers(numbers: object, room: int) -> str | None:
    if not isinstance(numbers, list):
        return f"missing_sequences is {type(numbers).__name__}, not a list"
    if len(numbers) > room:
        return f"{len(numbers)} missing sequences exceed the remaining bound of {room}"
    for value in numbers:
        if not is_int(value):
            return f"non-integer sequence {_snippet(repr(value))}"
        if not 1 <= value <= MAX_SEQUENCE:
            return f"sequence {value} out of range 1..2**63-1"
    return None


def _parse_int(digits: str) -> int | float:
    # A number too long for a sequence becomes inf (rejected as a non-integer later) instead of
    # failing the whole parse or tripping Python's int-string conversion limit.
    return int(digits) if len(digits) <= 24 else math.inf
