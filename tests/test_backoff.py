"""The one retry backoff: the design's 2, 4, 8 … 60 s schedule, ±25 % jitter, Retry-After."""

from __future__ import annotations

import random

from hypothesis import given, strategies as st
import pytest

from custom_components.roomdb.backoff import MAX_RETRY_AFTER, Backoff


def test_defaults_follow_the_design_schedule() -> None:
    middle = Backoff(rng=lambda: 0.5)  # the sample in the middle: no spread
    assert [middle.next_delay() for _ in range(8)] == [2, 4, 8, 16, 32, 60, 60, 60]
    assert middle.attempt == 8
    middle.reset()
    assert middle.attempt == 0
    assert middle.next_delay() == 2


def test_jitter_spreads_by_a_quarter_and_never_passes_the_cap() -> None:
    low = Backoff(rng=lambda: 0.0)
    assert [low.next_delay() for _ in range(7)] == [1.5, 3, 6, 12, 24, 45, 45]
    high = Backoff(rng=lambda: 0.999999)
    assert [round(high.next_delay(), 3) for _ in range(7)] == [2.5, 5, 10, 20, 40, 60, 60]


def test_retry_after_is_a_lower_bound_within_reason() -> None:
    backoff = Backoff(rng=lambda: 0.5)
    assert backoff.next_delay(retry_after=30.0) == 30.0
    assert backoff.next_delay(retry_after=1.0) == 4.0
    assert backoff.next_delay(retry_after=10**9) == MAX_RETRY_AFTER
    assert backoff.next_delay(retry_after=float("nan")) == 16.0


def test_many_failures_do_not_overflow() -> None:
    backoff = Backoff(base=0.5, cap=300.0, factor=10.0, jitter=0)
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
        {"jitter": 1.0},
        {"jitter": -0.1},
    ],
)
def test_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)


@given(seed=st.integers(0, 2**32), failures=st.integers(1, 80))
def test_every_delay_of_the_default_schedule_stays_in_its_band(seed: int, failures: int) -> None:
    rng = random.Random(seed)
    backoff = Backoff(rng=rng.random)
    for n in range(failures):
        nominal = min(60.0, 2.0 * 2**n)
        delay = backoff.next_delay()
        assert 0.75 * nominal <= delay <= min(60.0, 1.25 * nominal)
