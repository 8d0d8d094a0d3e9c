"""RoomDB's alarm state machine: transitions, delays, codes and users, snapshots, peer states."""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

import pytest

from custom_components.roomdb.alarm.machine import (
    ARMED_STATES,
    CODE_HASH_ITERATIONS,
    DEFAULT_ARMING_TIME,
    AlarmConfig,
    AlarmError,
    AlarmMachine,
    AlarmState,
    CodeHash,
    CodeRequiredError,
    InvalidCodeError,
    InvalidSnapshotError,
    InvalidTransitionError,
    ModeTimes,
    NotPermittedError,
    Origin,
    Transition,
    User,
    VerifiedCode,
)

S = AlarmState
T0 = 1_700_000_000.0
FAST = 1_000  # PBKDF2 iterations for tests; production uses CODE_HASH_ITERATIONS


def state_of(alarm: AlarmMachine) -> AlarmState:
    """Read the state afresh (mypy would keep an earlier `alarm.state is X` narrowing)."""
    return alarm.state


def config(**overrides: Any) -> AlarmConfig:
    """Distinct timings per mode, so a test notices when the wrong mode's timing is used."""
    times = {
        S.DISARMED: ModeTimes(arming_time=0, delay_time=0, trigger_time=0),
        S.ARMED_HOME: ModeTimes(arming_time=0, delay_time=10, trigger_time=100),
        S.ARMED_AWAY: ModeTimes(arming_time=60, delay_time=30, trigger_time=120),
        S.ARMED_NIGHT: ModeTimes(arming_time=20, delay_time=0, trigger_time=90),
        S.ARMED_VACATION: ModeTimes(arming_time=45, delay_time=40, trigger_time=0),
    }
    return AlarmConfig(times=overrides.pop("times", times), **overrides)


def armed(mode: AlarmState = S.ARMED_AWAY, **overrides: Any) -> AlarmMachine:
    alarm = AlarmMachine(config(**overrides), now=T0)
    alarm.arm(mode, T0)
    alarm.advance(T0 + 1000)
    assert state_of(alarm) is mode
    return alarm


# -- defaults ---------------------------------------------------------------------------------


def test_starts_disarmed_without_a_code() -> None:
    alarm = AlarmMachine(now=T0)
    assert state_of(alarm) is S.DISARMED
    assert alarm.next_deadline() is None
    assert alarm.target is None
    assert not alarm.has_code
    assert alarm.code_arm_required is False
    assert alarm.code_format is None
    assert alarm.changed_at == T0
    assert alarm.last_local_change_at is None


def test_default_timings_follow_the_manual_panel() -> None:
    times = AlarmConfig().times_for(S.ARMED_AWAY)
    assert (times.arming_time, times.delay_time, times.trigger_time) == (60.0, 60.0, 120.0)
    assert AlarmConfig().disarm_after_trigger is False
    assert AlarmConfig().arming_modes == ARMED_STATES


# -- arming -----------------------------------------------------------------------------------


def test_arm_runs_the_exit_delay_then_arms() -> None:
    alarm = AlarmMachine(config(), now=T0)
    transitions = alarm.arm(S.ARMED_AWAY, T0)
    assert transitions == [Transition(S.DISARMED, S.ARMING, T0, Origin.LOCAL)]
    assert state_of(alarm) is S.ARMING
    assert alarm.target is S.ARMED_AWAY
    assert alarm.next_deadline() == T0 + 60
    assert alarm.state_at(T0 + 59.999) is S.ARMING
    assert alarm.state_at(T0 + 60) is S.ARMED_AWAY
    assert state_of(alarm) is S.ARMING  # state_at does not change the machine
    assert alarm.advance(T0 + 30) == []
    # resolved late, the transition is still stamped with its deadline
    assert alarm.advance(T0 + 500) == [Transition(S.ARMING, S.ARMED_AWAY, T0 + 60, Origin.TIMER)]
    assert state_of(alarm) is S.ARMED_AWAY
    assert alarm.next_deadline() is None
    assert alarm.snapshot()["target"] is None
    assert alarm.changed_at == T0 + 60
    assert alarm.last_local_change_at == T0 + 60


@pytest.mark.parametrize(
    ("mode", "arming_time"),
    [(S.ARMED_HOME, 0), (S.ARMED_AWAY, 60), (S.ARMED_NIGHT, 20), (S.ARMED_VACATION, 45)],
)
def test_each_mode_has_its_own_exit_delay(mode: AlarmState, arming_time: float) -> None:
    alarm = AlarmMachine(config(), now=T0)
    alarm.arm(mode, T0)
    if arming_time == 0:
        assert state_of(alarm) is mode
        assert alarm.next_deadline() is None
    else:
        assert state_of(alarm) is S.ARMING
        assert alarm.next_deadline() == T0 + arming_time
        assert alarm.state_at(T0 + arming_time) is mode


def test_arming_the_current_mode_is_a_noop() -> None:
    alarm = armed(S.ARMED_AWAY)
    assert alarm.arm(S.ARMED_AWAY, T0 + 2000) == []
    alarm = AlarmMachine(config(), now=T0)
    alarm.arm(S.ARMED_AWAY, T0)
    assert alarm.arm(S.ARMED_AWAY, T0 + 30) == []
    assert alarm.next_deadline() == T0 + 60  # the exit delay is not restarted


