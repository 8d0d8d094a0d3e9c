"""Conflict resolution (every row of the table, ties and skew, both authorities)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from custom_components.roomdb.alarm.conflict import (
    DEFAULT_SKEW_TOLERANCE,
    Decision,
    PendingChange,
    Resolution,
    resolve,
)
from custom_components.roomdb.alarm.machine import AlarmState

ADOPT = Decision.ADOPT_TARGET
PUSH = Decision.PUSH_LOCAL
DROP = Decision.DROP_PENDING_ADOPT_TARGET
NOOP = Decision.NOOP

AWAY = AlarmState.ARMED_AWAY
HOME = AlarmState.ARMED_HOME
OFF = AlarmState.DISARMED
T0 = 1_700_000_000.0  # the local reference time (pending change, or last local change)

# (id, target state, target last_updated - T0, decision when HA is authoritative, when local is)
WITH_PENDING = [
    ("target_newer", OFF, 10.0, DROP, DROP),
    ("target_older", OFF, -10.0, PUSH, PUSH),
    ("exact_tie", OFF, 0.0, DROP, PUSH),
    ("within_skew_newer", OFF, 1.5, DROP, PUSH),
    ("within_skew_older", OFF, -1.5, DROP, PUSH),
    ("at_skew_newer", OFF, 2.0, DROP, PUSH),
    ("at_skew_older", OFF, -2.0, DROP, PUSH),
    ("just_past_skew_newer", OFF, 2.001, DROP, DROP),
    ("just_past_skew_older", OFF, -2.001, PUSH, PUSH),
    ("target_already_has_pending_older", AWAY, -100.0, DROP, DROP),
    ("target_already_has_pending_newer", AWAY, 100.0, DROP, DROP),
    ("target_other_armed_mode_newer", HOME, 5.0, DROP, DROP),
    ("target_unusable_newer", None, 10.0, NOOP, NOOP),
    ("target_unusable_older", None, -10.0, NOOP, NOOP),
]


@pytest.mark.parametrize("authoritative", ["ha", "local"])
@pytest.mark.parametrize(
    ("target", "offset", "ha_decision", "local_decision"),
    [row[1:] for row in WITH_PENDING],
    ids=[row[0] for row in WITH_PENDING],
)
def test_with_pending_change(
    authoritative: str,
    target: AlarmState | None,
    offset: float,
    ha_decision: Decision,
    local_decision: Decision,
) -> None:
    result = resolve(
        target_state=target,
        target_last_updated=T0 + offset,
        pending=(AWAY, T0),
        last_local_change_time=T0,
        local_state=AWAY,
        ha_authoritative=authoritative == "ha",
    )
    assert isinstance(result, Resolution)
    assert result.decision is (ha_decision if authoritative == "ha" else local_decision)
    assert result.reason


# (id, target state, target last_updated - T0 or None, local state, decision HA auth, local auth)
WITHOUT_PENDING = [
    ("target_newer", OFF, 10.0, AWAY, ADOPT, ADOPT),
    ("target_older", OFF, -10.0, AWAY, NOOP, PUSH),
    ("exact_tie", OFF, 0.0, AWAY, ADOPT, PUSH),
    ("within_skew_newer", OFF, 1.5, AWAY, ADOPT, PUSH),
    ("within_skew_older", OFF, -1.5, AWAY, ADOPT, PUSH),
    ("at_skew", OFF, -2.0, AWAY, ADOPT, PUSH),
    ("just_past_skew_newer", OFF, 2.001, AWAY, ADOPT, ADOPT),
    ("just_past_skew_older", OFF, -2.001, AWAY, NOOP, PUSH),
    ("in_sync_newer", AWAY, 10.0, AWAY, NOOP, NOOP),
    ("in_sync_older", AWAY, -10.0, AWAY, NOOP, NOOP),
    ("in_sync_tie", AWAY, 0.0, AWAY, NOOP, NOOP),
    ("never_changed_locally", OFF, None, AWAY, ADOPT, ADOPT),
    ("target_intermediate_newer", AlarmState.ARMING, 10.0, OFF, ADOPT, ADOPT),
    ("target_triggered_newer", AlarmState.TRIGGERED, 10.0, AWAY, ADOPT, ADOPT),
    ("local_arming_older_target", OFF, -10.0, AlarmState.ARMING, NOOP, NOOP),
    ("local_pending_tie", AWAY, 0.0, AlarmState.PENDING, ADOPT, NOOP),
    ("local_triggered_older_target", AWAY, -10.0, AlarmState.TRIGGERED, NOOP, PUSH),
    ("target_unusable", None, 10.0, AWAY, NOOP, NOOP),
]


@pytest.mark.parametrize("authoritative", ["ha", "local"])
@pytest.mark.parametrize(
    ("target", "offset", "local", "expected"),
    [(*row[1:4], row[4:]) for row in WITHOUT_PENDING],
    ids=[row[0] for row in WITHOUT_PENDING],
)
def test_without_pending_change(
    authoritative: str,
    target: AlarmState | None,
    offset: float | None,
    local: AlarmState,
    expected: tuple[Decision, Decision],
) -> None:
    ha_decision, local_decision = expected
    result = resolve(
        target_state=target,
        target_last_updated=T0 + (offset if offset is not None else 50.0),
        pending=None,
        last_local_change_time=None if offset is None else T0,
        local_state=local,
        ha_authoritative=authoritative == "ha",
    )
    assert result.decision is (ha_decision if authoritative == "ha" else local_decision)


def test_defaults_are_ha_authoritative_with_two_second_skew() -> None:
    assert DEFAULT_SKEW_TOLERANCE == 2.0
    base: dict[str, Any] = {
        "target_state": OFF,
        "pending": (AWAY, T0),
        "last_local_change_time": T0,
    }
    assert resolve(**base, target_last_updated=T0, local_state=AWAY).decision is DROP
    assert resolve(**base, target_last_updated=T0 - 2.0, local_state=AWAY).decision is DROP
    assert resolve(**base, target_last_updated=T0 - 2.5, local_state=AWAY).decision is PUSH


@pytest.mark.parametrize(
    ("skew", "offset", "expected"),
    [
        (0.0, 0.0, DROP),  # exact tie still prefers the target
        (0.0, -0.001, PUSH),
        (0.0, 0.001, DROP),
        (10.0, -9.9, DROP),
        (10.0, -10.1, PUSH),
        (0.5, -1.0, PUSH),
    ],
)
def test_configurable_skew(skew: float, offset: float, expected: Decision) -> None:
    result = resolve(
        target_state=OFF,
        target_last_updated=T0 + offset,
        pending=(AWAY, T0),
        last_local_change_time=T0,
        local_state=AWAY,
        skew_tolerance=skew,
    )
    assert result.decision is expected


@pytest.mark.parametrize("skew", [-1.0, math.inf, math.nan])
def test_bad_skew_is_refused(skew: float) -> None:
    with pytest.raises(ValueError, match="skew"):
        resolve(
            target_state=OFF,
            target_last_updated=T0,
            pending=None,
            last_local_change_time=T0,
            local_state=AWAY,
            skew_tolerance=skew,
        )


def test_pending_uses_its_own_time_not_the_last_local_change() -> None:
    """With a pending change, only its time counts (the last local change may be later)."""
    result = resolve(
        target_state=OFF,
        target_last_updated=T0 + 10,
        pending=PendingChange(AWAY, T0),
        last_local_change_time=T0 + 20,  # e.g. a later unpushed ARMING or PENDING
        local_state=AlarmState.PENDING,
    )
    assert result.decision is DROP


def test_pending_change_is_a_tuple() -> None:
    pending = PendingChange(AWAY, T0)
    assert pending == (AWAY, T0)
    state, at = pending
    assert (state, at) == (AWAY, T0)


def test_reasons_name_the_rule() -> None:
    def reason(**kwargs: Any) -> str:
        args: dict[str, Any] = {
            "target_state": OFF,
            "pending": (AWAY, T0),
            "last_local_change_time": T0,
            "local_state": AWAY,
        }
        args.update(kwargs)
        return resolve(**args).reason

    assert reason(target_last_updated=T0 + 5) == "target_newer_than_pending"
    assert reason(target_last_updated=T0 - 5) == "pending_newer_than_target"
    assert reason(target_last_updated=T0) == "tie_target_authoritative"
    assert reason(target_last_updated=T0, ha_authoritative=False) == "tie_local_authoritative"
    assert reason(target_last_updated=T0, pending=None, target_state=AWAY) == "in_sync"
