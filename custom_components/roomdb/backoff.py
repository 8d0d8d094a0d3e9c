"""The one retry backoff every RoomDB retry loop uses (pure Python, no HA import).

Failure ``n`` (1, 2, …) waits ``min(cap, base * factor ** (n - 1))``, spread by ±``jitter`` of
itself and never more than ``cap``: with the defaults 2, 4, 8, 16, 32, 60, 60 … seconds, each
±25 %. Jitter keeps many retries (pipelines of every room, a restart of Home Assistant) from
arriving in lockstep. A server's ``Retry-After`` is honoured as a lower bound. ``reset()`` after a
success starts over at ``base``.
"""

from __future__ import annotations

from collections.abc import Callable
import math
import random
from typing import Final

DEFAULT_BASE: Final = 2.0
DEFAULT_FACTOR: Final = 2.0
DEFAULT_CAP: Final = 60.0
DEFAULT_JITTER: Final = 0.25
MAX_RETRY_AFTER: Final = 3600.0
"""The longest ``Retry-After`` a server may ask for; beyond it a misbehaving server is ignored."""
_MAX_EXPONENT: Final = 64


class Backoff:
    """Delays for consecutive failures; ``rng`` returns floats in [0, 1) (inject for tests)."""

    def __init__(
        self,
        *,
        base: float = DEFAULT_BASE,
        cap: float = DEFAULT_CAP,
        factor: float = DEFAULT_FACTOR,
        jitter: float = DEFAULT_JITTER,
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
        if not 0 <= jitter < 1:
            raise ValueError(f"jitter must be within [0, 1), got {jitter}")
        self.base = float(base)
        self.cap = float(cap)
        self.factor = float(factor)
        self.jitter = float(jitter)
        self._rng = rng if rng is not None else random.Random().random  # noqa: S311 - jitter
        self.attempt = 0
        """Failures since the last reset."""

    def nominal(self, attempt: int) -> float:
        """Return the un-jittered delay after failure ``attempt + 1``."""
        exponent = min(max(attempt, 0), _MAX_EXPONENT)
        return min(self.cap, self.base * self.factor**exponent)

    def next_delay(self, retry_after: float | None = None) -> float:
        """Record a failure and return the seconds to wait before the next attempt."""
        sample = min(max(float(self._rng()), 0.0), 1.0)
        delay = min(self.cap, self.nominal(self.attempt) * (1 + self.jitter * (2 * sample - 1)))
        self.attempt += 1
        if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
        return delay

    def reset(self) -> None:
        """Forget the failures (call after a success)."""
        self.attempt = 0