def test_switching_mode_while_arming_restarts_the_exit_delay() -> None:
    alarm = AlarmMachine(config(), now=T0)
    alarm.arm(S.ARMED_AWAY, T0)
    assert alarm.arm(S.ARMED_NIGHT, T0 + 30) == []  # still "arming": no visible transition
    assert alarm.target is S.ARMED_NIGHT
    assert alarm.next_deadline() == T0 + 50
    assert alarm.last_local_change_at == T0 + 30
    assert alarm.state_at(T0 + 60) is S.ARMED_NIGHT


def test_switching_armed_mode_goes_through_arming() -> None:
    alarm = armed(S.ARMED_HOME)
    transitions = alarm.arm(S.ARMED_AWAY, T0 + 2000)
    assert transitions == [Transition(S.ARMED_HOME, S.ARMING, T0 + 2000, Origin.LOCAL)]
    assert alarm.state_at(T0 + 2060) is S.ARMED_AWAY


@pytest.mark.parametrize("mode", [S.DISARMED, S.ARMING, S.PENDING, S.TRIGGERED])
def test_arm_refuses_states_that_are_not_modes(mode: AlarmState) -> None:
    alarm = AlarmMachine(config(), now=T0)
    with pytest.raises(InvalidTransitionError) as err:
        alarm.arm(mode, T0)
    assert err.value.translation_key == "invalid_transition"
    assert state_of(alarm) is S.DISARMED


def test_arm_refuses_modes_not_enabled() -> None:
    alarm = AlarmMachine(config(arming_modes=frozenset({S.ARMED_AWAY})), now=T0)
    with pytest.raises(InvalidTransitionError):
        alarm.arm(S.ARMED_HOME, T0)
    alarm.arm(S.ARMED_AWAY, T0)
    assert state_of(alarm) is S.ARMING


@pytest.mark.parametrize("moment", [S.PENDING, S.TRIGGERED])
def test_arm_during_an_alarm_is_refused(moment: AlarmState) -> None:
    """Unlike `manual`, an arm command cannot silence a running alarm: that takes a disarm."""
    alarm = armed(S.ARMED_AWAY)
    alarm.trigger(T0 + 2000)
    now = T0 + 2000 if moment is S.PENDING else T0 + 2040
    assert alarm.state_at(now) is moment
    with pytest.raises(InvalidTransitionError) as err:
        alarm.arm(S.ARMED_HOME, now)
    assert err.value.translation_placeholders == {
        "from_state": str(moment),
        "to_state": "armed_home",
    }
    # the refused command resolved nothing: an overdue timer transition is still reported later
    assert state_of(alarm) is S.PENDING
    assert [t.new for t in alarm.advance(now)] == ([S.TRIGGERED] if moment is S.TRIGGERED else [])


# -- trigger ----------------------------------------------------------------------------------


@pytest.mark.parametrize("disarm_after_trigger", [False, True])
def test_trigger_entry_delay_trigger_time_then_back(disarm_after_trigger: bool) -> None:
    alarm = armed(S.ARMED_AWAY, disarm_after_trigger=disarm_after_trigger)
    t = T0 + 2000
    assert alarm.trigger(t) == [Transition(S.ARMED_AWAY, S.PENDING, t, Origin.LOCAL)]
    assert alarm.target is S.ARMED_AWAY
    assert alarm.next_deadline() == t + 30  # armed_away's delay_time
    assert alarm.state_at(t + 29.9) is S.PENDING
    assert alarm.state_at(t + 30) is S.TRIGGERED
    assert alarm.state_at(t + 30 + 119.9) is S.TRIGGERED  # armed_away's trigger_time
    back = S.DISARMED if disarm_after_trigger else S.ARMED_AWAY
    assert alarm.state_at(t + 150) is back
    assert alarm.advance(t + 10_000) == [
        Transition(S.PENDING, S.TRIGGERED, t + 30, Origin.TIMER),
        Transition(S.TRIGGERED, back, t + 150, Origin.TIMER),
    ]
    assert alarm.next_deadline() is None
    assert alarm.target is None


def test_trigger_without_entry_delay_goes_straight_to_triggered() -> None:
    alarm = armed(S.ARMED_NIGHT)
    t = T0 + 2000
    assert alarm.trigger(t) == [Transition(S.ARMED_NIGHT, S.TRIGGERED, t, Origin.LOCAL)]
    assert alarm.next_deadline() == t + 90
    assert alarm.state_at(t + 90) is S.ARMED_NIGHT


@pytest.mark.parametrize("mode", [S.ARMED_VACATION, S.DISARMED])
def test_zero_trigger_time_disables_trigger(mode: AlarmState) -> None:
    alarm = armed(mode) if mode is not S.DISARMED else AlarmMachine(config(), now=T0)
    assert alarm.trigger(T0 + 2000) == []
    assert state_of(alarm) is mode


