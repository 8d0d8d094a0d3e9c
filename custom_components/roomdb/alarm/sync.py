"""Two-way sync between RoomDB's alarm panel and a target `alarm_control_panel` entity.

Push only: the target's state changes arrive through `async_track_state_change_event`, RoomDB's own
changes through the controller's transition listener. The rules live in the pure core
(`mapping`, `conflict`); this module feeds them and carries out their decisions:

- Outbound: every machine call's transitions go through `outbound_transition`, so states taken
  from the target (origin PEER) are never pushed back. The chosen state becomes the one pending
  change (a newer one replaces it) and is pushed with a fresh `Context`, remembered with the
  change it carries.
- Inbound: `conflict.observe` decides from the state, its stamp and those remembered calls whether
  a state is the echo of RoomDB's own call (the pushed state, carrying that call's context): an
  echo is recorded and nothing else, except that a newer change waiting is sent. Home Assistant
  keeps stamping a target's states with RoomDB's context for a few seconds after a call, so the
  context alone is no proof; a reconnect is never an echo. A passing state (`disarming`) is
  recorded and waited out: the target stays as online as it was. Unusable states (unknown,
  unavailable, "", unrecognised) are recorded and mark the target offline. Any other change runs
  `resolve()`.
- Offline: while the target is unusable nothing is sent; the pending change waits with its time.
  A failed call (refused, not finished within `CALL_TIMEOUT`, or for a target no loaded
  integration provides) keeps it too and schedules a retry (the shared `Backoff`); a retry runs
  `resolve()` again instead of re-sending blindly. `push_error` says what failed, in words, for
  the sensor and the log. When the target comes back the rules run once. Losing a target that was
  online fires a `sync_offline` alarm event, its return then `sync_online`.
- Reconnect timestamps: Home Assistant stamps a new `last_updated` when an entity leaves
  `unavailable`, so that stamp says nothing about when the target's state was chosen. If the
  target comes back in the state it had before the outage, the stamp from before the outage is
  used; if it comes back in another state, it changed while we could not see it and it wins.
  (Likewise a change of attributes alone keeps the stamp of the last state change.) A target that
  shows RoomDB's own pushed change has made no change of its own: any newer local change wins.

Runtime state (pending change, last seen target state, push bookkeeping) is saved to the
`roomdb.alarm_sync` Store, so a restart keeps a pending change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from homeassistant.components.alarm_control_panel.const import (
    DATA_COMPONENT,
    DOMAIN as ALARM_DOMAIN,
    AlarmControlPanelEntityFeature,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import ATTR_CODE, ATTR_ENTITY_ID, ATTR_SUPPORTED_FEATURES
from homeassistant.core import (
    Context,
    Event,
    EventStateChangedData,
    HassJob,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers.event import async_call_later, async_track_state_change_event
from homeassistant.util import dt as dt_util

from ..backoff import Backoff
from ..log import get_logger
from ..timestamps import iso_from_timestamp
from .conflict import Decision, PendingChange, Push, TargetView, observe, resolve
from .const import SYNC_STORE_KEY, SYNC_STORE_VERSION
from .controller import AlarmController, AlarmStore, PeerSource
from .features import MODE_FEATURES
from .machine import AlarmState, Transition
from .push_error import CALL_TIMEOUT, async_describe, async_sentence
from .security import AlarmEvent, EventKind
from .settings import SyncSettings
from .state_mapping import is_passing, map_inbound, map_outbound, outbound_transition

_LOGGER = get_logger(__name__)

PUSHES_KEPT: Final = 32
"""How many of RoomDB's own calls are remembered (by context) to recognise their echoes."""

REQUIRED_FEATURE: Final[Mapping[AlarmState, AlarmControlPanelEntityFeature]] = {
    **MODE_FEATURES,
    AlarmState.TRIGGERED: AlarmControlPanelEntityFeature.TRIGGER,
}
"""A state is sent only to a target with its feature: a mode the target lacks is reported, never
replaced by another mode (the target would show that one, and RoomDB would take it)."""


