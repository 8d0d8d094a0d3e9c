"""Seeded soak: RoomDB's panel and a target panel, synced with the pure core, through outages.

Two `AlarmMachine`s (with different timings) stand for RoomDB's panel and the target panel. `Link`
plays the part of alarm/sync.py with nothing but machine + mapping + conflict: every machine call's
transitions go through `outbound_transition` (so a peer change could only be pushed if that filter
failed), every target state goes through `observe()` (which tells the echo of RoomDB's own call from
the target's own changes), the others through `resolve()`, outages queue only the latest local
change, failed pushes retry with backoff, and a reconnect runs the rules once.

The target reports `last_updated` as the time its state last really changed (an outage of the link
does not touch it) and shows each mode as itself (every mode, custom bypass included, is sent as
the same mode). Like a Home Assistant entity, it stamps its states with the context
of the last call made to it for `CONTEXT_WINDOW` seconds: its timers and its keypad then report with
RoomDB's context too, while a use through Home Assistant brings its own context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import random

import pytest

from custom_components.roomdb.alarm.conflict import (
    Decision,
    PendingChange,
    Push,
    TargetView,
    observe,
    resolve,
)
from custom_components.roomdb.alarm.machine import (
    ARMED_STATES,
    STABLE_STATES,
    AlarmConfig,
    AlarmError,
    AlarmMachine,
    AlarmState,
    ModeTimes,
    Transition,
    User,
)
from custom_components.roomdb.alarm.state_mapping import (
    map_inbound,
    map_outbound,
    outbound_transition,
)
from custom_components.roomdb.backoff import Backoff

S = AlarmState
T0 = 1_700_000_000.0
OURS = "roomdb-"
"""The prefix of RoomDB's call contexts."""
CONTEXT_WINDOW = 5.0
"""How long a Home Assistant entity keeps stamping its states with the last call's context."""
LOCAL_CODE = "4321"
TARGET_CODE = "9876"
MODES = sorted(ARMED_STATES)
SERVICE_MODE = {
    "alarm_arm_home": S.ARMED_HOME,
    "alarm_arm_away": S.ARMED_AWAY,
    "alarm_arm_night": S.ARMED_NIGHT,
    "alarm_arm_vacation": S.ARMED_VACATION,
    "alarm_arm_custom_bypass": S.ARMED_CUSTOM_BYPASS,
}


class LinkDownError(Exception):
    """The target cannot be reached."""


def random_config(rng: random.Random) -> AlarmConfig:
    def times() -> ModeTimes:
        return ModeTimes(
            arming_time=rng.choice([0, 0, 1, 5, 30, 60]),
            delay_time=rng.choice([0, 1, 10, 30]),
            trigger_time=rng.choice([0, 3, 60, 120]),
        )

    return AlarmConfig(
        times={state: times() for state in sorted(STABLE_STATES)},
        disarm_after_trigger=rng.random() < 0.5,
    )