def test_disarmed_panel_can_be_triggered_by_default_like_manual() -> None:
    alarm = AlarmMachine(now=T0)
    alarm.trigger(T0)
    assert state_of(alarm) is S.PENDING
    assert alarm.target is S.DISARMED
    assert alarm.state_at(T0 + 60) is S.TRIGGERED
    assert alarm.state_at(T0 + 180) is S.DISARMED


def test_trigger_during_an_alarm_changes_nothing() -> None:
    alarm = armed(S.ARMED_AWAY)
    alarm.trigger(T0 + 2000)
    assert alarm.trigger(T0 + 2010) == []
    assert alarm.next_deadline() == T0 + 2030
    assert alarm.trigger(T0 + 2040) == [Transition(S.PENDING, S.TRIGGERED, T0 + 2030, Origin.TIMER)]
    assert alarm.next_deadline() == T0 + 2150


def test_trigger_while_arming_uses_the_mode_being_armed() -> None:
    alarm = AlarmMachine(config(), now=T0)
    alarm.arm(S.ARMED_AWAY, T0)
    alarm.trigger(T0 + 10)
    assert state_of(alarm) is S.PENDING
    assert alarm.target is S.ARMED_AWAY
    assert alarm.next_deadline() == T0 + 40
    assert alarm.state_at(T0 + 10 + 30 + 120) is S.ARMED_AWAY


def test_overdue_timers_resolve_before_a_command() -> None:
    alarm = AlarmMachine(config(), now=T0)
    alarm.arm(S.ARMED_AWAY, T0)
    transitions = alarm.trigger(T0 + 100)  # arming finished at T0 + 60
    assert transitions == [
        Transition(S.ARMING, S.ARMED_AWAY, T0 + 60, Origin.TIMER),
        Transition(S.ARMED_AWAY, S.PENDING, T0 + 100, Origin.LOCAL),
    ]


# -- disarm -----------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [10.0, 40.0])  # in the entry delay, and triggered
def test_disarm_stops_an_alarm(offset: float) -> None:
    alarm = armed(S.ARMED_AWAY)
    alarm.trigger(T0 + 2000)
    before = alarm.state_at(T0 + 2000 + offset)
    assert before in {S.PENDING, S.TRIGGERED}
    transitions = alarm.disarm(T0 + 2000 + offset)
    assert transitions[-1] == Transition(before, S.DISARMED, T0 + 2000 + offset, Origin.LOCAL)
    assert state_of(alarm) is S.DISARMED
    assert alarm.next_deadline() is None
    assert alarm.target is None


def test_disarm_cancels_the_exit_delay() -> None:
    alarm = AlarmMachine(config(), now=T0)
    alarm.arm(S.ARMED_AWAY, T0)
    assert alarm.disarm(T0 + 5) == [Transition(S.ARMING, S.DISARMED, T0 + 5, Origin.LOCAL)]
    assert alarm.state_at(T0 + 1000) is S.DISARMED


def test_disarm_when_disarmed_is_a_noop() -> None:
    alarm = AlarmMachine(config(), now=T0)
    assert alarm.disarm(T0 + 5) == []
    assert alarm.last_local_change_at is None


# -- codes ------------------------------------------------------------------------------------


def user(name: str = "Ann", code: str = "4321", **permissions: frozenset[S]) -> User:
    return User.create(name, code, iterations=FAST, **permissions)


def with_code(code: str = "4321", **overrides: Any) -> AlarmMachine:
    return AlarmMachine(config(**overrides), users=[user(code=code)], now=T0)


def test_code_is_required_to_arm_and_disarm() -> None:
    alarm = with_code()
    assert alarm.code_arm_required is True
    assert alarm.code_format == "number"
    with pytest.raises(CodeRequiredError) as required:
        alarm.arm(S.ARMED_HOME, T0)
    assert required.value.translation_key == "code_required"
    with pytest.raises(InvalidCodeError) as invalid:
        alarm.arm(S.ARMED_HOME, T0, "1234")
    assert invalid.value.translation_key == "invalid_code"
    assert state_of(alarm) is S.DISARMED
    alarm.arm(S.ARMED_HOME, T0, "4321")
    assert state_of(alarm) is S.ARMED_HOME
    with pytest.raises(CodeRequiredError):
        alarm.disarm(T0 + 1)
    with pytest.raises(InvalidCodeError):
        alarm.disarm(T0 + 1, "0000")
    assert state_of(alarm) is S.ARMED_HOME
    alarm.disarm(T0 + 1, "4321")
    assert state_of(alarm) is S.DISARMED


def test_without_code_arm_required_only_disarm_needs_the_code() -> None:
    alarm = with_code("s3cret", code_arm_required=False)
    assert alarm.code_arm_required is False
    assert alarm.code_format == "text"
    alarm.arm(S.ARMED_HOME, T0)
    assert state_of(alarm) is S.ARMED_HOME
    with pytest.raises(CodeRequiredError):
        alarm.disarm(T0 + 1)
    alarm.disarm(T0 + 1, "s3cret")
    assert state_of(alarm) is S.DISARMED


