"""Tests for the retry backoff."""

from __future__ import annotations

import random

from hypothesis import given, strategies as st
import pytest

from custom_components.roomdb.events.backoff import Backoff


def test_no_jitter_doubles_up_to_the_cap_and_resets() -> None:
    backoff = Backoff(base=1.0, cap=10.0, jitter="none")
    assert [backoff.next_delay() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert backoff.failures == 6
    backoff.reset()
    assert backoff.failures == 0
    assert backoff.next_delay() == 1.0


def test_full_jitter_uses_the_rng() -> None:
    samples = iter([0.0, 0.5, 0.999])
    backoff = Backoff(base=2.0, cap=100.0, jitter="full", rng=lambda: next(samples))
    assert backoff.next_delay() == 0.0
    assert backoff.next_delay() == 2.0  # 0.5 * 4
    assert backoff.next_delay() == pytest.approx(7.992)


def test_plus_minus_jitter_stays_within_ratio_and_cap() -> None:
    backoff = Backoff(base=10.0, cap=12.0, jitter="plus_minus", jitter_ratio=0.2, rng=lambda: 0.0)
    assert backoff.next_delay() == 8.0
    high = Backoff(base=10.0, cap=12.0, jitter="plus_minus", jitter_ratio=0.5, rng=lambda: 1.0)
    assert high.next_delay() == 12.0  # 15 capped


def test_retry_after_is_a_lower_bound_capped() -> None:
    backoff = Backoff(base=1.0, cap=60.0, jitter="none")
    assert backoff.next_delay(retry_after=30.0) == 30.0
    assert backoff.next_delay(retry_after=3600.0) == 60.0
    assert backoff.next_delay(retry_after=float("nan")) == 4.0


def test_many_failures_do_not_overflow() -> None:
    backoff = Backoff(base=0.5, cap=300.0, factor=10.0, jitter="none")
    for _ in range(5000):
        delay = backoff.next_delay()
    assert delay == 300.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base": 0},
        {"base": -1},
        {"cap": 0.5, "base": 1.0},
        {"factor": 0.5},
        {"base": float("inf")},
        {"jitter": "sometimes"},
        {"jitter_ratio": 1.5},
    ],
)
def test_rejects_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)  # type: ignore[arg-type]


@given(
    seed=st.integers(0, 2**32),
    base=st.floats(0.01, 10),
    extra=st.floats(0, 1000),
    jitter=st.sampled_from(["full", "plus_minus", "none"]),
    failures=st.integers(1, 80),
)
def test_delays_stay_within_zero_and_cap(
    seed: int, base: float, extra: float, jitter: str, failures: int
) -> None:
    cap = base + extra
    rng = random.Random(seed)
    backoff = Backoff(base=base, cap=cap, jitter=jitter, rng=rng.random)  # type: ignore[arg-type]
    ceilings = []
    for _ in range(failures):
        ceiling = backoff.ceiling()
        delay = backoff.next_delay()
        ceilings.append(ceiling)
        assert 0.0 <= delay <= cap
        if jitter == "full":
            assert delay <= ceiling
    assert ceilings == sorted(ceilings)