@dataclass
class Target:
    """The target panel as Home Assistant would show it, behind a link that can go down."""

    machine: AlarmMachine
    supports_trigger: bool
    habits: random.Random
    """Whether someone uses the panel through Home Assistant or its keypad: a die of its own, so
    the world's dice fall as they did before it was added."""
    link: Link | None = None
    link_up: bool = True
    shown: str = "disarmed"
    last_updated: float = T0
    context: tuple[str, float] | None = None
    """The context of the last call to the panel, and when it came."""
    echoes: int = 0

    def _emit(self, transitions: list[Transition]) -> None:
        for transition in transitions:
            new = transition.new
            self.shown = str(new)
            self.last_updated = transition.at
            context = self.context_at(transition.at)
            if self.link_up and self.link is not None:
                if context is not None and context.startswith(OURS):
                    self.echoes += 1
                self.link.on_target_event(self.shown, self.last_updated, context, transition.at)

    def context_at(self, now: float) -> str | None:
        """The context a state written at `now` carries."""
        if self.context is not None and now - self.context[1] <= CONTEXT_WINDOW:
            return self.context[0]
        return None

    def tick(self, now: float) -> None:
        self._emit(self.machine.advance(now))

    def user(self, rng: random.Random, now: float) -> None:
        """Someone uses the target: through Home Assistant (a new context) or its own keypad."""
        if self.habits.random() < 0.5:
            self.context = (f"target-user-{now}", now)
        roll = rng.random()
        if roll < 0.45:
            transitions = self.machine.arm(rng.choice(MODES), now, TARGET_CODE)
        elif roll < 0.8:
            transitions = self.machine.disarm(now, TARGET_CODE)
        else:
            transitions = self.machine.trigger(now)
        self._emit(transitions)

    def call(self, service: str, now: float, code: str | None, context: str) -> None:
        """An `alarm_control_panel` service call from RoomDB, with RoomDB's context."""
        if not self.link_up:
            raise LinkDownError
        self.context = (context, now)
        if service == "alarm_disarm":
            transitions = self.machine.disarm(now, code)
        elif service == "alarm_trigger":
            assert self.supports_trigger, "alarm_trigger sent to a target without trigger"
            transitions = self.machine.trigger(now)
        else:
            transitions = self.machine.arm(SERVICE_MODE[service], now, code)
        self._emit(transitions)