def test_wrong_code_is_refused_even_when_already_disarmed() -> None:
    alarm = with_code()
    with pytest.raises(InvalidCodeError):
        alarm.disarm(T0, "9999")


def test_trigger_needs_no_code() -> None:
    alarm = with_code()
    alarm.arm(S.ARMED_HOME, T0, "4321")
    alarm.trigger(T0 + 1)
    assert state_of(alarm) is S.PENDING


def test_clearing_the_code() -> None:
    alarm = with_code()
    alarm.set_users([])
    assert not alarm.has_code
    alarm.arm(S.ARMED_HOME, T0)
    alarm.disarm(T0 + 1)
    assert state_of(alarm) is S.DISARMED


def test_code_check_splits_off_the_slow_part() -> None:
    """The HA shell runs the slow check off the event loop and hands the machine its result."""
    alarm = with_code(code_arm_required=False)
    assert alarm.code_check(None, S.ARMED_HOME) is None  # arming needs no code
    with pytest.raises(CodeRequiredError):
        alarm.code_check(None, S.DISARMED)
    wrong = alarm.code_check("0000", S.DISARMED)
    assert wrong is not None
    assert "0000" not in repr(wrong)
    with pytest.raises(InvalidCodeError):
        wrong.run()
    right = alarm.code_check("4321", S.DISARMED)
    assert right is not None
    verified = right.run()
    alarm.arm(S.ARMED_HOME, T0)
    assert alarm.code_check(verified, S.DISARMED) is None
    alarm.disarm(T0 + 1, verified)
    assert state_of(alarm) is S.DISARMED


def test_a_code_checked_against_another_code_is_refused() -> None:
    alarm = with_code()
    check = alarm.code_check("4321", S.ARMED_HOME)
    assert check is not None
    verified = check.run()
    alarm.set_users([user(code="8642")])  # the code changed after the check
    with pytest.raises(InvalidCodeError):
        alarm.arm(S.ARMED_HOME, T0, verified)
    assert state_of(alarm) is S.DISARMED


def test_errors_share_a_base_class() -> None:
    for error in (CodeRequiredError, InvalidCodeError, InvalidTransitionError):
        assert issubclass(error, AlarmError)
    assert len({e.translation_key for e in (CodeRequiredError, InvalidCodeError)}) == 2


def test_code_hash_is_salted_and_verifies() -> None:
    one = CodeHash.create("4321", iterations=FAST)
    two = CodeHash.create("4321", iterations=FAST)
    assert one.salt != two.salt
    assert one.digest != two.digest
    assert one.verify("4321")
    assert two.verify("4321")
    for wrong in ("4322", "", None, "43210", " 4321"):
        assert not one.verify(wrong)
    assert "4321" not in repr(one)
    assert one.digest.hex() not in repr(one)


def test_code_hash_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # the machine looks it up at call time
    code = CodeHash.create("4321", iterations=FAST)
    assert code.verify("4321")
    assert not code.verify("1111")
    assert len(calls) == 2


def test_code_hash_default_cost_and_round_trip() -> None:
    code = CodeHash.create("2468")
    assert code.iterations == CODE_HASH_ITERATIONS >= 10_000
    data = code.to_dict()
    assert data["algorithm"] == "pbkdf2_sha256"
    # Not a plain substring test: a random hex hash or salt may contain the digits by chance.
    assert re.search(r"(?<![0-9a-f])2468(?![0-9a-f])", json.dumps(data)) is None
    again = CodeHash.from_dict(json.loads(json.dumps(data)))
    assert again == code
    assert again.verify("2468")


def test_code_hash_rejects_an_empty_code_or_no_cost() -> None:
    with pytest.raises(ValueError, match="empty"):
        CodeHash.create("")
    with pytest.raises(ValueError, match="iterations"):
        CodeHash.create("1234", iterations=0)


def test_users_from_stored_dicts() -> None:
    """The options flow hashes a code once and hands the machine only the hash."""
    stored = User.from_dict(json.loads(json.dumps(user("Bo", "1357").to_dict())))
    assert stored.arm_modes == stored.disarm_modes == ARMED_STATES
    alarm = AlarmMachine(config(), users=[stored], now=T0)
    with pytest.raises(InvalidCodeError):
        alarm.arm(S.ARMED_HOME, T0, "2468")
    alarm.arm(S.ARMED_HOME, T0, "1357")
    alarm.set_users([])
    alarm.disarm(T0 + 1)
    assert state_of(alarm) is S.DISARMED


def test_each_code_finds_its_user() -> None:
    ann, bo = user("Ann", "1111"), user("Bo", "2222")
    alarm = AlarmMachine(config(), users=[ann, bo], now=T0)
    for code, owner in (("1111", ann), ("2222", bo)):
        check = alarm.code_check(code, S.DISARMED)
        assert check is not None
        assert check.run() == VerifiedCode(owner)
    assert alarm.validate_code("2222", S.ARMED_HOME) == bo
    with pytest.raises(InvalidCodeError):
        alarm.validate_code("3333", S.DISARMED)


