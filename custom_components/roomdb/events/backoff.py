"""Exponential backoff with jitter for retrying the ingest endpoint (pure Python).

The n-th consecutive failure (n = 1, 2, ...) waits ``min(cap, base * factor ** (n - 1))`` before
jitter. ``jitter="full"`` draws uniformly from ``[0, delay]`` (AWS "full jitter": spreads many
clients best); ``jitter="plus_minus"`` draws from ``delay * [1 - ratio, 1 + ratio]`` capped at
``cap``; ``jitter="none"`` is deterministic. ``reset()`` after a success starts over at ``base``.
"""

from __future__ import annotations

from collections.abc import Callable
import math
import random
from typing import Final, Literal

type JitterMode = Literal["full", "plus_minus", "none"]

DEFAULT_BASE: Final = 1.0
DEFAULT_CAP: Final = 300.0
DEFAULT_FACTOR: Final = 2.0
DEFAULT_JITTER_RATIO: Final = 0.2


class Backoff:
    """Delays for consecutive failures; ``rng`` returns floats in [0, 1) (inject for tests)."""

    def __init__(
        self,
        base: float = DEFAULT_BASE,
        cap: float = DEFAULT_CAP,
        *,
        factor: float = DEFAULT_FACTOR,
        jitter: JitterMode = "full",
        jitter_ratio: float = DEFAULT_JITTER_RATIO,
        rng: Callable[[], float] | None = None,
    ) -> None:
        """Configure the schedule; raise ``ValueError`` on nonsensical parameters."""
        for name, value in (("base", base), ("cap", cap), ("factor", factor)):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        if cap < base:
            raise ValueError(f"cap ({cap}) must not be below base ({base})")
        if factor < 1:
            raise ValueError(f"factor must be >= 1, got {factor}")
        if jitter not in {"full", "plus_minus", "none"}:
            raise ValueError(f"unknown jitter mode {jitter!r}")
        if not 0 <= jitter_ratio <= 1:
            raise ValueError(f"jitter_ratio must be within [0, 1], got {jitter_ratio}")
        self._base = float(base)
        self._cap = float(cap)
        self._factor = float(factor)
        self._jitter: JitterMode = jitter
        self._ratio = float(jitter_ratio)
        self._rng = rng if rng is not None else random.Random().random  # noqa: S311 - jitter
        self._failures = 0
        self._ceiling = self._base

    @property
    def failures(self) -> int:
        """Return the number of consecutive failures since the last reset."""
        return self._failures

    @property
    def cap(self) -> float:
        """Return the largest delay ever returned."""
        return self._cap

    def ceiling(self) -> float:
        """Return the un-jittered delay the next failure would get."""
        return self._ceiling

    def next_delay(self, retry_after: float | None = None) -> float:
        """Record a failure and return seconds to wait before the next attempt.

        A server's ``retry_after`` is honoured as a lower bound, itself capped at ``cap``.
        """
        delay = self.ceiling()
        self._failures += 1
        self._ceiling = min(self._cap, delay * self._factor)
        sample = min(max(float(self._rng()), 0.0), 1.0)
        if self._jitter == "full":
            delay *= sample
        elif self._jitter == "plus_minus":
            delay = min(self._cap, delay * (1.0 - self._ratio + 2.0 * self._ratio * sample))
        if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
            delay = max(delay, min(retry_after, self._cap))
        return delay

    def reset(self) -> None:
        """Forget the failures (call after a success)."""
        self._failures = 0
        self._ceiling = self._base
