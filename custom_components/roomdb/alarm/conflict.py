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
PUSH_LOCAL only re-sends a local change; after a push the target's echo is ignored by context, and
its later timed transitions are newer than the local change, so they are adopted, never re-pushed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
import math
from typing import Final, NamedTuple

from .machine import AlarmState

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

    `target_state` is the already mapped target state (`mapping.map_inbound`), None when unusable.
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
