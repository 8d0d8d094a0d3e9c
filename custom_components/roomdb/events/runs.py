"""A set of sequence numbers kept as sorted, merged inclusive runs (pure Python, no HA import).

Peers report missing numbers in long consecutive stretches; storing ``[first, last]`` runs keeps
the Store document and the memory small however many numbers a stretch holds.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator

from .event import is_int


class RunSet:
    """Positive integers as sorted, disjoint, non-adjacent runs ``[first, last]``.

    With ``max_runs`` the oldest runs are forgotten once there are more than that many.
    """

    __slots__ = ("_firsts", "_lasts", "_max_runs")

    def __init__(self, numbers: Iterable[int] = (), *, max_runs: int | None = None) -> None:
        """Create the set from ``numbers``."""
        self._firsts: list[int] = []
        self._lasts: list[int] = []
        self._max_runs = max_runs
        for number in numbers:
            self.add(number)

    def __contains__(self, value: object) -> bool:
        """Return whether ``value`` is in the set."""
        if not is_int(value):
            return False
        pos = bisect_right(self._firsts, value) - 1
        return pos >= 0 and value <= self._lasts[pos]

    def __iter__(self) -> Iterator[int]:
        """Iterate the numbers in ascending order."""
        for first, last in zip(self._firsts, self._lasts, strict=True):
            yield from range(first, last + 1)

    def __len__(self) -> int:
        """Return how many numbers the set holds."""
        return sum(last - first + 1 for first, last in zip(self._firsts, self._lasts, strict=True))

    def __bool__(self) -> bool:
        """Return whether the set holds any number."""
        return bool(self._firsts)

    def add(self, value: int) -> None:
        """Add ``value``, merging it with neighbouring runs."""
        pos = bisect_right(self._firsts, value) - 1
        if pos >= 0 and value <= self._lasts[pos]:
            return
        joins_left = pos >= 0 and self._lasts[pos] == value - 1
        joins_right = pos + 1 < len(self._firsts) and self._firsts[pos + 1] == value + 1
        if joins_left and joins_right:
            self._lasts[pos] = self._lasts[pos + 1]
            del self._firsts[pos + 1], self._lasts[pos + 1]
        elif joins_left:
            self._lasts[pos] = value
        elif joins_right:
            self._firsts[pos + 1] = value
        else:
            self._firsts.insert(pos + 1, value)
            self._lasts.insert(pos + 1, value)
        if self._max_runs is not None and len(self._firsts) > self._max_runs:
            del self._firsts[0], self._lasts[0]

    def discard(self, value: int) -> None:
        """Remove ``value`` if present, splitting its run."""
        pos = bisect_right(self._firsts, value) - 1
        if pos < 0 or value > self._lasts[pos]:
            return
        first, last = self._firsts[pos], self._lasts[pos]
        if first == last:
            del self._firsts[pos], self._lasts[pos]
        elif value == first:
            self._firsts[pos] = value + 1
        elif value == last:
            self._lasts[pos] = value - 1
        else:
            self._lasts[pos] = value - 1
            self._firsts.insert(pos + 1, value + 1)
            self._lasts.insert(pos + 1, last)

    def to_list(self) -> list[list[int]]:
        """Return the runs as ``[[first, last], ...]`` (the Store form)."""
        return [[first, last] for first, last in zip(self._firsts, self._lasts, strict=True)]

    @classmethod
    def from_list(cls, raw: object, *, max_runs: int | None = None) -> RunSet:
        """Rebuild from ``to_list`` output; raise ``ValueError`` when it is malformed."""
        runs = cls(max_runs=max_runs)
        if not isinstance(raw, list):
            raise TypeError("runs must be a list")
        for item in raw:
            if (
                not isinstance(item, list)
                or len(item) != 2
                or not all(is_int(x) and x >= 1 for x in item)
                or item[0] > item[1]
                or (runs._lasts and item[0] <= runs._lasts[-1] + 1)
            ):
                raise ValueError(f"malformed run {item!r}")
            runs._firsts.append(item[0])
            runs._lasts.append(item[1])
        if max_runs is not None:
            del runs._firsts[:-max_runs], runs._lasts[:-max_runs]
        return runs


def format_runs(numbers: Iterable[int], max_runs: int = 8) -> str:
    """Render numbers as runs, e.g. ``3-7, 12`` (at most ``max_runs`` runs, then a count)."""
    runs = RunSet(numbers).to_list()
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs[:max_runs])
    if len(runs) > max_runs:
        text += f" and {len(runs) - max_runs} more runs"
    return text
