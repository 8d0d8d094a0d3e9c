"""Conflict resolution for alarm sync: pure, no Home Assistant import.

`resolve()` runs when the target is reachable: on each inbound target state change that is not the
echo of RoomDB's own call, and once on reconnect. It compares the target's `last_updated` with the
time of RoomDB's pending (unpushed) change, or, without one, of RoomDB's last local change:

| pending | target state                  | winner | decision                        |
|---------|-------------------------------|--------|---------------------------------|
| any     | unknown, unavailable, ""      | -      | NOOP (a pending change is kept) |
| yes     | equals the pending state      | -      | DROP_PENDING_ADOPT_TARGET       |
| yes     | differs                       | target | DROP_PENDING_ADOPT_TARGET       |
| yes     | differs                       | local  | PUSH_LOCAL (the pending state)  |
| no      | equals the local state        | -      | NOOP                            |
| no      | differs, no local change yet  | -      | ADOPT_TARGET                    |
| no      | differs                       | target | ADOPT_TARGET                    |
| no      | differs, HA authoritative     | local  | NOOP                            |
| no      | differs, local authoritative  | local  | PUSH_LOCAL (the local state);   |
|         |                               |        | NOOP while local is ARMING or   |
|         |                               |        | PENDING (its timer will push)   |

Winner: the newer timestamp wins. Timestamps within `skew_tolerance` seconds of each other
(|target - local| <= skew, so exact ties too) are a tie, and a tie goes to the authoritative side:
the target when `ha_authoritative` (the default), RoomDB when local is authoritative. So in both
modes a change that is clearly newer wins; authority decides what clocks cannot, and whether
RoomDB actively corrects a diverged target when it has no pending change.

Loop freedom: ADOPT decisions are applied with `AlarmMachine.apply_external` (never pushed), and
PUSH_LOCAL only re-sends a local change. `observe()` tells the target's answers to RoomDB's own
calls apart (Home Assistant stamps a state with the context of the call that caused it, and keeps
stamping the entity's next states with it for a few seconds):

- an echo carries a call's context and shows the state of that call or of an earlier one not yet
  answered (or the state a panel passes through on its way there: `arming` before an armed state,
  `pending` before `triggered`), chosen no earlier than the call. It is recorded, never resolved;
  the target then shows RoomDB's own change, so any newer local change beats it (its stamp is
  -inf) and is sent.
- a state carrying a call's context but showing something else is the target's answer to that call
  (a panel that maps a mode to another, a keypad used within seconds): it wins over the change it
  answers (stamp +inf), so RoomDB never repeats a call the target answered otherwise.
- a reconnect (the target back from unknown/unavailable) is never an echo, whatever its context:
  back in the state it had, its stamp from before the outage counts; back in another state, it
  changed unseen and wins (+inf).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
import math
from typing import Final, NamedTuple

from .machine import ARMED_STATES, AlarmState

DEFAULT_SKEW_TOLERANCE: Final = 2.0


class Decision(StrEnum):
    """What the sync layer should do after comparing the target with local state."""

    ADOPT_TARGET = "adopt_target"
    """Apply the target state locally (`apply_external`); nothing is pending."""
    PUSH_LOCAL = "push_local"
    """Push the pending change, or without one the local state, to the target."""
    DROP_PENDING_ADOPT_TARGET = "drop_pending_adopt_target"
    """Forget the pending change and apply the target state locally."""
    NOOP = "noop"
    """Change nothing (a pending change stays pending)."""


class PendingChange(NamedTuple):
    """The latest local change not yet pushed to the target."""

    state: AlarmState
    at: float


@dataclass(frozen=True, slots=True)
class Resolution:
    """A decision and a short machine-readable reason (for logs and diagnostics)."""

    decision: Decision
    reason: str


def resolve(
    *,
    target_state: AlarmState | None,
    target_last_updated: float,
    pending: tuple[AlarmState, float] | None,
    last_local_change_time: float | None,
    local_state: AlarmState,
    ha_authoritative: bool = True,
    skew_tolerance: float = DEFAULT_SKEW_TOLERANCE,
) -> Resolution:
    """Decide between the target's state and RoomDB's; see the module docstring for the table.

    `target_state` is the already mapped target state (`mapping.map_inbound`), None when unusable;
    `target_last_updated` the stamp `observe()` gave it: +inf when the target wins regardless,
    -inf when it shows RoomDB's own change.
    """
    if not math.isfinite(skew_tolerance) or skew_tolerance < 0:
        raise ValueError(f"skew_tolerance must be finite and >= 0, got {skew_tolerance!r}")
    if target_state is None:
        return Resolution(Decision.NOOP, "target_state_unusable")

    if pending is not None:
        pending_state, pending_at = pending
        if target_state is pending_state:
            return Resolution(Decision.DROP_PENDING_ADOPT_TARGET, "target_has_pending_state")
        target_wins, tie = _target_wins(
            target_last_updated, pending_at, ha_authoritative, skew_tolerance
        )
        if target_wins:
            reason = "tie_target_authoritative" if tie else "target_newer_than_pending"
            return Resolution(Decision.DROP_PENDING_ADOPT_TARGET, reason)
        reason = "tie_local_authoritative" if tie else "pending_newer_than_target"
        return Resolution(Decision.PUSH_LOCAL, reason)

    if target_state is local_state:
        return Resolution(Decision.NOOP, "in_sync")
    if last_local_change_time is None:
        return Resolution(Decision.ADOPT_TARGET, "no_local_change")
    target_wins, tie = _target_wins(
        target_last_updated, last_local_change_time, ha_authoritative, skew_tolerance
    )
    if target_wins:
        reason = "tie_target_authoritative" if tie else "target_newer_than_local"
        return Resolution(Decision.ADOPT_TARGET, reason)
    if ha_authoritative:
        return Resolution(Decision.NOOP, "local_newer_than_target")
    if local_state in (AlarmState.ARMING, AlarmState.PENDING):
        return Resolution(Decision.NOOP, "local_in_transition")
    reason = "tie_local_authoritative" if tie else "local_authoritative_newer"
    return Resolution(Decision.PUSH_LOCAL, reason)


def _target_wins(
    target_at: float, local_at: float, ha_authoritative: bool, skew: float
) -> tuple[bool, bool]:
    """Return (whether the target wins, whether it was a tie)."""
    delta = target_at - local_at
    if abs(delta) <= skew:
        return ha_authoritative, True
    return delta > 0, False


class Push(NamedTuple):
    """One of RoomDB's calls to the target, remembered under the call's context."""

    change: PendingChange
    sent_at: float


class TargetView(NamedTuple):
    """What the sync knows of the target's usable state."""

    state: AlarmState
    at: float
    """When the target chose the state (its `last_updated`, kept across outages and changes of
    attributes alone)."""
    answers: Push | None = None
    """RoomDB's own call this state carries out; None when the target chose the state itself."""

    @property
    def stamp(self) -> float:
        """The target time `resolve()` compares: -inf for RoomDB's own change (any newer wins)."""
        return -math.inf if self.answers is not None else self.at


