"""Routine-change tracking: BOCPD over nightly feature averages, resumable (pure; executor).

Each complete night becomes one observation per stream (`room:feature` slot averages, see
`nightly_series`). Until `PRIOR_NIGHTS` nights exist nothing runs; then the priors come from those
first nights and every night so far is fed once. After that only nights later than the last one
fed are added, so a restart resumes from the stored state without replaying history. A night is
complete once its slot has ended before the newest computed window. If the set of streams changes
(a room appeared or went away) the tracker starts over from the stored features.

The state (JSON) holds the stream names, the nights fed, each stream's reported changepoints (as
night dates) and `Bocpd.to_dict()`. `changepoint_probability` is the maximum over streams of
P(run < 5 nights); `run_length` is the shortest MAP run length, i.e. nights since the most recent
change any stream shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
import json
from typing import Any, Final

import numpy as np

from .bocpd import Bocpd, BocpdConfig, FloatArray, IntArray, priors_from_history
from .features import TzLike, feature_rows_from_long, nightly_series, resolve_tz
from .store import FeatureRecord

MODEL_KEY: Final = "nightly"
STATE_VERSION: Final = 1
PRIOR_NIGHTS: Final = 7
PRIOR_MIN_STD: Final = 0.05
SLOT_START_HOUR: Final = 20
SLOT_END_HOUR: Final = 4


@dataclass(slots=True)
class TrackerState:
    """Everything needed to continue after a restart."""

    names: tuple[str, ...]
    nights: list[date]
    model: Bocpd
    changepoints: dict[str, list[str]] = field(default_factory=dict)

    @property
    def last_night(self) -> date:
        """The newest night fed."""
        return self.nights[-1]

    def stream_probabilities(self) -> FloatArray:
        """P(run < short_run) per stream, from the run-length posterior."""
        short = self.model.config.short_run
        out: FloatArray = np.exp(self.model.log_r[:, :short]).sum(axis=1)
        return out

    def stream_run_lengths(self) -> IntArray:
        """MAP run length per stream."""
        out: IntArray = np.argmax(self.model.log_r, axis=1).astype(np.int64)
        return out

    @property
    def changepoint_probability(self) -> float:
        """Highest changepoint probability over the streams."""
        return float(self.stream_probabilities().max())

    @property
    def run_length(self) -> int:
        """Nights since the most recent change in any stream (MAP)."""
        return int(self.stream_run_lengths().min())

    def to_json(self) -> str:
        """Serialise (arrays as base64, see `Bocpd.to_dict`)."""
        return json.dumps(
            {
                "version": STATE_VERSION,
                "names": list(self.names),
                "nights": [night.isoformat() for night in self.nights],
                "changepoints": self.changepoints,
                "model": self.model.to_dict(),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> TrackerState:
        """Inverse of `to_json`; raises ValueError (or KeyError/TypeError) on a bad state."""
        data: dict[str, Any] = json.loads(text)
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported tracker state version {data.get('version')!r}")
        model = Bocpd.from_dict(data["model"])
        names = tuple(str(name) for name in data["names"])
        nights = [date.fromisoformat(str(night)) for night in data["nights"]]
        if len(names) != model.n_streams or not nights:
            raise ValueError("tracker state does not match its model")
        changepoints = {str(k): [str(v) for v in vs] for k, vs in data["changepoints"].items()}
        return cls(names, nights, model, changepoints)


@dataclass(frozen=True, slots=True)
class TrackerUpdate:
    """Outcome of one `advance`: the new state (None when not ready) and what happened."""

    status: str  # "ok", "skipped", "not_ready" or "streams_changed"
    detail: str
    state: TrackerState | None
    steps: int = 0
    new_changepoints: tuple[tuple[str, date], ...] = ()


def night_complete_at(night: date, tz: TzLike) -> float:
    """UTC epoch at which night `night`'s slot ends (local `SLOT_END_HOUR` the next day)."""
    local = datetime.combine(night + timedelta(days=1), time(SLOT_END_HOUR), resolve_tz(tz))
    return local.timestamp()


def resume_from(state: TrackerState, tz: TzLike) -> float:
    """UTC epoch of the first window the next night can use (noon after the last night fed)."""
    noon = datetime.combine(state.last_night + timedelta(days=1), time(12), resolve_tz(tz))
    return noon.timestamp()


def _complete_series(
    records: Sequence[FeatureRecord], tz: TzLike, until: float
) -> tuple[tuple[str, ...], list[date], np.ndarray]:
    series = nightly_series(
        feature_rows_from_long(records),
        tz,
        slot_start_hour=SLOT_START_HOUR,
        slot_end_hour=SLOT_END_HOUR,
    )
    keep = [
        i for i, night in enumerate(series.night_dates) if night_complete_at(night, tz) <= until
    ]
    return series.names, [series.night_dates[i] for i in keep], series.values[keep]


def _feed(
    state: TrackerState, nights: list[date], values: np.ndarray
) -> tuple[tuple[str, date], ...]:
    found: list[tuple[str, date]] = []
    for night, row in zip(nights, values, strict=True):
        step = state.model.update(row)
        state.nights.append(night)
        for s in np.flatnonzero(step.changepoint):
            start = state.nights[int(step.changepoint_index[s])]
            name = state.names[s]
            state.changepoints.setdefault(name, []).append(start.isoformat())
            found.append((name, start))
    return tuple(found)


def start_tracker(
    records: Sequence[FeatureRecord], tz: TzLike, until: float, config: BocpdConfig
) -> TrackerUpdate:
    """Build the tracker from every stored night (priors from the first `PRIOR_NIGHTS`)."""
    names, nights, values = _complete_series(records, tz, until)
    if len(nights) < PRIOR_NIGHTS or not names:
        return TrackerUpdate(
            "not_ready",
            f"{len(nights)} complete nights, the prior needs {PRIOR_NIGHTS}",
            None,
        )
    priors = priors_from_history(values[:PRIOR_NIGHTS], min_std=PRIOR_MIN_STD)
    # The first observation needs a night to date it: `nights` grows as the model is fed.
    state = TrackerState(names, [], Bocpd(len(names), config, priors))
    found = _feed(state, nights, values)
    return TrackerUpdate("ok", f"started with {len(nights)} nights", state, len(nights), found)


def advance(
    state: TrackerState,
    records: Sequence[FeatureRecord],
    tz: TzLike,
    until: float,
    config: BocpdConfig,
) -> TrackerUpdate:
    """Feed the complete nights after the last one fed (`records` start at `resume_from`).

    Returns status "streams_changed" (and no state) when the streams differ from the stored
    ones; the caller then starts over with `start_tracker` on every stored window.
    """
    if state.model.config.hazard != config.hazard:
        state.model.config = replace(state.model.config, hazard=config.hazard)
    names, nights, values = _complete_series(records, tz, until)
    fresh = [i for i, night in enumerate(nights) if night > state.last_night]
    if not fresh:
        return TrackerUpdate("skipped", "no new complete night", state)
    if names != state.names:
        return TrackerUpdate("streams_changed", f"{len(names)} streams now", None)
    found = _feed(state, [nights[i] for i in fresh], values[fresh])
    return TrackerUpdate("ok", f"{len(fresh)} new nights", state, len(fresh), found)
