"""The alarm machine inside Home Assistant: clock, timer, persistence and transition events.

The pure `AlarmMachine` never reads a clock or schedules anything; this controller feeds it HA's
time, runs one timer for the machine's next deadline (rescheduled after every call), saves a
snapshot to the `roomdb.alarm` Store after every call (absolute deadlines, so a restart continues a
delay with the time that was left), and fires `roomdb_alarm_transition` for each transition.
The panel entity and the sync subscribe to it; neither touches the machine's timers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, Context, HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..const import EVENT_ALARM_TRANSITION
from ..log import get_logger
from .const import ALARM_STORE_KEY, STORE_VERSION
from .machine import (
    AlarmConfig,
    AlarmMachine,
    AlarmState,
    CodeHash,
    InvalidSnapshotError,
    Origin,
    Transition,
    VerifiedCode,
)

_LOGGER = get_logger(__name__)

ORIGIN_NAMES: Final[dict[Origin, str]] = {
    Origin.LOCAL: "local",
    Origin.TIMER: "timer",
    Origin.PEER: "home_assistant",
}

type TransitionListener = Callable[[list[Transition]], None]
type UpdateListener = Callable[[Context | None], None]


@dataclass(frozen=True, slots=True)
class PeerSource:
    """Where an inbound state came from: the target panel, its state and `last_updated`."""

    entity_id: str
    state: str
    last_updated: float


def iso(timestamp: float | None) -> str | None:
    """Return a POSIX timestamp as an ISO 8601 UTC string (None stays None)."""
    return None if timestamp is None else dt_util.utc_from_timestamp(timestamp).isoformat()


class AlarmController:
    """Owns the machine for one config entry. Call everything from the event loop."""

    def __init__(
        self, hass: HomeAssistant, config: AlarmConfig, code_hash: CodeHash | None
    ) -> None:
        """Start disarmed; `async_load` replaces this with the stored snapshot."""
        self._hass = hass
        self._config = config
        self._code_hash = code_hash
        self._store: Store[dict[str, Any]] = Store(hass, STORE_VERSION, ALARM_STORE_KEY)
        self.machine = AlarmMachine(config, code=code_hash, now=self._now())
        self.changed_by: str | None = None
        self._listeners: list[UpdateListener] = []
        self._transition_listeners: list[TransitionListener] = []
        self._timer_job = HassJob(self._on_timer, "roomdb alarm timer", cancel_on_shutdown=True)
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._stopped = False

    @staticmethod
    def _now() -> float:
        return dt_util.utcnow().timestamp()

    # -- lifecycle -------------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Restore the stored snapshot; the options' code and timings replace the stored ones."""
        data = await self._store.async_load()
        if data is None:
            return
        try:
            machine = AlarmMachine.restore(data, self._config)
        except (InvalidSnapshotError, TypeError, AttributeError) as err:
            _LOGGER.warning("Stored alarm state is unusable, starting disarmed: %s", err)
            return
        machine.set_code_hash(self._code_hash)
        self.machine = machine

    @callback
    def async_start(self) -> None:
        """Catch up on delays that ran out while stopped, then schedule the next one."""
        self.async_advance()
        self._schedule()

    async def async_stop(self) -> None:
        """Cancel the timer and save the state with its absolute deadline."""
        self._stopped = True
        self._cancel_timer()
        await self._store.async_save(self.machine.snapshot())

    @callback
    def async_add_listener(self, listener: UpdateListener) -> CALLBACK_TYPE:
        """Call `listener(context)` after every machine call; return the unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def async_add_transition_listener(self, listener: TransitionListener) -> CALLBACK_TYPE:
        """Call `listener(transitions)` with every call's transitions; return the unsubscribe."""
        self._transition_listeners.append(listener)
        return lambda: self._transition_listeners.remove(listener)

    # -- commands (AlarmError propagates: the entity translates it) ------------------------------

    async def async_arm(
        self, mode: AlarmState, code: str | None, context: Context | None = None
    ) -> None:
        """Arm `mode` (exit delay first, when the mode has one)."""
        verified = await self._async_check_code(code, mode)
        self._process(self.machine.arm(mode, self._now(), verified), context=context)

    async def async_disarm(self, code: str | None, context: Context | None = None) -> None:
        """Disarm."""
        verified = await self._async_check_code(code, AlarmState.DISARMED)
        self._process(self.machine.disarm(self._now(), verified), context=context)

    @callback
    def trigger(self, context: Context | None = None) -> None:
        """Trigger (entry delay first, when the state has one)."""
        self._process(self.machine.trigger(self._now()), context=context)

    @callback
    def apply_external(
        self, state: AlarmState, source: PeerSource, context: Context | None = None
    ) -> None:
        """Take a state from the sync target; its transition is tagged PEER, never pushed back."""
        self._process(self.machine.apply_external(state, self._now()), source, context)

    @callback
    def async_advance(self) -> None:
        """Apply timed transitions already due (before the sync compares states)."""
        if transitions := self.machine.advance(self._now()):
            self._process(transitions)

    # -- internals -------------------------------------------------------------------------------

    async def _async_check_code(
        self, code: str | None, for_state: AlarmState
    ) -> VerifiedCode | None:
        """Check `code` in a worker thread: the key derivation is slow on purpose.

        A missing code is refused at once; without a code to check, nothing leaves the loop.
        """
        check = self.machine.code_check(code, for_state)
        if check is None:
            return None
        return await self._hass.async_add_executor_job(check.run)

    @callback
    def _process(
        self,
        transitions: list[Transition],
        source: PeerSource | None = None,
        context: Context | None = None,
    ) -> None:
        """Publish one call's outcome: events, snapshot, timer, entity, then the sync."""
        for transition in transitions:
            self._fire(transition, source, context)
            if transition.origin is Origin.PEER and source is not None:
                self.changed_by = source.entity_id
            elif transition.origin is Origin.LOCAL:
                self.changed_by = None
        self._store.async_delay_save(self.machine.snapshot)
        self._schedule()
        for listener in list(self._listeners):
            listener(context)
        if transitions:
            for transition_listener in list(self._transition_listeners):
                transition_listener(transitions)

    def _fire(
        self, transition: Transition, source: PeerSource | None, context: Context | None
    ) -> None:
        data: dict[str, Any] = {
            "old": str(transition.old),
            "new": str(transition.new),
            "origin": ORIGIN_NAMES[transition.origin],
            "at": iso(transition.at),
        }
        if transition.origin is Origin.PEER and source is not None:
            data["target_entity_id"] = source.entity_id
            data["target_state"] = source.state
            data["target_last_updated"] = iso(source.last_updated)
        self._hass.bus.async_fire(EVENT_ALARM_TRANSITION, data, context=context)

    def _schedule(self) -> None:
        self._cancel_timer()
        deadline = self.machine.next_deadline()
        if deadline is None or self._stopped:
            return
        self._unsub_timer = async_track_point_in_utc_time(
            self._hass, self._timer_job, dt_util.utc_from_timestamp(deadline)
        )

    def _cancel_timer(self) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None

    @callback
    def _on_timer(self, _fired_at: datetime) -> None:
        self._unsub_timer = None
        deadline = self.machine.next_deadline()
        now = self._now() if deadline is None else max(self._now(), deadline)
        self._process(self.machine.advance(now))