class Observation(NamedTuple):
    """How to take one usable target state (see `observe`)."""

    view: TargetView
    """What to remember of the target from now on."""
    echo: Push | None
    """The call this state is the echo of: record it, never resolve it. None: no echo."""
    stamp: float
    """The target time to resolve with (+inf: the target wins)."""


def carries_out(shown: AlarmState, pushed: AlarmState) -> bool:
    """Return whether a panel showing `shown` has taken `pushed`, or is on its way there."""
    if shown is pushed:
        return True
    if shown is AlarmState.ARMING:
        return pushed in ARMED_STATES
    return shown is AlarmState.PENDING and pushed is AlarmState.TRIGGERED


def observe(
    previous: TargetView | None,
    state: AlarmState,
    last_updated: float,
    *,
    reconnect: bool,
    calls: Sequence[Push],
    pending: PendingChange | None,
) -> Observation:
    """Interpret a usable target state; see "Loop freedom" in the module docstring.

    `previous` is what was known before, `last_updated` the state's stamp and `reconnect` whether
    the target was unusable until now. `calls` are RoomDB's calls the state may answer, oldest
    first: when it carries the context of one, that call and those before it; otherwise none.
    `pending` is the local change not yet confirmed.

    A state answers a call made since the previous state was chosen (or since the call the previous
    state answered) and no later than the state itself: a panel that reports asynchronously may
    show a first call's state with a second call's context, while a state RoomDB asked for earlier
    than that is the target's own choice again.
    """
    if reconnect:
        if previous is None:
            return Observation(TargetView(state, last_updated), None, last_updated)
        if previous.state is state:
            return Observation(previous, None, previous.stamp)
        return Observation(TargetView(state, last_updated), None, math.inf)
    since = -math.inf
    if previous is not None:
        since = previous.at if previous.answers is None else previous.answers.sent_at
    for call in reversed(calls):
        if since <= call.sent_at <= last_updated and carries_out(state, call.change.state):
            return Observation(TargetView(state, last_updated, call), call, -math.inf)
    if previous is not None and previous.state is state:
        return Observation(previous, None, previous.stamp)  # a change of attributes alone
    if calls:
        # The target answered RoomDB's call with another state: that wins over the change it
        # answers (sending that change again would get the same answer), not over a newer one.
        answered = pending is None or pending.at <= calls[-1].change.at
        return Observation(
            TargetView(state, last_updated), None, math.inf if answered else last_updated
        )
    if (
        previous is not None
        and previous.answers is not None
        and state is previous.answers.change.state
    ):
        # The target reached the state RoomDB asked for (its exit delay ran out).
        view = TargetView(state, last_updated, previous.answers)
        return Observation(view, None, view.stamp)
    return Observation(TargetView(state, last_updated), None, last_updated)