def migrate_sync_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Record a target showing `armed_custom_bypass` as custom bypass, no longer as vacation.

    Version 1 sent RoomDB's vacation as the target's custom bypass and took the target's custom
    bypass as vacation. When the target shows RoomDB's own vacation that way, a change to send
    vacation again is queued: RoomDB keeps the mode its sensors guard, and the target is asked for
    its vacation (or the sync reports that it has none). A custom bypass the target chose itself
    then counts as the target's newer state, as any other of its changes. Data of another shape is
    left to `_restore` to judge.
    """
    last_seen = data.get("last_seen")
    last_good = data.get("last_good")
    if not (
        isinstance(last_seen, dict)
        and isinstance(last_good, dict)
        and last_seen.get("state") == AlarmState.ARMED_CUSTOM_BYPASS
        and last_good.get("state") == AlarmState.ARMED_VACATION
    ):
        return data
    answers = last_good.get("answers")
    pending = data.get("pending")
    if isinstance(answers, dict) and pending is None:
        pending = {"state": answers.get("state"), "at": answers.get("at")}
    return {
        **data,
        "pending": pending,
        "last_good": {**last_good, "state": str(AlarmState.ARMED_CUSTOM_BYPASS)},
    }


class SyncStatus(StrEnum):
    """The state of the "alarm sync" diagnostic sensor."""

    DISABLED = "disabled"
    IN_SYNC = "in_sync"
    PENDING = "pending"
    OFFLINE = "offline"
    ERROR = "error"


class AlarmSync:
    """Keeps RoomDB's panel and one target panel in agreement. Event loop only."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        controller: AlarmController,
        settings: SyncSettings,
    ) -> None:
        """Bind the sync to the controller; nothing runs before `async_start`."""
        self._hass = hass
        self._entry = entry
        self._controller = controller
        self.settings = settings
        self._store = AlarmStore(hass, SYNC_STORE_VERSION, SYNC_STORE_KEY, migrate_sync_v1)
        self._backoff = Backoff()
        self.pending: PendingChange | None = None
        self.last_seen_state: str | None = None
        self.last_seen_updated: float | None = None
        # The last usable target state, when it was chosen and whether it is RoomDB's own change.
        self._last_good: TargetView | None = None
        self._features = 0
        self.last_push_attempt: float | None = None
        self.last_push_success: float | None = None
        self.last_push_error: str | None = None
        self.next_retry_at: float | None = None
        self._failing = False
        self._online = False
        self._reported_offline = False
        self._pushes: dict[str, Push] = {}  # by context id, oldest first
        self._push_lock = asyncio.Lock()
        self._push_tasks: set[asyncio.Task[None]] = set()
        self._listeners: list[Callable[[], None]] = []
        self._unsubs: list[Callable[[], None]] = []
        self._unsub_retry: Callable[[], None] | None = None
        self._retry_job = HassJob(
            self._on_retry, "roomdb alarm sync retry", cancel_on_shutdown=True
        )
        self._stopped = False

    @staticmethod
    def _now() -> float:
        return dt_util.utcnow().timestamp()

    # -- lifecycle -------------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Restore the runtime state; disabled sync forgets it (a stale change must not return)."""
        if not self.settings.active:
            await self._store.async_remove()
            return
        data = await self._store.async_load()
        if data is None:
            return
        try:
            self._restore(data)
        except (KeyError, TypeError, ValueError) as err:
            _LOGGER.warning("Stored alarm sync state is unusable, starting over: %s", err)
            self.pending = None
            self.last_seen_state = self.last_seen_updated = self._last_good = None

    @callback
    def async_start(self) -> None:
        """Subscribe to the target and to RoomDB's own transitions (when sync is active)."""
        if not self.settings.active:
            return
        assert self.settings.target is not None
        self._unsubs.append(
            async_track_state_change_event(self._hass, self.settings.target, self._on_target_event)
        )
        self._unsubs.append(self._controller.async_add_transition_listener(self._on_local))

    @callback
    def async_reconcile_now(self) -> None:
        """Run the rules once against the target's current state (startup counts as reconnect)."""
        if self.settings.active:
            assert self.settings.target is not None
            self._observe(self._hass.states.get(self.settings.target), None)

    async def async_stop(self) -> None:
        """Unsubscribe, cancel the retry and any call still running, save the runtime state."""
        self._stopped = True
        while self._unsubs:
            self._unsubs.pop()()
        self._cancel_retry()
        for task in self._push_tasks:
            task.cancel()  # a call that hangs must not hold up the unload; the change stays queued
        if self.settings.active:
            await self._store.async_save(self._data())

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener()` whenever the status or its attributes may have changed."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # -- what the sensor and diagnostics show ----------------------------------------------------

    @property
    def status(self) -> SyncStatus:
        """Disabled, offline (target unusable), error (last push failed), pending or in sync."""
        if not self.settings.active:
            return SyncStatus.DISABLED
        if not self._online:
            return SyncStatus.OFFLINE
        if self._failing:
            return SyncStatus.ERROR
        if self.pending is not None:
            return SyncStatus.PENDING
        return SyncStatus.IN_SYNC

    @property
    def attributes(self) -> dict[str, Any]:
        """The sensor's attributes (no code)."""
        return {
            "target": self.settings.target,
            "last_seen_state": self.last_seen_state,
            "last_seen_updated": iso_from_timestamp(self.last_seen_updated),
            "pending_state": None if self.pending is None else str(self.pending.state),
            "pending_since": None if self.pending is None else iso_from_timestamp(self.pending.at),
            "last_push_attempt": iso_from_timestamp(self.last_push_attempt),
            "last_push_success": iso_from_timestamp(self.last_push_success),
            "last_push_error": self.last_push_error,
            "next_retry": iso_from_timestamp(self.next_retry_at),
        }

    # -- inbound ---------------------------------------------------------------------------------

    @callback
    def _on_target_event(self, event: Event[EventStateChangedData]) -> None:
        self._observe(event.data["new_state"], event.context)

    @callback
    def _observe(self, state: State | None, context: Context | None) -> None:
        """Record what the target shows and, unless it is our echo or unusable, resolve."""
        mapped = None if state is None else map_inbound(state.state)
        if state is not None:
            self.last_seen_state = state.state
            self.last_seen_updated = state.last_updated_timestamp
            if is_passing(state.state):
                # No outage and no state to take: wait for the state it settles in (a target
                # coming back from an outage through it counts as back then).
                self._changed()
                return
        if state is None or mapped is None:
            self._set_online(online=False)
            self._changed()
            return
        reconnect = not self._online
        self._set_online(online=True)
        self._features = int(state.attributes.get(ATTR_SUPPORTED_FEATURES) or 0)
        seen = observe(
            self._last_good,
            mapped,
            state.last_updated_timestamp,
            reconnect=reconnect,
            calls=self._calls_answered_by(context),
            pending=self.pending,
        )
        self._last_good = seen.view
        if seen.echo is not None:
            if self.pending is not None and self.pending != seen.echo.change:
                self._start_push()  # a newer change waits behind the one echoed: send it
            self._changed()
            return
        self._reconcile(mapped, seen.stamp, context)

    def _calls_answered_by(self, context: Context | None) -> list[Push]:
        """RoomDB's calls a state carrying `context` may answer: its call and those before it."""
        carried = None if context is None else self._pushes.get(context.id)
        if carried is None:
            return []
        return [push for push in self._pushes.values() if push.sent_at <= carried.sent_at]

    @callback
    def _reconcile(
        self, target_state: AlarmState, target_at: float, context: Context | None
    ) -> None:
        self._controller.async_advance()
        machine = self._controller.machine
        result = resolve(
            target_state=target_state,
            target_last_updated=target_at,
            pending=self.pending,
            last_local_change_time=machine.last_local_change_at,
            local_state=machine.state,
            ha_authoritative=self.settings.ha_authoritative,
            skew_tolerance=self.settings.skew_tolerance,
        )
        _LOGGER.debug(
            "Target %s vs local %s (pending %s): %s (%s)",
            target_state,
            machine.state,
            self.pending,
            result.decision,
            result.reason,
        )
        if result.decision in (Decision.ADOPT_TARGET, Decision.DROP_PENDING_ADOPT_TARGET):
            self._drop_pending()
            self._failing = False
            assert self.settings.target is not None
            source = PeerSource(
                self.settings.target,
                self.last_seen_state or str(target_state),
                self.last_seen_updated or self._now(),
            )
            self._controller.apply_external(target_state, source, context)
        elif result.decision is Decision.PUSH_LOCAL:
            if self.pending is None:
                local = machine.state
                if map_outbound(local, supports_trigger=self._supports_trigger()) is not None:
                    self.pending = PendingChange(local, self._now())
            self._start_push()
        elif self.pending is None and target_state is machine.state:
            self._failing = False
        self._changed()

    # -- outbound --------------------------------------------------------------------------------

    @callback
    def _on_local(self, transitions: list[Transition]) -> None:
        """Every machine call's transitions; only RoomDB's own newest change is pushed."""
        chosen = outbound_transition(transitions, supports_trigger=self._supports_trigger())
        if chosen is None:
            return
        self.pending = PendingChange(chosen.new, chosen.at)  # only the latest is kept
        self._changed()
        self._start_push()

    def _supports_trigger(self) -> bool:
        return bool(self._features & AlarmControlPanelEntityFeature.TRIGGER)

    @callback
    def _start_push(self) -> None:
        if self.pending is None or not self._online or self._stopped:
            return
        # Not eager: the push runs after the local command (or inbound event) has finished.
        task = self._entry.async_create_task(
            self._hass, self._async_push(), "roomdb alarm sync push", eager_start=False
        )
        self._push_tasks.add(task)
        task.add_done_callback(self._push_tasks.discard)

    async def _async_push(self) -> None:
        async with self._push_lock:
            pending = self.pending
            if pending is None or not self._online or self._stopped:
                return
            target = self.settings.target
            assert target is not None
            service = map_outbound(pending.state, supports_trigger=self._supports_trigger())
            feature = REQUIRED_FEATURE.get(pending.state)
            if service is None or (feature is not None and not self._features & feature):
                self._drop_pending()
                unsupported = await async_sentence(
                    self._hass, "alarm_sync_unsupported", entity_id=target, state=pending.state
                )
                self._fail(unsupported, retry=False)
                self._changed()
                return
            self.last_push_attempt = self._now()
            if (error := await self._async_call(target, service, pending)) is not None:
                self._fail(error, retry=True)  # the change stays queued
            else:
                if self._failing:
                    _LOGGER.info("Alarm sync with %s works again", target)
                self.last_push_success = self._now()
                self._failing = False
                self._cancel_retry()
                self._backoff.reset()
                if self.pending is pending:
                    self.pending = None
            self._changed()

    async def _async_call(self, target: str, service: str, pending: PendingChange) -> str | None:
        """Call `service` on the target for `pending`; return why it failed, or None."""
        if not _is_served(self._hass, target):
            # Home Assistant answers a call for an entity that no integration serves with a log
            # line only: the call would "succeed" and the change would be lost.
            return await async_sentence(
                self._hass, "alarm_sync_not_loaded", entity_id=target, service=service
            )
        context = Context()
        self._pushes[context.id] = Push(pending, self._now())
        if len(self._pushes) > PUSHES_KEPT:
            del self._pushes[next(iter(self._pushes))]
        data: dict[str, Any] = {ATTR_ENTITY_ID: target}
        if code := self.settings.outbound_code:
            data[ATTR_CODE] = code
        timeout = asyncio.timeout(CALL_TIMEOUT)
        try:
            async with timeout:
                await self._hass.services.async_call(
                    ALARM_DOMAIN, service, data, blocking=True, context=context
                )
        except Exception as err:  # noqa: BLE001 - a foreign integration may raise anything;
            # the local panel must keep working and the change must stay queued.
            return await async_describe(
                self._hass,
                err,
                entity_id=target,
                service=service,
                code_sent=code is not None,
                timed_out=timeout.expired(),
            )
        return None

    def _fail(self, error: str, *, retry: bool) -> None:
        if not self._failing:
            _LOGGER.warning("Alarm sync: %s", error)
        self._failing = True
        self.last_push_error = error
        if retry and not self._stopped:
            self._cancel_retry()
            delay = self._backoff.next_delay()
            self.next_retry_at = self._now() + delay
            self._unsub_retry = async_call_later(self._hass, delay, self._retry_job)

    @callback
    def _on_retry(self, _fired_at: datetime) -> None:
        self._unsub_retry = None
        self.next_retry_at = None
        if self._online and self._last_good is not None:
            self._reconcile(self._last_good.state, self._last_good.stamp, None)

    def _drop_pending(self) -> None:
        self.pending = None
        self._cancel_retry()
        self._backoff.reset()

    def _cancel_retry(self) -> None:
        if self._unsub_retry is not None:
            self._unsub_retry()
            self._unsub_retry = None
        self.next_retry_at = None

    def _set_online(self, *, online: bool) -> None:
        """Follow the target's availability.

        Only a loss seen to happen is an event (and then the return), not a target still missing
        while Home Assistant starts.
        """
        if online and not self._online:
            _LOGGER.info("Alarm sync target %s is available", self.settings.target)
            if self._reported_offline:
                self._reported_offline = False
                self._fire(EventKind.SYNC_ONLINE)
        elif not online and self._online:
            _LOGGER.info(
                "Alarm sync target %s is unavailable; RoomDB's panel keeps working and queues"
                " its latest change",
                self.settings.target,
            )
            self._reported_offline = True
            self._fire(EventKind.SYNC_OFFLINE)
        self._online = online

    def _fire(self, kind: EventKind) -> None:
        event = AlarmEvent(kind, self._now(), {"target": self.settings.target})
        self._controller.notifier.async_fire(event)

    # -- persistence -----------------------------------------------------------------------------

    @callback
    def _changed(self) -> None:
        if not self._stopped:
            self._store.async_delay_save(self._data)
        for listener in list(self._listeners):
            listener()

    def _data(self) -> dict[str, Any]:
        return {
            "target": self.settings.target,
            "pending": None
            if self.pending is None
            else {"state": str(self.pending.state), "at": self.pending.at},
            "last_seen": {"state": self.last_seen_state, "last_updated": self.last_seen_updated},
            "last_good": None
            if self._last_good is None
            else {
                "state": str(self._last_good.state),
                "at": self._last_good.at,
                "answers": None
                if (answers := self._last_good.answers) is None
                else {
                    "state": str(answers.change.state),
                    "at": answers.change.at,
                    "sent_at": answers.sent_at,
                },
            },
            "features": self._features,
            "last_push_attempt": self.last_push_attempt,
            "last_push_success": self.last_push_success,
            "last_push_error": self.last_push_error,
            "failing": self._failing,
        }

    def _restore(self, data: Mapping[str, Any]) -> None:
        if (pending := data.get("pending")) is not None:
            self.pending = PendingChange(AlarmState(pending["state"]), float(pending["at"]))
        self.last_push_attempt = _optional_float(data.get("last_push_attempt"))
        self.last_push_success = _optional_float(data.get("last_push_success"))
        self.last_push_error = data.get("last_push_error")
        self._failing = bool(data.get("failing"))
        if data.get("target") != self.settings.target:
            return  # what we saw of another panel says nothing about this one
        last_seen = data.get("last_seen") or {}
        self.last_seen_state = last_seen.get("state")
        self.last_seen_updated = _optional_float(last_seen.get("last_updated"))
        if (last_good := data.get("last_good")) is not None:
            answers = last_good.get("answers")
            self._last_good = TargetView(
                AlarmState(last_good["state"]),
                float(last_good["at"]),
                None
                if answers is None
                else Push(
                    PendingChange(AlarmState(answers["state"]), float(answers["at"])),
                    float(answers["sent_at"]),
                ),
            )
        self._features = int(data.get("features") or 0)


def _is_served(hass: HomeAssistant, entity_id: str) -> bool:
    """Return whether a loaded integration provides `entity_id` and reports it available."""
    component = hass.data.get(DATA_COMPONENT)
    entity = None if component is None else component.get_entity(entity_id)
    return entity is not None and entity.available


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
