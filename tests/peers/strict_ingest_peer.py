"""A strict, independent ingest peer: legal behaviour RoomDB's reference peer never shows.

Same wire format as ``custom_components.roomdb.events.wire`` (``POST {"events": [...]}`` with a
bearer token, answered ``200 {"ok": true, "gaps": [{"device_key", "source_vendor",
"missing_sequences": [...]}]}``), but unlike ``tests.peers.ingest_server.IngestServer``:

- **Gap policy.** ``gap_policy="once"`` reports each missing number in exactly one answer: the
  answer to the POST that revealed it (the first POST that stored a higher number). It is never
  reported again, even when that answer never reached the client. ``gap_policy="every"``
  re-reports every number still missing in every answer (what the reference peer does).
- **Dropped POSTs.** A POST chosen by ``drop_posts`` (1-based POST indices, counted over every
  ``/ingest`` request) or by the ``drop_when(post_index, sequences)`` predicate is read, then
  the connection is aborted: no status line, no body, nothing stored. The client sees a
  connection error (``ServerDisconnectedError`` / ``ClientOSError``), never an answer.
- **Late answers.** ``delay`` seconds pass between storing a batch and answering it, so a client
  that gives up (or is cancelled) in between leaves the batch stored and its answer unread;
  ``delay_before_store`` holds the request before anything is stored instead. ``gate_before_store``
  / ``gate_before_answer`` (async callables of the ``PostRecord``) hold one chosen request until a
  test lets it go, which makes "the entry unloads while this POST is in flight" deterministic.
- **Abandoned requests.** With ``abort_on_disconnect`` a request whose client went away before it
  was stored is abandoned (aiohttp's handler cancellation): nothing is stored, nothing answered.
- **Lost answers.** ``drop_answer_when(record)`` stores the POST, then breaks the connection
  instead of answering (the answer is lost on the way; the client sees a connection error).
- **Lost events.** ``lose_sequences`` names numbers the peer loses once when they arrive inside
  an otherwise stored POST (a failed write of one row, a lost shard): the POST is still answered
  ``ok`` and the loss is reported as a gap, per the gap policy, once a higher number reveals it
  (in the same answer when the POST also holds higher numbers). A later copy is stored.
- **Bookkeeping.** Per ``(device_key, source_vendor)``: stored numbers, numbers ever reported
  missing (and in which POST), numbers still missing; and one ``PostRecord`` per POST (its
  numbers, outcome, the gaps in its answer, whether the answer could be written).

Binds 127.0.0.1 (tests run with sockets disabled except for loopback).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
import hmac
import json
import logging
import time
from typing import Any, Literal

from aiohttp import web

from tests.peers.loopback import LoopbackPeer, serve

_LOGGER = logging.getLogger(__name__)

type GapPolicy = Literal["once", "every"]
type StreamKey = tuple[str, str]
type DropPredicate = Callable[[int, Sequence[int]], bool]
type Gate = Callable[["PostRecord"], Awaitable[None] | None]

DEFAULT_VENDOR = "home_assistant"


@dataclass
class StrictStream:
    """What the peer holds for one ``(device_key, source_vendor)``."""

    events: dict[int, dict[str, Any]] = field(default_factory=dict)
    max_seen: int = 0
    missing: set[int] = field(default_factory=set)
    """Numbers below ``max_seen`` never stored (reported or not)."""
    unreported: set[int] = field(default_factory=set)
    """Missing numbers no answer has listed yet (``once`` policy: listed in the next answer)."""
    reported_in: dict[int, list[int]] = field(default_factory=dict)
    """Number -> the POST indices whose answers listed it."""
    duplicates: int = 0
    conflicts: list[int] = field(default_factory=list)

    @property
    def stored(self) -> list[int]:
        """Return the stored numbers, ascending."""
        return sorted(self.events)

    @property
    def reported(self) -> set[int]:
        """Return every number that some answer listed as missing."""
        return set(self.reported_in)

    def holes(self, up_to: int | None = None) -> list[int]:
        """Return the numbers in ``1..up_to`` (default ``max_seen``) that are not stored."""
        top = self.max_seen if up_to is None else up_to
        return [seq for seq in range(1, top + 1) if seq not in self.events]

    def unrecovered(self) -> list[int]:
        """Return numbers reported missing that never arrived afterwards."""
        return sorted(seq for seq in self.reported_in if seq not in self.events)


@dataclass
class PostRecord:
    """One ``/ingest`` request as the peer saw it."""

    index: int
    received_at: float
    sequences: list[int]
    outcome: str = "pending"
    """``stored``, ``dropped`` (aborted by the peer), ``abandoned`` (the client went away before
    it was stored, with ``abort_on_disconnect``), ``unauthorized``, ``bad_request``."""
    lost: list[int] = field(default_factory=list)
    """Numbers of this POST the peer lost (``lose_sequences``)."""
    gaps: list[int] = field(default_factory=list)
    """Numbers the answer listed as missing (for the POSTing stream)."""
    answered: bool | None = None
    """Whether the answer could be written (False: the client had gone; None: dropped)."""
    event_types: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """Return a one-line summary for failure messages."""
        seqs = _runs(self.sequences)
        gaps = f" gaps=[{_runs(self.gaps)}]" if self.gaps else ""
        lost = f" lost=[{_runs(self.lost)}]" if self.lost else ""
        answered = "" if self.answered in (None, True) else " ANSWER-LOST"
        kinds = " heartbeat" if self.event_types and set(self.event_types) == {"heartbeat"} else ""
        return f"#{self.index} [{seqs}]{kinds} {self.outcome}{lost}{gaps}{answered}"


async def _maybe_await(value: Awaitable[None] | None) -> None:
    if value is not None:
        await value


def _runs(numbers: Iterable[int]) -> str:
    runs: list[list[int]] = []
    for number in sorted(numbers):
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


class StrictIngestPeer(LoopbackPeer):
    """An ingest endpoint with once-only gap reports, aborted connections and late answers."""

    def __init__(
        self,
        token: str = "test-token",
        *,
        gap_policy: GapPolicy = "once",
        delay: float = 0.0,
        delay_before_store: float = 0.0,
        drop_posts: Iterable[int] = (),
        drop_when: DropPredicate | None = None,
        abort_on_disconnect: bool = False,
        drop_answer_when: Callable[[PostRecord], bool] | None = None,
    ) -> None:
        """Create a stopped peer (see the module docstring for the knobs)."""
        if gap_policy not in ("once", "every"):
            raise ValueError(f"unknown gap policy {gap_policy!r}")
        self.token = token
        self.gap_policy: GapPolicy = gap_policy
        self.delay = delay
        self.delay_before_store = delay_before_store
        self.drop_posts: set[int] = set(drop_posts)
        self.drop_when: DropPredicate | None = drop_when
        self.abort_on_disconnect = abort_on_disconnect
        self.drop_answer_when = drop_answer_when
        self.gate_before_store: Gate | None = None
        self.gate_before_answer: Gate | None = None
        self._lose: set[int] = set()
        self.host = "127.0.0.1"
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._streams: dict[StreamKey, StrictStream] = {}
        self.posts: list[PostRecord] = []
        self.on_post: Callable[[PostRecord], None] | None = None
        """Called when a POST is received (before it is stored or dropped): test hooks."""
        self.on_answer: Callable[[PostRecord], None] | None = None
        """Called after a POST was stored and its gaps computed, before the answer is written."""

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (0 picks a free port)."""
        if self._runner is not None:
            raise RuntimeError("peer already running")
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/ingest", self._handle_ingest)
        runner = web.AppRunner(
            app,
            access_log=None,
            shutdown_timeout=0.5,
            handler_cancellation=self.abort_on_disconnect,
        )
        self.port = await serve(runner, host, port)
        self._runner = runner
        self.host = host

    async def stop(self) -> None:
        """Stop listening."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def url(self) -> str:
        """Return the ingest URL to configure in RoomDB."""
        return f"http://{self.host}:{self.port}/ingest"

    def heal(self) -> None:
        """Stop dropping, losing, delaying and gating (the gap policy stays)."""
        self.drop_posts.clear()
        self.drop_when = None
        self.delay = 0.0
        self.delay_before_store = 0.0
        self.gate_before_store = None
        self.gate_before_answer = None
        self.drop_answer_when = None
        self._lose.clear()

    def lose_sequences(self, numbers: Iterable[int]) -> None:
        """Lose these numbers once each when they arrive (the POST is still answered ``ok``)."""
        self._lose.update(numbers)

    # -- inspection ----------------------------------------------------------------------------

    def stream(self, device_key: str, source_vendor: str = DEFAULT_VENDOR) -> StrictStream:
        """Return what is held for one stream (empty when never seen)."""
        return self._streams.get((device_key, source_vendor), StrictStream())

    def sequences(self, device_key: str, source_vendor: str = DEFAULT_VENDOR) -> list[int]:
        """Return the stored numbers, ascending."""
        return self.stream(device_key, source_vendor).stored

    def heartbeat_posts(self) -> list[PostRecord]:
        """Return the stored POSTs that carried only heartbeats."""
        return [
            post
            for post in self.posts
            if post.outcome == "stored"
            and post.event_types
            and set(post.event_types) == {"heartbeat"}
        ]

    @property
    def dropped(self) -> list[PostRecord]:
        """Return the POSTs whose connection was aborted."""
        return [post for post in self.posts if post.outcome == "dropped"]

    def summary(self, device_key: str, up_to: int | None = None) -> str:
        """Return a one-line account like the issue's ``peer:`` line."""
        stream = self.stream(device_key)
        holes = stream.holes(up_to)
        reports = sum(1 for post in self.posts if post.gaps)
        dropped = len(self.dropped)
        abandoned = sum(1 for post in self.posts if post.outcome == "abandoned")
        lost = sum(1 for post in self.posts if post.answered is False)
        return (
            f"peer: highest {stream.max_seen}, stored {len(stream.events)}, missing {len(holes)} "
            f"({_runs(holes)}), gap reports {reports}, unrecovered {len(stream.unrecovered())} "
            f"({_runs(stream.unrecovered())}); POSTs {len(self.posts)}, without an answer "
            f"{dropped + abandoned + lost} (dropped {dropped}, abandoned {abandoned}, stored but "
            f"answer lost {lost}); duplicates {stream.duplicates}"
        )

    def post_log(self, last: int | None = None) -> str:
        """Return the POST log, one line per POST (the last ``last`` only, if given)."""
        posts = self.posts if last is None else self.posts[-last:]
        return "\n".join(post.describe() for post in posts)

    # -- request handling ----------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credential.strip().encode(), self.token.encode()
        )

    def _should_drop(self, record: PostRecord) -> bool:
        if record.index in self.drop_posts:
            return True
        return self.drop_when is not None and bool(self.drop_when(record.index, record.sequences))

    async def _handle_ingest(self, request: web.Request) -> web.StreamResponse:
        record = PostRecord(index=len(self.posts) + 1, received_at=time.monotonic(), sequences=[])
        self.posts.append(record)
        if not self._authorized(request):
            record.outcome = "unauthorized"
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            body = json.loads(await request.text())
            events: list[dict[str, Any]] = body["events"]
            record.sequences = [int(event["sequence_number"]) for event in events]
            record.event_types = [str(event["event_type"]) for event in events]
            keys = {(event["device_key"], event["source_vendor"]) for event in events}
        except (ValueError, TypeError, KeyError) as err:
            record.outcome = "bad_request"
            return web.json_response({"ok": False, "error": str(err)}, status=400)
        if self.on_post is not None:
            self.on_post(record)
        if self._should_drop(record):
            record.outcome = "dropped"
            _LOGGER.debug("dropping POST %s", record.describe())
            # Abort the connection: no status line, no body, nothing stored.
            transport = request.transport
            if transport is not None:
                transport.abort()
            raise asyncio.CancelledError
        try:
            if self.delay_before_store > 0:
                await asyncio.sleep(self.delay_before_store)
            if self.gate_before_store is not None:
                await _maybe_await(self.gate_before_store(record))
        except asyncio.CancelledError:
            record.outcome = "abandoned"
            _LOGGER.debug("client went away before the store: %s", record.describe())
            raise
        self._store(events, record)
        record.outcome = "stored"
        gaps = self._gap_report(keys, record)
        if self.on_answer is not None:
            self.on_answer(record)
        try:
            if self.delay > 0:
                await asyncio.sleep(self.delay)
            if self.gate_before_answer is not None:
                await _maybe_await(self.gate_before_answer(record))
        except asyncio.CancelledError:
            record.answered = False
            _LOGGER.debug("client went away before the answer: %s", record.describe())
            raise
        if self.drop_answer_when is not None and self.drop_answer_when(record):
            # Stored, but the answer is lost on the way (the connection breaks).
            record.answered = False
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        response = web.json_response({"ok": True, "gaps": gaps})
        transport = request.transport
        if transport is None or transport.is_closing():
            record.answered = False
            _LOGGER.debug("answer lost (client gone): %s", record.describe())
            return response
        try:
            await response.prepare(request)
            await response.write_eof()
        except ConnectionError, RuntimeError:
            record.answered = False
            _LOGGER.debug("answer lost (write failed): %s", record.describe())
            return response
        record.answered = True
        return response

    def _store(self, events: list[dict[str, Any]], record: PostRecord) -> None:
        for event in events:
            key: StreamKey = (event["device_key"], event["source_vendor"])
            seq = int(event["sequence_number"])
            stream = self._streams.setdefault(key, StrictStream())
            if seq in self._lose and seq not in stream.events:
                self._lose.discard(seq)
                record.lost.append(seq)
                continue
            stored = stream.events.get(seq)
            if stored is not None:
                stream.duplicates += 1
                if stored != event:
                    stream.conflicts.append(seq)
                continue
            stream.events[seq] = event
            if seq > stream.max_seen:
                revealed = set(range(stream.max_seen + 1, seq)) - stream.events.keys()
                stream.missing |= revealed
                stream.unreported |= revealed
                stream.max_seen = seq
            else:
                stream.missing.discard(seq)
                stream.unreported.discard(seq)

    def _gap_report(self, keys: Iterable[StreamKey], record: PostRecord) -> list[dict[str, Any]]:
        report: list[dict[str, Any]] = []
        for key in sorted(keys):
            stream = self._streams.get(key)
            if stream is None:
                continue
            if self.gap_policy == "once":
                numbers = sorted(stream.unreported)
                stream.unreported.clear()
            else:
                numbers = sorted(stream.missing)
            if not numbers:
                continue
            for seq in numbers:
                stream.reported_in.setdefault(seq, []).append(record.index)
            record.gaps.extend(numbers)
            report.append(
                {"device_key": key[0], "source_vendor": key[1], "missing_sequences": numbers}
            )
        return report
