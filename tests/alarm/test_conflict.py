"""Conflict resolution (every row of the table, ties and skew, both authorities), and how a target
state is taken (echoes of RoomDB's calls, the target's answers, reconnects)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from custom_components.roomdb.alarm.conflict import (
    DEFAULT_SKEW_TOLERANCE,
    Decision,
    Observation,
    PendingChange,
    Push,
    Resolution,
    TargetView,
    carries_out,
    observe,
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


# -- observe: echoes, answers and reconnects ------------------------------------------------------

NIGHT = AlarmState.ARMED_NIGHT
ARMING = AlarmState.ARMING
CALL_AWAY = Push(PendingChange(AWAY, T0), T0 + 0.1)
CALL_HOME = Push(PendingChange(HOME, T0 + 1), T0 + 1.1)
BEFORE = TargetView(OFF, T0 - 60)  # the target's own state from before the calls
ECHOED_AWAY = TargetView(AWAY, T0 + 0.2, CALL_AWAY)


def test_echo_is_the_state_the_call_pushed() -> None:
    seen = observe(BEFORE, AWAY, T0 + 0.2, reconnect=False, calls=[CALL_AWAY], pending=None)
    assert seen == Observation(ECHOED_AWAY, CALL_AWAY, -math.inf)
    assert seen.view.stamp == -math.inf  # RoomDB's own change: any newer local change beats it


def test_exit_delay_on_the_way_is_an_echo_and_its_end_stays_roomdbs() -> None:
    arming = observe(BEFORE, ARMING, T0 + 0.2, reconnect=False, calls=[CALL_AWAY], pending=None)
    assert arming.echo == CALL_AWAY
    armed = observe(arming.view, AWAY, T0 + 60, reconnect=False, calls=[], pending=None)
    assert armed == Observation(TargetView(AWAY, T0 + 60, CALL_AWAY), None, -math.inf)


def test_reconnect_is_never_an_echo() -> None:
    """Back within Home Assistant's context window, the state still carries the call's context."""
    pending = PendingChange(HOME, T0 + 0.5)
    back = observe(ECHOED_AWAY, AWAY, T0 + 0.8, reconnect=True, calls=[CALL_AWAY], pending=pending)
    assert back == Observation(ECHOED_AWAY, None, -math.inf)
    assert (
        resolve(
            target_state=AWAY,
            target_last_updated=back.stamp,
            pending=pending,
            last_local_change_time=T0,
            local_state=HOME,
        ).decision
        is PUSH
    )  # the change queued during the outage is sent


@pytest.mark.parametrize(
    ("previous", "state", "expected"),
    [
        (BEFORE, OFF, Observation(BEFORE, None, BEFORE.at)),  # back as it was: its old stamp
        (BEFORE, HOME, Observation(TargetView(HOME, T0 + 5), None, math.inf)),  # changed unseen
        (None, HOME, Observation(TargetView(HOME, T0 + 5), None, T0 + 5)),  # never seen before
    ],
)
def test_reconnect_stamps(
    previous: TargetView | None, state: AlarmState, expected: Observation
) -> None:
    assert observe(previous, state, T0 + 5, reconnect=True, calls=[], pending=None) == expected


@pytest.mark.parametrize(
    ("pending", "stamp"),
    [
        (None, math.inf),  # the call is done: the answer wins
        (CALL_AWAY.change, math.inf),  # still in flight: the answer wins over it
        (PendingChange(HOME, T0 + 0.15), T0 + 0.2),  # a newer change: compared as usual
    ],
)
def test_another_state_with_the_calls_context_is_the_targets_answer(
    pending: PendingChange | None, stamp: float
) -> None:
    seen = observe(BEFORE, NIGHT, T0 + 0.2, reconnect=False, calls=[CALL_AWAY], pending=pending)
    assert seen == Observation(TargetView(NIGHT, T0 + 0.2), None, stamp)


def test_late_report_of_an_earlier_call_is_its_echo() -> None:
    """A panel reporting after the calls shows the first call's state with the second's context."""
    calls = [CALL_AWAY, CALL_HOME]
    first = observe(BEFORE, AWAY, T0 + 1.2, reconnect=False, calls=calls, pending=None)
    assert first.echo == CALL_AWAY
    second = observe(first.view, HOME, T0 + 1.3, reconnect=False, calls=calls, pending=None)
    assert second.echo == CALL_HOME


def test_state_of_an_answered_call_chosen_again_is_the_targets() -> None:
    """After the home call's echo, a keypad choosing away (still in the context window)."""
    echoed_home = TargetView(HOME, T0 + 1.2, CALL_HOME)
    seen = observe(
        echoed_home, AWAY, T0 + 2, reconnect=False, calls=[CALL_AWAY, CALL_HOME], pending=None
    )
    assert seen == Observation(TargetView(AWAY, T0 + 2), None, math.inf)


def test_state_chosen_before_the_call_is_no_echo() -> None:
    """A write of attributes alone keeps the old stamp: the state was there before the call."""
    had_away = TargetView(AWAY, T0 - 10)
    seen = observe(had_away, AWAY, T0 - 10, reconnect=False, calls=[CALL_AWAY], pending=None)
    assert seen == Observation(had_away, None, T0 - 10)


def test_other_contexts_are_the_targets_own_changes() -> None:
    seen = observe(ECHOED_AWAY, HOME, T0 + 30, reconnect=False, calls=[], pending=None)
    assert seen == Observation(TargetView(HOME, T0 + 30), None, T0 + 30)
    same = observe(ECHOED_AWAY, AWAY, T0 + 0.2, reconnect=False, calls=[], pending=None)
    assert same == Observation(ECHOED_AWAY, None, -math.inf)  # attributes alone


@pytest.mark.parametrize(
    ("shown", "pushed", "expected"),
    [
        (AWAY, AWAY, True),
        (ARMING, AWAY, True),
        (ARMING, NIGHT, True),
        (ARMING, OFF, False),
        (AlarmState.PENDING, AlarmState.TRIGGERED, True),
        (AlarmState.PENDING, AWAY, False),
        (HOME, AWAY, False),
        (OFF, AlarmState.TRIGGERED, False),
    ],
)
def test_carries_out(shown: AlarmState, pushed: AlarmState, expected: bool) -> None:
    assert carries_out(shown, pushed) is expected