def test_every_user_is_tried_so_timing_tells_nobody(monkeypatch: pytest.MonkeyPatch) -> None:
    ann, bo, cy = user("Ann", "1111"), user("Bo", "2222"), user("Cy", "3333")
    alarm = AlarmMachine(config(), users=[ann, bo, cy], now=T0)
    tried: list[CodeHash] = []
    real = CodeHash.verify

    def counting(self: CodeHash, code: str | None) -> bool:
        tried.append(self)
        return real(self, code)

    monkeypatch.setattr(CodeHash, "verify", counting)
    check = alarm.code_check("1111", S.DISARMED)
    assert check is not None
    check.run()
    assert tried == [ann.code_hash, bo.code_hash, cy.code_hash]


def test_permissions_limit_what_a_code_arms_and_disarms() -> None:
    """Bo may arm night and home, disarm only night: not the away mode Ann armed."""
    ann = user("Ann", "1111")
    bo = user(
        "Bo",
        "2222",
        arm_modes=frozenset({S.ARMED_NIGHT, S.ARMED_HOME}),
        disarm_modes=frozenset({S.ARMED_NIGHT}),
    )
    alarm = AlarmMachine(config(), users=[ann, bo], now=T0)
    with pytest.raises(NotPermittedError) as refused:
        alarm.arm(S.ARMED_AWAY, T0, "2222")
    assert refused.value.translation_key == "not_permitted"
    assert refused.value.translation_placeholders == {"user": "Bo", "state": "armed_away"}
    alarm.arm(S.ARMED_AWAY, T0, "1111")  # 60 s exit delay
    for at in (T0 + 1, T0 + 100):  # while arming away, and armed away
        with pytest.raises(NotPermittedError):
            alarm.disarm(at, "2222")
    alarm.trigger(T0 + 100)
    with pytest.raises(NotPermittedError):  # nor the alarm that away mode sounds
        alarm.disarm(T0 + 101, "2222")
    assert state_of(alarm) is S.PENDING
    alarm.disarm(T0 + 102, "1111")
    alarm.arm(S.ARMED_NIGHT, T0 + 103, "2222")
    alarm.disarm(T0 + 104, "2222")  # Bo's own mode, while arming to it
    assert state_of(alarm) is S.DISARMED
    alarm.disarm(T0 + 105, "2222")  # disarming a disarmed panel: anyone who may disarm


def test_a_user_who_may_disarm_nothing_cannot_silence_a_panic_alarm() -> None:
    arm_only = user("Cleaner", "5555", disarm_modes=frozenset())
    times = {S.DISARMED: ModeTimes(arming_time=0, delay_time=0, trigger_time=60)}
    alarm = AlarmMachine(config(times=times), users=[arm_only], now=T0)
    alarm.trigger(T0)
    with pytest.raises(NotPermittedError):
        alarm.disarm(T0 + 1, "5555")
    assert arm_only.may_disarm(S.DISARMED) is False


def test_code_format_is_a_keypad_only_when_every_code_is_digits() -> None:
    alarm = AlarmMachine(config(), users=[user("Ann", "1111")], now=T0)
    assert alarm.code_format == "number"
    alarm.set_users([user("Ann", "1111"), user("Bo", "two")])
    assert alarm.code_format == "text"


@pytest.mark.parametrize(
    "change",
    [
        {"name": ""},
        {"name": None},
        {"code_hash": None},
        {"arm_modes": "armed_away"},
        {"arm_modes": ["disarmed"]},
        {"disarm_modes": ["bogus"]},
    ],
)
def test_user_rejects_bad_dicts(change: dict[str, Any]) -> None:
    with pytest.raises(InvalidSnapshotError):
        User.from_dict(user().to_dict() | change)


@pytest.mark.parametrize(
    "change",
    [
        {"algorithm": "md5"},
        {"iterations": 0},
        {"iterations": "1000"},
        {"iterations": True},
        {"salt": "zz"},
        {"salt": ""},
        {"hash": "abcd"},
        {"hash": None},
    ],
)
def test_code_hash_rejects_bad_dicts(change: dict[str, Any]) -> None:
    data = CodeHash.create("4321", iterations=FAST).to_dict() | change
    with pytest.raises(InvalidSnapshotError):
        CodeHash.from_dict(data)


# -- snapshot and restore ---------------------------------------------------------------------


def test_snapshot_holds_no_code_the_users_come_with_restore() -> None:
    code = "80417263"
    alarm = with_code(code)
    alarm.arm(S.ARMED_AWAY, T0, code)
    text = json.dumps(alarm.snapshot())
    assert code not in text
    assert "salt" not in text
    restored = AlarmMachine.restore(json.loads(text), config(), alarm.users)
    assert restored.users == alarm.users
    with pytest.raises(InvalidCodeError):
        restored.disarm(T0 + 1, "00000000")
    restored.disarm(T0 + 1, code)
    assert state_of(restored) is S.DISARMED