@dataclass
class Link:
    """What alarm/sync.py does, with only the pure core."""

    local: AlarmMachine
    target: Target
    ha_authoritative: bool
    rng: random.Random
    pending: PendingChange | None = None
    view: TargetView | None = None
    calls: dict[str, Push] = field(default_factory=dict)
    """RoomDB's calls by context."""
    retry_at: float | None = None
    backoff: Backoff = field(init=False)
    applying_inbound: bool = False
    # counters
    pushes: int = 0
    pushes_ok: int = 0
    pushes_failed: int = 0
    pushes_during_inbound: int = 0
    adopted: int = 0
    pushable_local_changes: int = 0
    reconnects: int = 0
    decisions: dict[Decision, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.backoff = Backoff(rng=self.rng.random)

    # -- outbound ---------------------------------------------------------------------------

    def on_local(self, transitions: list[Transition], now: float) -> None:
        """Called with the transitions of every local machine call, inbound ones included."""
        chosen = outbound_transition(transitions, supports_trigger=self.target.supports_trigger)
        if chosen is None:
            return
        self.pushable_local_changes += 1
        self.pending = PendingChange(chosen.new, chosen.at)  # only the latest is kept
        self.push(now)

    def push(self, now: float) -> None:
        if self.pending is None or not self.target.link_up:
            return  # offline: stays pending until the reconnect
        service = map_outbound(self.pending.state, supports_trigger=self.target.supports_trigger)
        assert service is not None
        self.pushes += 1
        if self.applying_inbound:
            self.pushes_during_inbound += 1
        context = f"{OURS}{self.pushes}"
        self.calls[context] = Push(self.pending, now)
        try:
            self.target.call(service, now, TARGET_CODE, context)
        except AlarmError:
            self.pushes_failed += 1
            self.retry_at = now + self.backoff.next_delay()
            return
        self.pushes_ok += 1
        self.pending = None
        self.retry_at = None
        self.backoff.reset()

    # -- inbound ----------------------------------------------------------------------------

    def on_target_event(
        self, shown: str, last_updated: float, context: str | None, now: float
    ) -> None:
        self.on_state(shown, last_updated, context, now, reconnect=False)

    def on_reconnect(self, now: float) -> None:
        """The target is back: its state, with whatever context it still carries."""
        self.reconnects += 1
        context = self.target.context_at(now)
        self.on_state(self.target.shown, self.target.last_updated, context, now, reconnect=True)

    def on_state(
        self, shown: str, last_updated: float, context: str | None, now: float, *, reconnect: bool
    ) -> None:
        mapped = map_inbound(shown)
        assert mapped is not None
        carried = None if context is None else self.calls.get(context)
        calls = (
            []
            if carried is None
            else [c for c in self.calls.values() if c.sent_at <= carried.sent_at]
        )
        seen = observe(
            self.view, mapped, last_updated, reconnect=reconnect, calls=calls, pending=self.pending
        )
        self.view = seen.view
        if seen.echo is None:
            self.reconcile(now, seen.stamp)
        elif self.pending is not None and self.pending != seen.echo.change:
            self.push(now)  # a newer change waits behind the one echoed

    def on_retry(self, now: float) -> None:
        self.retry_at = None
        if self.target.link_up:
            assert self.view is not None
            self.reconcile(now, self.view.stamp)

    def reconcile(self, now: float, target_stamp: float) -> None:
        assert self.view is not None
        mapped = self.view.state
        local_state = self.local.state
        assert local_state is self.local.state_at(now), "timers must be fired on time"
        result = resolve(
            target_state=mapped,
            target_last_updated=target_stamp,
            pending=self.pending,
            last_local_change_time=self.local.last_local_change_at,
            local_state=local_state,
            ha_authoritative=self.ha_authoritative,
        )
        self.decisions[result.decision] = self.decisions.get(result.decision, 0) + 1
        if result.decision in (Decision.ADOPT_TARGET, Decision.DROP_PENDING_ADOPT_TARGET):
            if result.decision is Decision.DROP_PENDING_ADOPT_TARGET:
                self.pending = None
                self.retry_at = None
                self.backoff.reset()
            self.applying_inbound = True
            try:
                transitions = self.local.apply_external(mapped, now)
                self.adopted += bool(transitions)
                self.on_local(transitions, now)  # the generic path: must push nothing
            finally:
                self.applying_inbound = False
        elif result.decision is Decision.PUSH_LOCAL:
            if self.pending is None:
                service = map_outbound(local_state, supports_trigger=self.target.supports_trigger)
                if service is None:
                    return
                self.pending = PendingChange(local_state, now)
            self.push(now)


@dataclass
class World:
    """Both panels, the link, and a clock that fires every timer on time."""

    rng: random.Random
    local: AlarmMachine
    target: Target
    link: Link
    now: float = T0
    user_actions: int = 0
    refused: int = 0
    outages: int = 0

    def run_until(self, end: float) -> None:
        while True:
            due = [
                (deadline, order)
                for order, deadline in enumerate(
                    (
                        self.local.next_deadline(),
                        self.target.machine.next_deadline(),
                        self.link.retry_at,
                    )
                )
                if deadline is not None and deadline <= end
            ]
            if not due:
                break
            at, which = min(due)
            self.now = max(self.now, at)
            if which == 0:
                self.link.on_local(self.local.advance(at), at)
            elif which == 1:
                self.target.tick(at)
            else:
                self.link.on_retry(at)
        self.now = max(self.now, end)

    def local_user(self) -> None:
        roll = self.rng.random()
        if roll < 0.45:
            transitions = self.local.arm(self.rng.choice(MODES), self.now, LOCAL_CODE)
        elif roll < 0.8:
            transitions = self.local.disarm(self.now, LOCAL_CODE)
        else:
            transitions = self.local.trigger(self.now)
        self.link.on_local(transitions, self.now)

    def step(self) -> None:
        gap = self.rng.choice([0.05, 0.5, 1.5, 2.5, 4.0, 15.0, 45.0, 90.0, 400.0])
        self.run_until(self.now + gap * self.rng.random())
        roll = self.rng.random()
        if roll < 0.1:  # the link goes down or comes back
            if self.target.link_up:
                self.target.link_up = False
                self.outages += 1
            else:
                self.target.link_up = True
                self.link.on_reconnect(self.now)
            return
        self.user_actions += 1
        try:
            if roll < 0.55:
                self.local_user()
            else:
                self.target.user(self.rng, self.now)
        except AlarmError:
            self.refused += 1  # e.g. arming during an alarm: refused, nothing changes

    def settle(self) -> None:
        if not self.target.link_up:
            self.target.link_up = True
            self.link.on_reconnect(self.now)
        for _ in range(5):
            self.run_until(self.now + 3600)


def make_world(seed: int, *, ha_authoritative: bool, supports_trigger: bool) -> World:
    rng = random.Random(seed)
    local = AlarmMachine(
        random_config(rng), users=[User.create("local", LOCAL_CODE, iterations=1)], now=T0
    )
    target_machine = AlarmMachine(
        random_config(rng), users=[User.create("target", TARGET_CODE, iterations=1)], now=T0
    )
    target = Target(
        target_machine, supports_trigger=supports_trigger, habits=random.Random(seed + 1)
    )
    link = Link(local, target, ha_authoritative=ha_authoritative, rng=rng)
    target.link = link
    shown = map_inbound(target.shown)
    assert shown is not None
    link.view = TargetView(shown, target.last_updated)
    return World(rng, local, target, link)


@pytest.mark.parametrize("supports_trigger", [True, False], ids=["trigger", "no_trigger"])
@pytest.mark.parametrize("ha_authoritative", [True, False], ids=["ha_auth", "local_auth"])
@pytest.mark.parametrize("seed", [1, 2, 3, 20260])
def test_soak_converges_without_loops(
    seed: int, ha_authoritative: bool, supports_trigger: bool
) -> None:
    world = make_world(seed, ha_authoritative=ha_authoritative, supports_trigger=supports_trigger)
    link, local, target = world.link, world.local, world.target

    while world.user_actions < 500:
        world.step()
    world.settle()

    # converged: same state on both sides, nothing queued, nothing running
    assert map_inbound(target.shown) is local.state
    assert local.state in STABLE_STATES
    assert local.next_deadline() is None
    assert target.machine.next_deadline() is None
    assert link.pending is None
    assert link.retry_at is None

    # no ping-pong: an inbound-applied change never produced an outbound push ...
    assert link.pushes_during_inbound == 0
    # ... every push was for a local change or a PUSH_LOCAL decision ...
    push_decisions = link.decisions.get(Decision.PUSH_LOCAL, 0)
    assert link.pushes_ok <= link.pushable_local_changes + push_decisions
    # ... and the synced pair is quiet: a further day without users changes and sends nothing
    counters = (link.pushes, link.adopted, target.echoes, dict(link.decisions))
    world.run_until(world.now + 86_400)
    assert (link.pushes, link.adopted, target.echoes, dict(link.decisions)) == counters

    # the soak exercised what it claims to
    assert world.outages >= 10
    assert link.reconnects >= 10
    assert link.pushes_ok >= 30
    assert link.adopted >= 50
    assert target.echoes >= 20
    assert link.decisions.get(Decision.ADOPT_TARGET, 0) > 0
    assert link.decisions.get(Decision.DROP_PENDING_ADOPT_TARGET, 0) > 0
    assert push_decisions > 0


def test_soak_is_deterministic_per_seed() -> None:
    def run() -> tuple[object, ...]:
        world = make_world(7, ha_authoritative=True, supports_trigger=True)
        while world.user_actions < 200:
            world.step()
        world.settle()
        return (world.now, world.local.snapshot()["state"], world.link.pushes, world.link.adopted)

    assert run() == run()


def test_the_harness_catches_a_ping_pong(monkeypatch: pytest.MonkeyPatch) -> None:
    """An outbound filter that ignores origins pushes peer changes back, and the soak sees it."""
    world = make_world(5, ha_authoritative=True, supports_trigger=True)
    link = world.link

    def leaky_on_local(transitions: list[Transition], now: float) -> None:
        for transition in reversed(transitions):
            if map_outbound(transition.new, supports_trigger=True) is not None:
                link.pending = PendingChange(transition.new, transition.at)
                link.push(now)
                return

    monkeypatch.setattr(link, "on_local", leaky_on_local)
    while world.user_actions < 100:
        world.step()
    assert link.pushes_during_inbound > 0
