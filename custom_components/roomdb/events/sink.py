"""The sender: POSTs buffered events to the ingest endpoint, recovers gaps, backs off on failure.

One background task per loaded entry runs this loop:

1. Sleep until there is work: an emitted event, a flush request, the end of a backoff wait, or an
   idle heartbeat. While retrying, new events do not cut the backoff short; ``flush_events`` does.
2. Send ``ring.next_batch``: events the peer reported missing first, then the unacknowledged ones.
   The batch is marked sent and, when it holds numbers no document on disk covers yet, the buffer
   writes ahead (see ``sequence``) before the POST starts.
3. An ``ok`` answer is booked by ``ring.record_stored`` (see ``ring`` for what confirms a number):
   reported gaps that were sent and are still buffered become pending again (each resent at most
   ``MAX_RESEND_ATTEMPTS`` times), the rest are counted unrecoverable and logged once per report;
   gaps for numbers never sent are the peer's error and ignored. A report that changed what is
   pending is saved at once, so neither a reload nor a hard stop forgets it. A POST whose answer
   is never read — it failed, or the sender was stopped while waiting — makes everything not yet
   confirmed pending again (``ring.answer_lost``): the unread answer may have held the only report.
4. A retryable failure (unreachable, timeout, 408/425/429, 5xx, HTML, non-JSON) waits as the
   shared ``Backoff`` says (2 s doubling to 60 s, ±25 %), at least ``Retry-After``; a
   permanent one (401/403/400, ...) stops sending, raises a repair issue and waits for new
   options (a reload) or a flush.

Confirmation of the tail: a number is confirmed only by the answer to a later POST, so once the
stream is idle with something unconfirmed, the sender emits a ``heartbeat`` event every
``heartbeat_interval`` until everything is; ``flush_events`` sends one at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
from typing import Final

import aiohttp
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from yarl import URL

from ..backoff import DEFAULT_BASE, DEFAULT_CAP, Backoff
from ..const import DOMAIN
from ..log import get_logger
from ..repairs import async_raise_issue
from .delivery import GapResolution
from .event import HEARTBEAT_EVENT, Event
from .ring import EventRing
from .runs import format_runs
from .stats import EndpointState
from .store import EventBuffer
from .transport import async_post_events
from .wire import IngestResult, transport_failure

_LOGGER = get_logger(__name__)

ISSUE_EVENT_STREAM_ERROR: Final = "event_stream_error"


@dataclass(frozen=True, slots=True)
class SinkTuning:
    """Timing and size knobs of the sender (module default ``DEFAULT_TUNING``)."""

    batch_limit: int = 100
    """Events per POST at most."""
    request_timeout: float = 10.0
    """Seconds one POST may take, answer included."""
    backoff_base: float = DEFAULT_BASE
    backoff_cap: float = DEFAULT_CAP
    heartbeat_interval: float = 60.0
    """Idle seconds before a heartbeat event confirms the tail of the stream."""
    flush_timeout: float = 30.0
    """Seconds ``async_flush`` waits for its attempt at most."""


DEFAULT_TUNING: Final = SinkTuning()


def endpoint_for_logs(url: str) -> str:
    """Return the URL without credentials, query or fragment (safe to log)."""
    try:
        return str(URL(url).with_user(None).with_query(None).with_fragment(None))
    except TypeError, ValueError:
        return "<invalid URL>"


class EventSink:
    """Sends one buffer's events to one ingest endpoint."""

    def __init__(
        self,
        hass: HomeAssistant,
        buffer: EventBuffer,
        *,
        url: str | None,
        token: str,
        on_change: Callable[[], None],
        session: aiohttp.ClientSession,
        tuning: SinkTuning | None = None,
    ) -> None:
        """Prepare the sender; ``url`` None means the stream is disabled."""
        self._hass = hass
        self._buffer = buffer
        self._url = url
        self._token = token
        self._endpoint = endpoint_for_logs(url) if url else ""
        self._on_change = on_change
        self._session = session
        self._tuning = tuning or DEFAULT_TUNING
        self._backoff = Backoff(base=self._tuning.backoff_base, cap=self._tuning.backoff_cap)
        self._state = EndpointState.OK if url else EndpointState.DISABLED
        self._last_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._flush_requested = False
        self._flush_waiters: list[asyncio.Future[None]] = []
        self._retry_at = 0.0
        self._warned_malformed = False
        self._warned_never_sent = False

    @property
    def state(self) -> EndpointState:
        """Return the endpoint state."""
        return self._state

    @property
    def last_error(self) -> str | None:
        """Return why the last POST failed or its answer was odd (None after a clean answer)."""
        return self._last_error

    @property
    def _ring(self) -> EventRing:
        return self._buffer.ring

    # -- lifecycle -----------------------------------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Start the sender task (none when the stream is disabled); new options clear the issue."""
        ir.async_delete_issue(self._hass, DOMAIN, ISSUE_EVENT_STREAM_ERROR)
        if self._url is None or self._task is not None:
            return
        self._buffer.on_emit = self._async_on_emit
        self._task = self._hass.async_create_background_task(
            self._async_run(), f"{DOMAIN} event sender"
        )

    async def async_stop(self) -> None:
        """Stop the sender task; an unanswered batch stays pending and is sent after a restart."""
        task, self._task = self._task, None
        if self._buffer.on_emit == self._async_on_emit:
            self._buffer.on_emit = None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._release(self._flush_waiters)
        self._flush_waiters = []

    async def async_flush(self) -> None:
        """Send what is pending now, skipping a backoff wait, and wait for that attempt."""
        if self._task is None:
            return
        waiter: asyncio.Future[None] = self._hass.loop.create_future()
        self._flush_waiters.append(waiter)
        self._flush_requested = True
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._tuning.flush_timeout):
                await waiter

    @callback
    def _async_on_emit(self, _event: Event) -> None:
        self._wake.set()
        self._on_change()

    @staticmethod
    def _release(waiters: list[asyncio.Future[None]]) -> None:
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- the loop ------------------------------------------------------------------------------

    async def _async_run(self) -> None:
        while True:
            await self._async_wait_until_due()
            waiters, self._flush_waiters = self._flush_waiters, []
            self._flush_requested = False
            try:
                await self._async_attempt()
                if waiters and self._state is EndpointState.OK and self._ring.needs_confirmation():
                    # A flush answers for what the peer holds: let a heartbeat confirm the tail.
                    self._buffer.async_emit(HEARTBEAT_EVENT, {})
                    await self._async_attempt()
            except Exception as err:  # the sender must outlive a bug in one attempt
                _LOGGER.exception("Unexpected error while sending events")
                self._record_failure(transport_failure(f"internal error: {type(err).__name__}"))
            finally:
                self._release(waiters)
            self._on_change()

    async def _async_sleep(self, seconds: float | None) -> bool:
        """Wait for a wake-up; return False when ``seconds`` passed first (None: no limit)."""
        try:
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            return False
        self._wake.clear()
        return True

    def _heartbeat_wait(self) -> float | None:
        return self._tuning.heartbeat_interval if self._ring.needs_confirmation() else None

    async def _async_wait_until_due(self) -> None:
        while not self._flush_requested:
            if self._state is EndpointState.ERROR:
                await self._async_sleep(None)
            elif self._state is EndpointState.RETRYING:
                remaining = self._retry_at - self._hass.loop.time()
                if remaining <= 0:
                    return
                await self._async_sleep(remaining)
            elif self._ring.needs_send():
                return
            elif not await self._async_sleep(self._heartbeat_wait()):
                self._buffer.async_emit(HEARTBEAT_EVENT, {})

    async def _async_attempt(self) -> None:
        """Send until nothing is pending or a POST fails."""
        while batch := self._ring.next_batch(self._tuning.batch_limit):
            self._ring.mark_sent(batch)
            await self._buffer.async_write_ahead(batch[-1].sequence_number)
            try:
                result = await async_post_events(
                    self._session,
                    self._url or "",
                    self._token,
                    batch,
                    self._buffer.device_key,
                    request_timeout=self._tuning.request_timeout,
                )
            except asyncio.CancelledError:
                self._ring.answer_lost()
                raise
            if not result.ok:
                if result.reached_peer:
                    self._ring.answer_lost()
                self._record_failure(result)
                return
            resolution = self._ring.record_stored(batch, result.gaps)
            self._record_success(result)
            if self._handle_gaps(resolution):
                await self._buffer.async_save()
            else:
                self._buffer.async_schedule_save()

    # -- outcomes ------------------------------------------------------------------------------

    def _record_success(self, result: IngestResult) -> None:
        if self._state is not EndpointState.OK:
            _LOGGER.info(
                "Ingest endpoint %s is reachable again; %d events pending",
                self._endpoint,
                self._ring.pending_count(),
            )
            ir.async_delete_issue(self._hass, DOMAIN, ISSUE_EVENT_STREAM_ERROR)
        self._state = EndpointState.OK
        self._backoff.reset()
        self._last_error = result.error
        if result.error is not None:
            log = _LOGGER.debug if self._warned_malformed else _LOGGER.warning
            log("Ingest endpoint %s stored the batch but: %s", self._endpoint, result.error)
            self._warned_malformed = True

    def _handle_gaps(self, resolution: GapResolution) -> bool:
        """Log what a gap report changed; return whether it changed what is pending."""
        if resolution.unrecoverable:
            _LOGGER.warning(
                "Ingest endpoint %s misses %d events that are no longer buffered or were resent "
                "too often (%s); counted as unrecoverable",
                self._endpoint,
                len(resolution.unrecoverable),
                format_runs(resolution.unrecoverable),
            )
        if resolution.never_sent:
            log = _LOGGER.debug if self._warned_never_sent else _LOGGER.warning
            log(
                "Ingest endpoint %s reports events missing that were never sent (%s); ignored",
                self._endpoint,
                format_runs(resolution.never_sent),
            )
            self._warned_never_sent = True
        return bool(resolution.resend or resolution.unrecoverable)

    def _record_failure(self, result: IngestResult) -> None:
        self._last_error = result.error
        if result.retryable:
            delay = self._backoff.next_delay(result.retry_after)
            self._retry_at = self._hass.loop.time() + delay
            if self._state is not EndpointState.RETRYING:
                _LOGGER.warning(
                    "Ingest endpoint %s is unavailable (%s); events stay buffered and are retried",
                    self._endpoint,
                    result.error,
                )
            else:
                _LOGGER.debug("Still unavailable (%s); next try in %.1f s", result.error, delay)
            self._state = EndpointState.RETRYING
            return
        if self._state is not EndpointState.ERROR:
            _LOGGER.error(
                "Ingest endpoint %s refused the events (%s); nothing is sent until the event "
                "stream options change",
                self._endpoint,
                result.error,
            )
            async_raise_issue(
                self._hass,
                ISSUE_EVENT_STREAM_ERROR,
                {"url": self._endpoint, "error": result.error or ""},
                severity=ir.IssueSeverity.ERROR,
            )
        self._state = EndpointState.ERROR