def test_a_version_1_snapshot_restores_without_its_code() -> None:
    """Version 1 kept the code hash; the options' users replace it, as they did then."""
    old = AlarmMachine(config(), now=T0).snapshot() | {
        "version": 1,
        "state": "armed_home",
        "code": CodeHash.create("1111", iterations=FAST).to_dict(),
    }
    restored = AlarmMachine.restore(old, config(), [user(code="2222")])
    assert state_of(restored) is S.ARMED_HOME
    with pytest.raises(InvalidCodeError):
        restored.disarm(T0 + 1, "1111")
    restored.disarm(T0 + 1, "2222")


def test_restore_continues_the_remaining_exit_delay() -> None:
    alarm = AlarmMachine(config(), now=T0)
    alarm.arm(S.ARMED_AWAY, T0)  # 60 s exit delay
    saved = json.loads(json.dumps(alarm.snapshot()))
    restored = AlarmMachine.restore(saved, config())  # "restart" 40 s later
    assert restored.state_at(T0 + 40) is S.ARMING
    assert restored.next_deadline() == T0 + 60  # 20 s remain, not a fresh 60 s
    assert restored.state_at(T0 + 59) is S.ARMING
    assert restored.advance(T0 + 61) == [Transition(S.ARMING, S.ARMED_AWAY, T0 + 60, Origin.TIMER)]
    assert restored.state_at(T0 + 40 + 59) is S.ARMED_AWAY


def test_restore_continues_the_remaining_entry_delay_and_trigger_time() -> None:
    alarm = armed(S.ARMED_AWAY)
    t = T0 + 2000
    alarm.trigger(t)  # 30 s entry delay, 120 s trigger time
    restored = AlarmMachine.restore(alarm.snapshot(), config())
    assert restored.state_at(t + 25) is S.PENDING
    assert restored.state_at(t + 35) is S.TRIGGERED
    assert restored.state_at(t + 151) is S.ARMED_AWAY
    assert restored.target is S.ARMED_AWAY


def test_restore_after_the_delays_ran_out_while_down() -> None:
    alarm = armed(S.ARMED_AWAY, disarm_after_trigger=True)
    t = T0 + 2000
    alarm.trigger(t)
    restored = AlarmMachine.restore(alarm.snapshot(), config(disarm_after_trigger=True))
    assert restored.advance(t + 3600) == [
        Transition(S.PENDING, S.TRIGGERED, t + 30, Origin.TIMER),
        Transition(S.TRIGGERED, S.DISARMED, t + 150, Origin.TIMER),
    ]


def _machines_in_every_state() -> list[AlarmMachine]:
    result = [AlarmMachine(config(), now=T0)]
    arming = AlarmMachine(config(), now=T0)
    arming.arm(S.ARMED_AWAY, T0)
    result.append(arming)
    result.extend(armed(mode) for mode in sorted(ARMED_STATES))
    pending = armed(S.ARMED_AWAY)
    pending.trigger(T0 + 2000)
    triggered = armed(S.ARMED_NIGHT)
    triggered.trigger(T0 + 2000)
    peer_arming = AlarmMachine(config(), now=T0)
    peer_arming.apply_external(S.ARMING, T0)
    result += [pending, triggered, peer_arming]
    return result


@pytest.mark.parametrize("alarm", _machines_in_every_state(), ids=lambda m: str(m.state))
def test_snapshot_round_trip(alarm: AlarmMachine) -> None:
    data = json.loads(json.dumps(alarm.snapshot()))
    restored = AlarmMachine.restore(data, alarm.config)
    assert restored.snapshot() == alarm.snapshot()
    for later in (0, 10, 45, 200, 5000):
        assert restored.state_at(T0 + 2000 + later) is alarm.state_at(T0 + 2000 + later)


@pytest.mark.parametrize(
    "change",
    [
        {"version": 99},
        {"state": "disarming"},
        {"state": None},
        {"state": "disarmed", "target": "armed_away"},
        {"state": "armed_home", "deadline": T0},
        {"state": "pending", "target": None, "deadline": T0},
        {"state": "triggered", "target": "pending", "deadline": T0},
        {"state": "arming", "target": "disarmed", "deadline": T0},
        {"changed_at": "yesterday"},
        {"changed_at": float("nan")},
        {"deadline": True, "state": "arming", "target": "armed_away"},
        {"last_local_change_at": "x"},
    ],
)
def test_restore_rejects_bad_snapshots(change: dict[str, Any]) -> None:
    data = AlarmMachine(config(), now=T0).snapshot() | change
    with pytest.raises(InvalidSnapshotError):
        AlarmMachine.restore(data)
    assert issubclass(InvalidSnapshotError, ValueError)


# -- peer states ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", sorted(ARMED_STATES))
def test_peer_armed_state_skips_the_exit_delay_and_the_code(mode: AlarmState) -> None:
    alarm = with_code()
    assert alarm.apply_external(mode, T0 + 5) == [Transition(S.DISARMED, mode, T0 + 5, Origin.PEER)]
    assert alarm.next_deadline() is None
    assert alarm.last_local_change_at is None  # a peer change is not a local change
    assert alarm.changed_at == T0 + 5


