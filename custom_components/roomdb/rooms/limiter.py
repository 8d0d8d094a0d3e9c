"""Write limiting per (domain, room_id).

It takes the clock as an argument (``now``, seconds on any monotonic scale) and an injectable
``random.Random``, so it is deterministic under test.
"""

from __future__ import annotations

from dataclasses import dataclass
import heapq
import random
from typing import Any, Final

type LimiterKey = tuple[str, str]
"""``(domain, room_id)``."""

SNAPSHOT_MAX_KEYS: Final = 50
"""At most this many limited keys are listed in :meth:`WriteLimiter.snapshot`."""


@dataclass(slots=True)
class _Window:
    deadline: float
    rejected: int = 0


class WriteLimiter:
    """At most one write per key per ``interval`` seconds, each window stretched by ±``jitter``.

    After an admitted write at ``now`` the key's next write is allowed at
    ``now + interval * (1 + u)`` with ``u`` uniform in ``[-jitter, +jitter]``, drawn per admitted
    write, so keys written in one burst come free at spread-out times. ``interval == 0`` disables
    limiting. Keys whose window has passed are forgotten, so memory is bounded by the number of
    keys written within the last ``interval * (1 + jitter)`` seconds.
    """

    def __init__(
        self, interval: float, jitter: float = 0.0, rng: random.Random | None = None
    ) -> None:
        """Create a limiter; ``jitter`` is a fraction in ``[0, 1)``."""
        if not interval >= 0:
            raise ValueError(f"interval must be >= 0, got {interval}")
        if not 0 <= jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {jitter}")
        self.interval = float(interval)
        self.jitter = float(jitter)
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._windows: dict[LimiterKey, _Window] = {}
        self._expiry: list[tuple[float, LimiterKey]] = []
        self.admitted_total = 0
        self.limited_total = 0

    def check(self, key: LimiterKey, now: float) -> float | None:
        """Admit and record a write (``None``), or return the seconds to wait before retrying."""
        self._forget_expired(now)
        window = self._windows.get(key)
        if window is not None and now < window.deadline:
            window.rejected += 1
            self.limited_total += 1
            return window.deadline - now
        self.admitted_total += 1
        if self.interval > 0:
            spread = self._rng.uniform(-self.jitter, self.jitter) if self.jitter else 0.0
            deadline = now + self.interval * (1.0 + spread)
            self._windows[key] = _Window(deadline)
            heapq.heappush(self._expiry, (deadline, key))
        return None

    def retry_after(self, key: LimiterKey, now: float) -> float | None:
        """Seconds until ``key`` may write again, without recording anything (``None`` = now)."""
        window = self._windows.get(key)
        if window is None or now >= window.deadline:
            return None
        return window.deadline - now

    def forget(self, key: LimiterKey) -> None:
        """Drop ``key``'s window (e.g. after its config was deleted)."""
        self._windows.pop(key, None)

    def clear(self) -> None:
        """Drop every window (counters are kept)."""
        self._windows.clear()
        self._expiry.clear()

    def __len__(self) -> int:
        """Number of keys currently remembered."""
        return len(self._windows)

    def _forget_expired(self, now: float) -> None:
        expiry = self._expiry
        while expiry and expiry[0][0] <= now:
            deadline, key = heapq.heappop(expiry)
            window = self._windows.get(key)
            if window is not None and window.deadline == deadline:
                del self._windows[key]
        # Entries left behind by forget() are dropped once their deadline passes; if they pile up
        # (many forgets with a long interval), rebuild the heap from the live windows.
        if len(expiry) > 2 * len(self._windows) + 64:
            self._expiry = [(w.deadline, k) for k, w in self._windows.items()]
            heapq.heapify(self._expiry)

    def snapshot(self, now: float) -> dict[str, Any]:
        """State for the health sensor (JSON-friendly, bounded in size).

        ``limited`` lists up to :data:`SNAPSHOT_MAX_KEYS` keys still inside their window, longest
        wait first, with the writes refused during that window.
        """
        self._forget_expired(now)
        active = sorted(
            ((key, w) for key, w in self._windows.items() if w.deadline > now),
            key=lambda item: (-item[1].deadline, item[0]),
        )
        return {
            "interval": self.interval,
            "jitter": self.jitter,
            "limited_count": len(active),
            "limited": [
                {
                    "domain": domain,
                    "room_id": room_id,
                    "retry_in": round(window.deadline - now, 3),
                    "rejected": window.rejected,
                }
                for (domain, room_id), window in active[:SNAPSHOT_MAX_KEYS]
            ],
            "admitted_total": self.admitted_total,
            "limited_total": self.limited_total,
        }
