"""Reference "Core" ingest server: the real peer RoomDB's event sink talks to in tests.

It speaks the wire format of ``custom_components.roomdb.events.wire``:

- ``POST /ingest`` with ``Authorization: Bearer <token>`` and ``{"events": [...]}``. Events are
  stored per ``(device_key, source_vendor)`` and deduplicated by sequence number (the first copy
  wins; a different payload under a stored number is counted as a conflict, i.e. a reused
  number). The answer is ``200 {"ok": true, "gaps": [...]}`` where each gap entry lists the
  numbers below the highest one seen that never arrived (``gaps`` is empty when none).
- ``GET /events?device_key=...[&source_vendor=...][&after=N]`` (bearer token): what is stored.
- ``GET /health`` (no token): liveness and counters.

Fault injection (methods): ``drop_next``, ``drop_sequences``, ``drop_probability``, ``delay``,
``fail_next`` (500 / HTML / timeout / 429), ``respond_next`` (scripted answers), ``restart``.

Run beside Home Assistant (``scripts/develop``)::

    python -m tests.peers.ingest_server --port 8765 --token demo

Binds 127.0.0.1 by default (tests run with sockets disabled except for 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterable
import contextlib
from dataclasses import dataclass, field
import hmac
import json
import logging
import random
import signal
import time
from typing import Any, Literal

from aiohttp import web

from tests.peers.loopback import LoopbackPeer, serve

_LOGGER = logging.getLogger(__name__)

type FailMode = Literal["500", "html", "timeout", "429"]
type StreamKey = tuple[str, str]

DEFAULT_VENDOR = "home_assistant"
FAIL_MODES: frozenset[str] = frozenset({"500", "html", "timeout", "429"})
HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>Gateway</title></head>"
    "<body><h1>Please log in to continue</h1></body></html>"
)
MAX_TRACKED = 1_000_000
"""A jump in sequence numbers tracks at most this many missing numbers below the new one."""
_REQUIRED = {"sequence_number", "device_key", "source_vendor", "event_type", "timestamp", "data"}


@dataclass
class Stream:
    """Everything stored for one ``(device_key, source_vendor)``."""

    events: dict[int, dict[str, Any]] = field(default_factory=dict)
    arrivals: list[int] = field(default_factory=list)
    max_seen: int = 0
    missing: set[int] = field(default_factory=set)
    reported_at: dict[int, float] = field(default_factory=dict)
    recovery_latencies: list[float] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)


@dataclass
class ScriptedAnswer:
    """An answer ``respond_next`` queued."""

    status: int
    body: str
    content_type: str
    store: bool


class _BadRequestError(Exception):
    """The POST body breaks the wire format."""


def _validate_events(body: object) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise _BadRequestError('body must be an object with an "events" list')
    events: list[dict[str, Any]] = body["events"]
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise _BadRequestError(f"event {index} is not an object")
        missing = _REQUIRED - event.keys()
        if missing:
            raise _BadRequestError(f"event {index} lacks {sorted(missing)}")
        seq = event["sequence_number"]
        if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq < 2**63:
            raise _BadRequestError(f"event {index} has an invalid sequence_number {seq!r}")
        for key in ("device_key", "source_vendor", "event_type", "timestamp"):
            if not isinstance(event[key], str) or not event[key]:
                raise _BadRequestError(f"event {index} has an invalid {key}")
        if not isinstance(event["data"], dict):
            raise _BadRequestError(f"event {index} has non-object data")
    return events


class IngestServer(LoopbackPeer):
    """The reference ingest peer; one instance is one Core."""

    def __init__(
        self,
        token: str = "test-token",
        *,
        max_gaps_per_report: int = 1000,
        report_all_devices: bool = False,
        hang_seconds: float = 30.0,
        seed: int = 0,
    ) -> None:
        """Create a stopped server.

        ``max_gaps_per_report`` bounds each gap entry to the newest missing numbers (the ones a
        client can still have buffered). ``report_all_devices`` adds every stream's gaps to every
        answer, not only those of the streams in the POST. ``hang_seconds`` is how long a
        ``timeout`` fault holds the request before answering 504.
        """
        self.token = token
        self.max_gaps_per_report = max_gaps_per_report
        self.report_all_devices = report_all_devices
        self.hang_seconds = hang_seconds
        self.host = "127.0.0.1"
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self._streams: dict[StreamKey, Stream] = {}
        self._rng = random.Random(seed)
        self.clear_faults()
        self.reset_counters()

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free port, kept across ``restart``)."""
        if self._runner is not None:
            raise RuntimeError("server already running")
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/ingest", self._handle_ingest)
        app.router.add_get("/events", self._handle_events)
        app.router.add_get("/health", self._handle_health)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        self.port = await serve(runner, host, port)
        self._stopping = asyncio.Event()
        self._runner = runner
        self.host = host
        _LOGGER.debug("ingest server listening on %s", self.url)

    async def stop(self) -> None:
        """Stop listening; requests held by ``delay``/``timeout`` are released first."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._stopping.set()
        await runner.cleanup()

    async def restart(self, *, forget: bool = False, downtime: float = 0.0) -> None:
        """Stop, maybe forget what is stored, wait ``downtime`` s, start again on the same port."""
        await self.stop()
        if forget:
            self._streams.clear()
        if downtime > 0:
            await asyncio.sleep(downtime)
        await self.start(self.host, self.port)

    @property
    def running(self) -> bool:
        """Return whether the server is listening."""
        return self._runner is not None

    @property
    def base_url(self) -> str:
        """Return ``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """Return the ingest URL to configure in RoomDB."""
        return f"{self.base_url}/ingest"

    # -- fault injection -----------------------------------------------------------------------

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._drop_next_events = 0
        self._drop_once: set[tuple[str | None, int]] = set()
        self._drop_probability = 0.0
        self._delay = 0.0
        self._fail_next = 0
        self._fail_mode: FailMode = "500"
        self._scripted: list[ScriptedAnswer] = []

    def drop_next(self, count: int) -> None:
        """Accept (200) but do not store the next ``count`` events: they become gaps."""
        self._drop_next_events = count

    def drop_sequences(self, sequences: Iterable[int], device_key: str | None = None) -> None:
        """Lose these sequence numbers once each (a resend is stored)."""
        self._drop_once.update((device_key, seq) for seq in sequences)

    def drop_probability(self, probability: float, seed: int | None = None) -> None:
        """Lose the whole content of each POST with this probability (still answering 200)."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        self._drop_probability = probability
        if seed is not None:
            self._rng.seed(seed)

    def delay(self, seconds: float) -> None:
        """Hold every request this long before handling it (0 to stop delaying)."""
        self._delay = max(0.0, seconds)

    def fail_next(self, count: int, mode: FailMode = "500") -> None:
        """Fail the next ``count`` POSTs without storing anything.

        ``"500"``: 500 with a JSON error; ``"429"``: 429 with ``Retry-After: 1``; ``"html"``: 200
        with an HTML page (a captive portal or proxy); ``"timeout"``: hold the request for
        ``hang_seconds`` (or until stop), then 504.
        """
        if mode not in FAIL_MODES:
            raise ValueError(f"unknown fail mode {mode!r}")
        self._fail_next = count
        self._fail_mode = mode

    def respond_next(
        self,
        body: object,
        *,
        status: int = 200,
        content_type: str = "application/json",
        store: bool = True,
    ) -> None:
        """Queue a scripted answer for the next POST (``body`` is JSON-encoded unless a str).

        With ``store`` the POST's events are stored as usual; only the answer is replaced.
        """
        text = body if isinstance(body, str) else json.dumps(body)
        self._scripted.append(ScriptedAnswer(status, text, content_type, store))

    # -- inspection ----------------------------------------------------------------------------

    def reset_counters(self) -> None:
        """Zero the counters (stored events stay)."""
        self.posts = 0
        self.stored = 0
        self.duplicates = 0
        self.conflicts = 0
        self.dropped_events = 0
        self.dropped_posts = 0
        self.failed = 0
        self.unauthorized = 0
        self.bad_requests = 0

    def stats(self) -> dict[str, int]:
        """Return the counters."""
        return {
            "posts": self.posts,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "dropped_events": self.dropped_events,
            "dropped_posts": self.dropped_posts,
            "failed": self.failed,
            "unauthorized": self.unauthorized,
            "bad_requests": self.bad_requests,
            "streams": len(self._streams),
        }

    def streams(self) -> list[StreamKey]:
        """Return the ``(device_key, source_vendor)`` pairs seen."""
        return sorted(self._streams)

    def stream(self, device_key: str, source_vendor: str = DEFAULT_VENDOR) -> Stream:
        """Return the stored stream (empty if never seen)."""
        return self._streams.get((device_key, source_vendor), Stream())

    def sequences(self, device_key: str, source_vendor: str = DEFAULT_VENDOR) -> list[int]:
        """Return the stored sequence numbers, ascending."""
        return sorted(self.stream(device_key, source_vendor).events)

    def events(self, device_key: str, source_vendor: str = DEFAULT_VENDOR) -> list[dict[str, Any]]:
        """Return the stored events, by sequence number."""
        stream = self.stream(device_key, source_vendor)
        return [stream.events[seq] for seq in sorted(stream.events)]

    def gaps(self, device_key: str, source_vendor: str = DEFAULT_VENDOR) -> list[int]:
        """Return every number below the highest seen that never arrived, ascending."""
        return sorted(self.stream(device_key, source_vendor).missing)

    # -- request handling ----------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credential.strip().encode(), self.token.encode()
        )

    async def _hold(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _handle_ingest(self, request: web.Request) -> web.StreamResponse:
        self.posts += 1
        await self._hold(self._delay)
        if not self._authorized(request):
            self.unauthorized += 1
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        if self._fail_next > 0:
            self._fail_next -= 1
            self.failed += 1
            return await self._fail(self._fail_mode)
        try:
            events = _validate_events(json.loads(await request.text()))
        except (ValueError, RecursionError, _BadRequestError) as err:
            self.bad_requests += 1
            return web.json_response({"ok": False, "error": str(err)}, status=400)
        _LOGGER.debug(
            "POST %d events (%s)",
            len(events),
            ", ".join(str(event["sequence_number"]) for event in events[:20]),
        )
        scripted = self._scripted.pop(0) if self._scripted else None
        if scripted is None or scripted.store:
            self._store(events)
        if scripted is not None:
            return web.Response(
                status=scripted.status, text=scripted.body, content_type=scripted.content_type
            )
        keys = {(event["device_key"], event["source_vendor"]) for event in events}
        if self.report_all_devices:
            keys |= self._streams.keys()
        return web.json_response({"ok": True, "gaps": self._gap_report(keys)})

    async def _fail(self, mode: FailMode) -> web.Response:
        if mode == "429":
            return web.json_response(
                {"ok": False, "error": "slow down"}, status=429, headers={"Retry-After": "1"}
            )
        if mode == "html":
            return web.Response(status=200, text=HTML_PAGE, content_type="text/html")
        if mode == "timeout":
            await self._hold(self.hang_seconds)
            return web.Response(status=504, text="gateway timeout")
        return web.json_response({"ok": False, "error": "internal error"}, status=500)

    def _store(self, events: list[dict[str, Any]]) -> None:
        if self._drop_probability and self._rng.random() < self._drop_probability:
            self.dropped_posts += 1
            self.dropped_events += len(events)
            return
        now = time.monotonic()
        for event in events:
            key: StreamKey = (event["device_key"], event["source_vendor"])
            seq: int = event["sequence_number"]
            if self._drop_next_events > 0:
                self._drop_next_events -= 1
                self.dropped_events += 1
                continue
            if self._take_drop_once(key[0], seq):
                self.dropped_events += 1
                continue
            stream = self._streams.setdefault(key, Stream())
            stored = stream.events.get(seq)
            if stored is not None:
                self.duplicates += 1
                if stored != event:
                    self.conflicts += 1
                    stream.conflicts.append(seq)
                continue
            stream.events[seq] = event
            stream.arrivals.append(seq)
            self.stored += 1
            if seq > stream.max_seen:
                stream.missing.update(range(max(stream.max_seen + 1, seq - MAX_TRACKED), seq))
                stream.max_seen = seq
            else:
                stream.missing.discard(seq)
                reported = stream.reported_at.pop(seq, None)
                if reported is not None:
                    stream.recovery_latencies.append(now - reported)

    def _take_drop_once(self, device_key: str, seq: int) -> bool:
        for candidate in ((device_key, seq), (None, seq)):
            if candidate in self._drop_once:
                self._drop_once.discard(candidate)
                return True
        return False

    def _gap_report(self, keys: Iterable[StreamKey]) -> list[dict[str, Any]]:
        report = []
        now = time.monotonic()
        for key in sorted(keys):
            stream = self._streams.get(key)
            if stream is None or not stream.missing:
                continue
            missing = sorted(stream.missing)[-self.max_gaps_per_report :]
            for seq in missing:
                stream.reported_at.setdefault(seq, now)
            report.append(
                {"device_key": key[0], "source_vendor": key[1], "missing_sequences": missing}
            )
        return report

    async def _handle_events(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            self.unauthorized += 1
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        device_key = request.query.get("device_key")
        if not device_key:
            return web.json_response({"ok": False, "error": "device_key is required"}, status=400)
        vendor = request.query.get("source_vendor", DEFAULT_VENDOR)
        try:
            after = int(request.query.get("after", "0"))
        except ValueError:
            return web.json_response({"ok": False, "error": "after must be an integer"}, status=400)
        stream = self.stream(device_key, vendor)
        return web.json_response(
            {
                "ok": True,
                "device_key": device_key,
                "source_vendor": vendor,
                "max_seen": stream.max_seen,
                "gaps": sorted(stream.missing),
                "events": [stream.events[s] for s in sorted(stream.events) if s > after],
            }
        )

    async def _handle_health(self, _request: web.Request) -> web.Response:
        return web.json_response({"ok": True, **self.stats()})


async def _serve(args: argparse.Namespace) -> None:
    server = IngestServer(args.token, max_gaps_per_report=args.max_gaps, seed=args.seed)
    server.drop_probability(args.drop_probability)
    server.delay(args.delay)
    await server.start(args.host, args.port)
    _LOGGER.info("RoomDB reference ingest server on %s (token %r)", server.url, args.token)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    last: dict[str, int] = {}
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 5.0)
            except TimeoutError:
                stats = server.stats()
                if stats != last:
                    _LOGGER.info("stats %s", stats)
                    for device_key, vendor in server.streams():
                        stream = server.stream(device_key, vendor)
                        _LOGGER.info(
                            "%s/%s: %d stored, max %d, %d missing",
                            device_key,
                            vendor,
                            len(stream.events),
                            stream.max_seen,
                            len(stream.missing),
                        )
                    last = stats
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    """Run the server until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default="demo")
    parser.add_argument("--drop-probability", type=float, default=0.0)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--max-gaps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
