"""The security panel inside Home Assistant: clock, timer, sensors, persistence and events.

The pure `SecurityPanel` never reads a clock, a sensor or a Store; this controller feeds it HA's
time and the sensors' state changes (from the moment Home Assistant has started: the sensors'
integrations load first), runs one timer for the machine's next deadline (rescheduled after every
call), saves a snapshot to the `roomdb.alarm` Store after every call (absolute deadlines, so a
restart continues a delay with the time that was left), fires `roomdb_alarm_transition` for each
transition and hands each `AlarmEvent` to the notifier. The panel entity and the sync subscribe to
it; neither touches the machine's timers.

Commands run one at a time, in the order they were given (the panel's own and `roomdb.alarm_arm`
alike): a code is checked in a worker thread, and a quick "arm, disarm" must not end armed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, override

from homeassistant.core import (
    CALLBACK_TYPE,
    Context,
    Event,
    EventStateChangedData,
    HassJob,
    HomeAssistant,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.event import (
    async_track_point_in_utc_time,
    async_track_state_change_event,
)
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, EVENT_ALARM_TRANSITION
from ..log import get_logger
from ..timestamps import iso_from_timestamp
from .const import ALARM_STORE_KEY, ALARM_STORE_VERSION
from .machine import (
    AlarmConfig,
    AlarmError,
    AlarmMachine,
    AlarmState,
    InvalidCodeError,
    InvalidSnapshotError,
    Origin,
    Transition,
    User,
    VerifiedCode,
)
from .notify import AlarmNotifier
from .security import ORIGIN_NAMES, LockoutPolicy, OpenSensorsError, Outcome, SecurityPanel
from .sensor_rules import SensorConfig, reading_of

_LOGGER = get_logger(__name__)

type TransitionListener = Callable[[list[Transition]], None]
type UpdateListener = Callable[[Context | None], None]


@dataclass(frozen=True, slots=True)
class PeerSource:
    """Where an inbound state came from: the target panel, its state and `last_updated`."""

    entity_id: str
    state: str
    last_updated: float


class AlarmStore(Store[dict[str, Any]]):
    """A Store of the alarm's runtime state whose version 1 layout `upgrade_v1` migrates."""

    def __init__(
        self,
        hass: HomeAssistant,
        version: int,
        key: str,
        upgrade_v1: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> None:
        """Bind the Store to its file and to how a version 1 file is read."""
        super().__init__(hass, version, key)
        self._upgrade_v1 = upgrade_v1

    @override
    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: dict[str, Any]
    ) -> dict[str, Any]:
        if old_major_version == 1:
            return self._upgrade_v1(old_data)
        # Same major version, another minor: the layout is compatible. A newer major version
        # never gets here: Store refuses it (UnsupportedStorageVersionError) before migrating.
        return old_data