def test_peer_state_replaces_a_local_exit_delay() -> None:
    alarm = AlarmMachine(config(), now=T0)
    alarm.arm(S.ARMED_AWAY, T0)
    assert alarm.apply_external(S.ARMED_AWAY, T0 + 3) == [
        Transition(S.ARMING, S.ARMED_AWAY, T0 + 3, Origin.PEER)
    ]
    assert alarm.next_deadline() is None
    assert alarm.last_local_change_at == T0


def test_peer_disarm_stops_a_local_alarm_without_code() -> None:
    alarm = with_code()
    alarm.arm(S.ARMED_AWAY, T0, "4321")
    alarm.trigger(T0 + 100)
    alarm.apply_external(S.DISARMED, T0 + 101)
    assert state_of(alarm) is S.DISARMED
    assert alarm.next_deadline() is None


def test_peer_intermediate_states_wait_for_the_peer() -> None:
    """The peer runs its own delays: mirrored intermediate states get no local deadline."""
    alarm = armed(S.ARMED_HOME)
    t = T0 + 2000
    assert alarm.apply_external(S.PENDING, t) == [
        Transition(S.ARMED_HOME, S.PENDING, t, Origin.PEER)
    ]
    assert alarm.target is S.ARMED_HOME
    assert alarm.next_deadline() is None
    assert alarm.state_at(t + 86_400) is S.PENDING
    assert alarm.apply_external(S.TRIGGERED, t + 10) == [
        Transition(S.PENDING, S.TRIGGERED, t + 10, Origin.PEER)
    ]
    assert alarm.target is S.ARMED_HOME  # still remembers what the alarm interrupted
    assert alarm.next_deadline() is None
    assert alarm.apply_external(S.ARMED_HOME, t + 60)[-1].new is S.ARMED_HOME


def test_peer_arming_has_no_known_mode() -> None:
    alarm = AlarmMachine(config(), now=T0)
    assert alarm.apply_external(S.ARMING, T0) == [Transition(S.DISARMED, S.ARMING, T0, Origin.PEER)]
    assert alarm.target is None
    assert alarm.next_deadline() is None
    # a trigger during a peer's exit delay of unknown mode uses the disarmed timings
    alarm.set_config(AlarmConfig())
    alarm.trigger(T0 + 1)
    assert state_of(alarm) is S.PENDING
    assert alarm.target is S.DISARMED


def test_peer_state_equal_to_the_local_one_changes_nothing() -> None:
    alarm = AlarmMachine(config(), now=T0)
    alarm.arm(S.ARMED_AWAY, T0)
    assert alarm.apply_external(S.ARMING, T0 + 1) == []
    assert alarm.next_deadline() == T0 + 60  # the local exit delay keeps running
    assert alarm.apply_external(S.ARMED_AWAY, T0 + 100) == [
        Transition(S.ARMING, S.ARMED_AWAY, T0 + 60, Origin.TIMER)
    ]


def test_peer_states_accept_plain_strings() -> None:
    alarm = AlarmMachine(config(), now=T0)
    alarm.apply_external("armed_night", T0)  # type: ignore[arg-type]
    assert state_of(alarm) is S.ARMED_NIGHT
    with pytest.raises(ValueError):
        alarm.apply_external("disarming", T0)  # type: ignore[arg-type]


# -- config -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, float("inf"), float("nan"), "60", True])
def test_mode_times_reject_bad_values(value: Any) -> None:
    with pytest.raises(InvalidSnapshotError):
        ModeTimes(arming_time=value)


def test_config_rejects_timings_for_intermediate_states() -> None:
    with pytest.raises(InvalidSnapshotError):
        AlarmConfig(times={S.PENDING: ModeTimes()})
    with pytest.raises(InvalidSnapshotError):
        AlarmConfig(arming_modes=frozenset({S.DISARMED}))


def test_config_round_trip() -> None:
    original = config(disarm_after_trigger=True, code_arm_required=False)
    data = json.loads(json.dumps(original.to_dict()))
    assert AlarmConfig.from_dict(data) == original
    assert AlarmConfig.from_dict({}) == AlarmConfig()
    with pytest.raises(InvalidSnapshotError):
        AlarmConfig.from_dict({"times": {"armed_away": {"exit": 3}}})
    with pytest.raises(InvalidSnapshotError):
        AlarmConfig.from_dict({"arming_modes": "armed_away"})
    with pytest.raises(InvalidSnapshotError):
        AlarmConfig.from_dict({"times": ["armed_away"]})


def test_new_config_keeps_a_running_deadline() -> None:
    alarm = AlarmMachine(config(), now=T0)
    alarm.arm(S.ARMED_AWAY, T0)
    alarm.set_config(AlarmConfig(times={S.ARMED_AWAY: ModeTimes(arming_time=5)}))
    assert alarm.next_deadline() == T0 + 60


