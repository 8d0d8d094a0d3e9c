"""The sleep timeline the panel shows: per-window probabilities, grouped by night.

Pure numpy over stored feature rows, so it runs in the executor and is tested directly. The newest
trained model is applied to every stored window of the nights asked for (the same design and
calibration inference uses for the newest window). Each night's bedtime and wake estimate is
read off these windows by `ml.episodes.find_episodes`, the one episode detector RoomDB has (the
sleep entities and the suggested nights use it too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, tzinfo

from ..ml.clr import ClrArtifact, NotReady
from ..ml.features import feature_rows_from_long, night_of
from ..ml.pairing import build_design
from ..ml.store import FeatureRecord
from ..ml.training import sleep_probabilities, usable_rooms


@dataclass(frozen=True, slots=True)
class WindowProbability:
    """P(asleep) of one feature window (UTC epoch seconds)."""

    start: float
    end: float
    probability: float


def window_probabilities(
    artifact: ClrArtifact, records: Sequence[FeatureRecord]
) -> list[WindowProbability]:
    """P(asleep) of every window in `records` that has every room the model uses.

    Empty when the model belongs to another feature set or design (it is replaced at the next
    training; a probability from mismatched columns would be meaningless).
    """
    rooms = usable_rooms(artifact)
    if isinstance(rooms, NotReady):
        return []
    design = build_design(feature_rows_from_long(records), rooms)
    probabilities = sleep_probabilities(artifact, design)
    return [
        WindowProbability(float(start), float(end), float(p))
        for start, end, p in zip(design.window_start, design.window_end, probabilities, strict=True)
    ]


def group_by_night(
    windows: Sequence[WindowProbability], tz: tzinfo
) -> dict[date, list[WindowProbability]]:
    """The windows of each local night (noon to noon), oldest first."""
    nights: dict[date, list[WindowProbability]] = {}
    for window in sorted(windows, key=lambda item: item.start):
        nights.setdefault(night_of(window.start, tz), []).append(window)
    return nights