class AlarmController:
    """Owns the security panel for one config entry. Call everything from the event loop."""

    def __init__(
        self,
        hass: HomeAssistant,
        config: AlarmConfig,
        *,
        users: Sequence[User] = (),
        sensors: Sequence[SensorConfig] = (),
        lockout: LockoutPolicy | None = None,
        notifier: AlarmNotifier,
    ) -> None:
        """Start disarmed; `async_load` replaces this with the stored snapshot."""
        self._hass = hass
        self._config = config
        self._users = tuple(users)
        self._sensors = tuple(sensors)
        self._lockout = lockout
        self.notifier = notifier
        # Version 1 held the machine's snapshot alone.
        self._store = AlarmStore(
            hass, ALARM_STORE_VERSION, ALARM_STORE_KEY, lambda data: {"machine": data}
        )
        self.panel = SecurityPanel(
            AlarmMachine(config, users=users, now=self._now()), sensors=sensors, lockout=lockout
        )
        self._commands = asyncio.Lock()
        self._listeners: list[UpdateListener] = []
        self._transition_listeners: list[TransitionListener] = []
        self._timer_job = HassJob(self._on_timer, "roomdb alarm timer", cancel_on_shutdown=True)
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._unsubs: list[CALLBACK_TYPE] = []
        self._stopped = False

    @staticmethod
    def _now() -> float:
        return dt_util.utcnow().timestamp()

    @property
    def machine(self) -> AlarmMachine:
        """The state machine (state, deadlines, codes)."""
        return self.panel.machine

    @property
    def changed_by(self) -> str | None:
        """The user whose code made the last change, or the sync target that made it."""
        return self.panel.changed_by

    def attributes(self) -> dict[str, Any]:
        """The panel entity's extra attributes: sensors, bypass, lockout."""
        panel = self.panel
        return {
            "open_sensors": panel.open_sensors,
            "bypassed_sensors": panel.bypassed,
            "unavailable_sensors": panel.unavailable_sensors,
            "triggered_by": panel.triggered_by,
            "lockout_until": iso_from_timestamp(panel.locked_until(self._now())),
        }

    # -- lifecycle -------------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Restore the stored state; the options' codes, sensors and timings replace stored ones."""
        try:
            data = await self._store.async_load()
            if data is None:
                return
            self.panel = SecurityPanel.restore(
                data,
                config=self._config,
                users=self._users,
                sensors=self._sensors,
                lockout=self._lockout,
            )
        except (InvalidSnapshotError, TypeError, AttributeError, ValueError) as err:
            _LOGGER.warning("Stored alarm state is unusable, starting disarmed: %s", err)

    @callback
    def async_start(self) -> None:
        """Catch up on delays that ran out while stopped, then schedule the next one."""
        self.async_advance()
        self._schedule()

    @callback
    def async_watch_sensors(self) -> None:
        """Follow the sensors once Home Assistant has started (their integrations load first)."""
        if self._sensors:
            self._unsubs.append(async_at_started(self._hass, self._start_sensors))

    async def async_stop(self) -> None:
        """Stop watching, cancel the timer and save the state with its absolute deadline."""
        self._stopped = True
        while self._unsubs:
            self._unsubs.pop()()
        self._cancel_timer()
        await self._store.async_save(self.panel.snapshot())

    @callback
    def async_add_listener(self, listener: UpdateListener) -> CALLBACK_TYPE:
        """Call `listener(context)` after every panel call; return the unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def async_add_transition_listener(self, listener: TransitionListener) -> CALLBACK_TYPE:
        """Call `listener(transitions)` with every call's transitions; return the unsubscribe."""
        self._transition_listeners.append(listener)
        return lambda: self._transition_listeners.remove(listener)

    # -- commands (AlarmError propagates: the entity translates it) ------------------------------

    async def async_arm(
        self,
        mode: AlarmState,
        code: str | None,
        context: Context | None = None,
        *,
        force: bool = False,
    ) -> None:
        """Arm `mode` (exit delay first, when the mode has one); `force` bypasses open sensors."""
        async with self._commands:
            verified = await self._async_check_code(code, mode)
            try:
                outcome = self.panel.arm(mode, self._now(), verified, force=force)
            except OpenSensorsError as err:
                user = None if verified is None else verified.user.name
                self._fire_events(Outcome(events=[err.event(user)]), context)
                raise
            self._process(outcome, context=context)

    async def async_disarm(self, code: str | None, context: Context | None = None) -> None:
        """Disarm."""
        async with self._commands:
            verified = await self._async_check_code(code, AlarmState.DISARMED)
            self._process(self.panel.disarm(self._now(), verified), context=context)

    @callback
    def trigger(self, context: Context | None = None) -> None:
        """Trigger (entry delay first, when the state has one)."""
        self._process(self.panel.trigger(self._now()), context=context)

    @callback
    def apply_external(
        self, state: AlarmState, source: PeerSource, context: Context | None = None
    ) -> None:
        """Take a state from the sync target; its transition is tagged PEER, never pushed back."""
        outcome = self.panel.apply_external(state, self._now(), source.entity_id)
        self._process(outcome, source, context)

    @callback
    def async_advance(self) -> None:
        """Apply timed transitions already due (before the sync compares states)."""
        outcome = self.panel.advance(self._now())
        if outcome.transitions or outcome.events:
            self._process(outcome)

    @contextmanager
    def refusals(self) -> Iterator[None]:
        """Turn a refused command into a translated error (sensors by name); it changed nothing."""
        try:
            yield
        except AlarmError as err:
            placeholders = dict(err.translation_placeholders)
            if isinstance(err, OpenSensorsError):
                placeholders["sensors"] = self.notifier.names(list(err.open_sensors))
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key=err.translation_key,
                translation_placeholders=placeholders,
            ) from err

    # -- internals -------------------------------------------------------------------------------

    async def _async_check_code(
        self, code: str | None, for_state: AlarmState
    ) -> VerifiedCode | None:
        """Check `code` in a worker thread: the key derivation is slow on purpose.

        A missing code, or any code during a lockout, is refused at once; without a code to
        check, nothing leaves the loop. A wrong code counts towards the lockout.
        """
        check = self.panel.code_check(code, for_state, self._now())
        if check is None:
            return None
        try:
            return await self._hass.async_add_executor_job(check.run)
        except InvalidCodeError:
            self._process(self.panel.code_failed(self._now()))
            raise

    @callback
    def _start_sensors(self, _hass: HomeAssistant) -> None:
        """Follow the sensors, and take their current states (`SecurityPanel.sensor_seen`).

        They may have changed while Home Assistant was down: a door open now trips an armed panel
        as its opening would have. A sensor just added in the options is only recorded.
        """
        if self._stopped:
            return
        self._unsubs.append(
            async_track_state_change_event(
                self._hass, [sensor.entity_id for sensor in self._sensors], self._on_sensor
            )
        )
        for sensor in self._sensors:
            current = self._hass.states.get(sensor.entity_id)
            reading = reading_of(None if current is None else current.state)
            self._process(self.panel.sensor_seen(sensor.entity_id, reading, self._now()))

    @callback
    def _on_sensor(self, event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        reading = reading_of(None if new_state is None else new_state.state)
        outcome = self.panel.sensor_changed(event.data["entity_id"], reading, self._now())
        self._process(outcome, context=event.context)

    @callback
    def _process(
        self, outcome: Outcome, source: PeerSource | None = None, context: Context | None = None
    ) -> None:
        """Publish one call's outcome: transitions, snapshot, timer, entity, sync, then events.

        The alarm events go last, so automations they start see the panel's new state.
        """
        for transition in outcome.transitions:
            self._fire(transition, source, context)
        self._store.async_delay_save(self.panel.snapshot)
        self._schedule()
        for listener in list(self._listeners):
            listener(context)
        if outcome.transitions:
            for transition_listener in list(self._transition_listeners):
                transition_listener(outcome.transitions)
        self._fire_events(outcome, context)

    def _fire_events(self, outcome: Outcome, context: Context | None) -> None:
        for event in outcome.events:
            self.notifier.async_fire(event, context)

    def _fire(
        self, transition: Transition, source: PeerSource | None, context: Context | None
    ) -> None:
        data: dict[str, Any] = {
            "old": str(transition.old),
            "new": str(transition.new),
            "origin": ORIGIN_NAMES[transition.origin],
            "at": iso_from_timestamp(transition.at),
        }
        if transition.origin is Origin.PEER and source is not None:
            data["target_entity_id"] = source.entity_id
            data["target_state"] = source.state
            data["target_last_updated"] = iso_from_timestamp(source.last_updated)
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
        self._process(self.panel.advance(now))