def test_changes_never_go_back_in_time_across_a_long_random_run() -> None:
    """Transition stamps are non-decreasing and chain old->new, whatever the command mix."""
    import random

    rng = random.Random(3)
    alarm = AlarmMachine(config(), now=T0)
    now = T0
    previous = alarm.state
    last_at = T0
    for _ in range(2000):
        now += rng.choice([0.0, 0.5, 5.0, 25.0, 70.0, 300.0])
        action = rng.randrange(4)
        try:
            if action == 0:
                transitions = alarm.arm(rng.choice(sorted(ARMED_STATES)), now)
            elif action == 1:
                transitions = alarm.disarm(now)
            elif action == 2:
                transitions = alarm.trigger(now)
            else:
                transitions = alarm.apply_external(rng.choice(list(AlarmState)), now)
        except InvalidTransitionError:
            # a refused command changes nothing, not even overdue timers (they would be lost)
            assert state_of(alarm) is previous
            continue
        for transition in transitions:
            assert transition.old is previous
            assert transition.new is not transition.old
            assert last_at <= transition.at <= now
            previous, last_at = transition.new, transition.at
        assert state_of(alarm) is previous
        deadline = alarm.next_deadline()
        if alarm.state in {*ARMED_STATES, S.DISARMED}:
            assert deadline is None
            assert alarm.target is None
        if deadline is not None:
            assert deadline > now


# -- custom bypass and per-user codes to arm ----------------------------------------------------


def test_custom_bypass_is_a_mode_like_the_others() -> None:
    alarm = AlarmMachine(config(), now=T0)
    alarm.arm(S.ARMED_CUSTOM_BYPASS, T0)  # no timings given: the default exit delay
    assert state_of(alarm) is S.ARMING
    assert alarm.target is S.ARMED_CUSTOM_BYPASS
    alarm.advance(T0 + DEFAULT_ARMING_TIME)
    assert state_of(alarm) is S.ARMED_CUSTOM_BYPASS
    alarm.trigger(T0 + 100)
    assert state_of(alarm) is S.PENDING
    assert alarm.target is S.ARMED_CUSTOM_BYPASS
    restored = AlarmMachine.restore(alarm.snapshot(), config())
    assert (restored.state, restored.target) == (S.PENDING, S.ARMED_CUSTOM_BYPASS)
    peer = AlarmMachine(config(), now=T0)
    peer.apply_external(S.ARMED_CUSTOM_BYPASS, T0)
    assert state_of(peer) is S.ARMED_CUSTOM_BYPASS


def test_a_user_who_requires_a_code_guards_their_modes() -> None:
    """The config lets the panel arm without a code, but not a mode of a user who requires one."""
    ann = user("Ann", "1111")
    bo = user(
        "Bo",
        "2222",
        arm_modes=frozenset({S.ARMED_HOME, S.ARMED_CUSTOM_BYPASS}),
        disarm_modes=frozenset({S.ARMED_HOME}),
    )
    bo = User.from_dict({**bo.to_dict(), "code_arm_required": True})
    alarm = AlarmMachine(config(code_arm_required=False), users=[ann, bo], now=T0)
    assert alarm.code_needed(S.ARMED_HOME)
    assert alarm.code_needed(S.ARMED_CUSTOM_BYPASS)
    assert not alarm.code_needed(S.ARMED_AWAY)
    assert alarm.code_needed(S.DISARMED)
    assert alarm.code_arm_required is False  # not every mode needs one
    with pytest.raises(CodeRequiredError) as required:
        alarm.arm(S.ARMED_HOME, T0)
    assert required.value.translation_placeholders == {"state": "armed_home"}
    assert state_of(alarm) is S.DISARMED
    alarm.arm(S.ARMED_NIGHT, T0)  # nobody requires a code for night
    assert alarm.advance(T0 + 1000)
    assert state_of(alarm) is S.ARMED_NIGHT
    # Everyone who may arm everything requiring a code: every arming needs one.
    strict = AlarmMachine(
        config(code_arm_required=False),
        users=[User.from_dict({**ann.to_dict(), "code_arm_required": True})],
        now=T0,
    )
    assert strict.code_arm_required is True


def test_a_code_given_where_none_is_needed_is_still_checked() -> None:
    ann = user("Ann", "1111", arm_modes=frozenset({S.ARMED_HOME}))
    alarm = AlarmMachine(config(code_arm_required=False), users=[ann], now=T0)
    assert alarm.check_arm(S.ARMED_AWAY, T0) is None  # nobody's code
    assert alarm.check_arm(S.ARMED_HOME, T0, "1111") == ann
    with pytest.raises(InvalidCodeError):
        alarm.check_arm(S.ARMED_HOME, T0, "9999")
    with pytest.raises(NotPermittedError):
        alarm.check_arm(S.ARMED_AWAY, T0, "1111")
    # Without users, a code has nothing to be checked against: ignored, as before.
    open_panel = AlarmMachine(config(), now=T0)
    assert open_panel.code_check("1111", S.ARMED_HOME) is None
    assert open_panel.validate_code("1111", S.ARMED_HOME) is None
    assert open_panel.validate_code(VerifiedCode(ann), S.DISARMED) is None


def test_users_round_trip_their_code_to_arm_and_old_users_follow_the_config() -> None:
    bo = User.create("Bo", "2222", iterations=FAST, code_arm_required=True)
    assert User.from_dict(bo.to_dict()) == bo
    before = {key: value for key, value in bo.to_dict().items() if key != "code_arm_required"}
    assert User.from_dict(before).code_arm_required is False
