"""Write limiter (interval ± jitter per key, bounded memory)."""

from __future__ import annotations

import random

import pytest

from custom_components.roomdb.rooms.limiter import SNAPSHOT_MAX_KEYS, WriteLimiter

K = ("activity", "kitchen")


def test_admits_then_limits_then_admits() -> None:
    limiter = WriteLimiter(10.0, 0.0, random.Random(1))
    assert limiter.check(K, 100.0) is None
    assert limiter.check(K, 103.0) == pytest.approx(7.0)
    assert limiter.check(K, 109.999) == pytest.approx(0.001)
    assert limiter.check(K, 110.0) is None
    assert limiter.check(K, 110.5) == pytest.approx(9.5)
    assert limiter.admitted_total == 2
    assert limiter.limited_total == 3


def test_keys_are_independent() -> None:
    limiter = WriteLimiter(5.0, 0.2, random.Random(2))
    assert limiter.check(("activity", "kitchen"), 0.0) is None
    assert limiter.check(("activity", "hall"), 0.0) is None
    assert limiter.check(("motion_lighting", "kitchen"), 0.0) is None
    assert limiter.check(("activity", "kitchen"), 1.0) is not None


def test_jitter_within_bounds_and_spread() -> None:
    interval, jitter = 10.0, 0.2
    limiter = WriteLimiter(interval, jitter, random.Random(42))
    windows = []
    for i in range(500):
        key = ("activity", f"room_{i}")
        assert limiter.check(key, 0.0) is None
        wait = limiter.check(key, 0.0)
        assert wait is not None
        windows.append(wait)
    assert min(windows) >= interval * (1 - jitter)
    assert max(windows) <= interval * (1 + jitter)
    # A burst comes free at spread-out times, covering most of the jitter range.
    assert max(windows) - min(windows) > interval * jitter * 1.5
    assert len({round(w, 6) for w in windows}) > 450


def test_jitter_is_drawn_per_admitted_write() -> None:
    limiter = WriteLimiter(10.0, 0.3, random.Random(7))
    now, waits = 0.0, []
    for _ in range(50):
        assert limiter.check(K, now) is None
        wait = limiter.check(K, now)
        assert wait is not None
        waits.append(wait)
        now += wait
    assert len({round(w, 6) for w in waits}) == 50
    assert all(7.0 <= w <= 13.0 for w in waits)


def test_seeded_rng_is_deterministic() -> None:
    a = WriteLimiter(3.0, 0.5, random.Random(9))
    b = WriteLimiter(3.0, 0.5, random.Random(9))
    for i in range(20):
        key = ("ml", str(i))
        a.check(key, float(i))
        b.check(key, float(i))
        assert a.retry_after(key, float(i)) == b.retry_after(key, float(i))


def test_forgets_keys_whose_window_passed() -> None:
    limiter = WriteLimiter(1.0, 0.25, random.Random(3))
    for i in range(1000):
        limiter.check(("activity", f"r{i}"), 0.0)
    assert len(limiter) == 1000
    limiter.check(("activity", "late"), 1.3)  # every earlier window ended by 1.25
    assert len(limiter) == 1
    assert len(limiter._expiry) == 1
    assert limiter.snapshot(10.0)["limited_count"] == 0
    assert len(limiter) == 0


def test_memory_bounded_under_steady_churn() -> None:
    limiter = WriteLimiter(2.0, 0.5, random.Random(4))
    for step in range(20_000):
        limiter.check(("activity", f"r{step}"), step * 0.1)
    # at most ~ (2 * 1.5) / 0.1 = 30 keys can be inside their window at once
    assert len(limiter) <= 31
    assert len(limiter._expiry) <= 31


def test_forget_and_clear() -> None:
    limiter = WriteLimiter(100.0, 0.0, random.Random(5))
    limiter.check(K, 0.0)
    limiter.forget(K)
    assert limiter.check(K, 1.0) is None
    for i in range(500):
        limiter.check(("x", str(i)), 1.0)
        limiter.forget(("x", str(i)))
    limiter.check(("y", "y"), 2.0)
    assert len(limiter._expiry) <= 2 * len(limiter) + 64
    limiter.clear()
    assert len(limiter) == 0
    assert limiter.check(K, 2.0) is None


def test_zero_interval_disables_limiting() -> None:
    limiter = WriteLimiter(0.0, 0.0, random.Random(6))
    for _ in range(10):
        assert limiter.check(K, 0.0) is None
    assert len(limiter) == 0


def test_retry_after_does_not_record() -> None:
    limiter = WriteLimiter(10.0, 0.0, random.Random(8))
    assert limiter.retry_after(K, 0.0) is None
    assert limiter.check(K, 0.0) is None
    assert limiter.retry_after(K, 4.0) == pytest.approx(6.0)
    assert limiter.limited_total == 0


def test_snapshot() -> None:
    limiter = WriteLimiter(10.0, 0.0, random.Random(9))
    limiter.check(("activity", "kitchen"), 0.0)
    limiter.check(("activity", "hall"), 5.0)
    limiter.check(("activity", "hall"), 6.0)
    limiter.check(("activity", "hall"), 7.0)
    snap = limiter.snapshot(8.0)
    assert snap == {
        "interval": 10.0,
        "jitter": 0.0,
        "limited_count": 2,
        "limited": [
            {"domain": "activity", "room_id": "hall", "retry_in": 7.0, "rejected": 2},
            {"domain": "activity", "room_id": "kitchen", "retry_in": 2.0, "rejected": 0},
        ],
        "admitted_total": 2,
        "limited_total": 2,
    }
    assert limiter.snapshot(12.0)["limited_count"] == 1
    assert limiter.snapshot(20.0)["limited"] == []


def test_snapshot_is_bounded() -> None:
    limiter = WriteLimiter(10.0, 0.1, random.Random(10))
    for i in range(SNAPSHOT_MAX_KEYS * 3):
        limiter.check(("activity", f"r{i}"), 0.0)
    snap = limiter.snapshot(1.0)
    assert snap["limited_count"] == SNAPSHOT_MAX_KEYS * 3
    assert len(snap["limited"]) == SNAPSHOT_MAX_KEYS


@pytest.mark.parametrize(("interval", "jitter"), [(-1.0, 0.0), (1.0, -0.1), (1.0, 1.0)])
def test_limiter_rejects_bad_settings(interval: float, jitter: float) -> None:
    with pytest.raises(ValueError):
        WriteLimiter(interval, jitter)
