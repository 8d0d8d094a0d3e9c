"""Score what RoomDB published during a replay against the simulated truth, beside a baseline.

Every 15-minute window of the day counts. A window is asleep when the household slept at least
half of it. RoomDB's probability for a window is what it published for it (the `roomdb_ml_result`
event after the window closed); a window it published nothing for counts as wrong. Figures:

- accuracy (P >= 0.5 against the truth) and calibration error (ECE, ten equal bins) over the two
  weeks before the routine change (days 21-34 in homes without one), and over the second week
  after the change (days 7-13 after it);
- bedtime and wake-time median error over the nights of those two weeks: RoomDB's own estimate
  where it publishes one (`sensor.roomdb_last_bedtime` / `..._last_wake_time`), else the sleep
  episode read off the published probabilities (the longest run of asleep windows, gaps of up to
  30 minutes closed, that overlaps the night);
- the routine-change detector: hours from the first morning of the new routine to the first
  alarm (an update naming new changepoints), the night it names, and false alarms (alarms before
  the change, or later than a week after it) per six weeks of monitoring.

The baseline is a plain logistic regression (scikit-learn, standardised inputs) on simple
15-minute features computed here from the device states (per room: motion triggers, share of the
window a light was on, TV on, door changes; time of day), retrained every night at 04:30 on the
labels entered by then, over every window whose state those labels make known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
import math
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from bench.households import DAY, EnteredLabel, Household, StateChange
from bench.sleep_replay import Record

WINDOW: Final = 900.0
STABLE_DAYS: Final = 14
AFTER: Final = (7, 14)
NO_CHANGE_STABLE: Final = (21, 35)
MIN_LABELS: Final = 7
GAP_WINDOWS: Final = 2
SIX_WEEKS: Final = 42.0

type FloatArray = npt.NDArray[np.float64]
type BoolArray = npt.NDArray[np.bool_]


@dataclass(slots=True)
class Scores:
    """One home's figures (None where the home has no such figure)."""

    home: str
    seed: int
    accuracy: float
    ece: float
    coverage: float
    bedtime_error_min: float
    wake_error_min: float
    accuracy_after: float | None
    delay_hours: float | None
    named_night_error: int | None
    false_alarms: int
    false_alarms_per_6_weeks: float
    baseline_accuracy: float
    baseline_ece: float
    baseline_bedtime_error_min: float
    baseline_wake_error_min: float
    baseline_accuracy_after: float | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able figures."""
        return asdict(self)


def window_starts(home: Household) -> FloatArray:
    """Starts of every whole 15-minute window of the replay."""
    first = math.ceil(home.start_ts / WINDOW) * WINDOW
    return np.arange(first, home.end_ts - WINDOW + 1, WINDOW)


def truth(home: Household, starts: FloatArray) -> BoolArray:
    """Whether the household slept most of each window."""
    return np.array([home.asleep_share(s, s + WINDOW) >= 0.5 for s in starts])


def periods(home: Household) -> tuple[tuple[float, float], tuple[float, float] | None]:
    """(stable period, the second week after the change or None)."""
    if home.change_at is None:
        lo, hi = NO_CHANGE_STABLE
        return (home.start_ts + lo * DAY, home.start_ts + hi * DAY), None
    change = home.change_at
    after = (change + AFTER[0] * DAY, change + AFTER[1] * DAY)
    return (change - STABLE_DAYS * DAY, change), after


def accuracy(prob: FloatArray, asleep: BoolArray, mask: BoolArray) -> float:
    """Share of windows classified right at P >= 0.5; a window without P counts as wrong."""
    p = prob[mask]
    right = ~np.isnan(p) & ((p >= 0.5) == asleep[mask])
    return float(right.mean())


def ece(prob: FloatArray, asleep: BoolArray, mask: BoolArray, bins: int = 10) -> float:
    """Expected calibration error over the windows with a probability."""
    keep = mask & ~np.isnan(prob)
    p, y = prob[keep], asleep[keep].astype(np.float64)
    index = np.minimum((p * bins).astype(np.int64), bins - 1)
    gap = np.abs(np.bincount(index, y, bins) - np.bincount(index, p, bins))
    return float(gap.sum() / max(1, p.size))


def episodes(starts: FloatArray, asleep: BoolArray) -> list[tuple[float, float]]:
    """Runs of asleep windows (closing awake gaps of up to 30 minutes) as (start, end)."""
    runs: list[list[float]] = []
    for start, flag in zip(starts, asleep, strict=True):
        if not flag:
            continue
        if runs and start - runs[-1][1] <= GAP_WINDOWS * WINDOW:
            runs[-1][1] = start + WINDOW
        else:
            runs.append([start, start + WINDOW])
    return [(a, b) for a, b in runs]


def night_errors(
    home: Household, runs: Sequence[tuple[float, float]], lo: float, hi: float
) -> tuple[list[float], list[float]]:
    """Bedtime and wake errors (minutes) of the nights in [lo, hi), inf where none was found."""
    bed_errors: list[float] = []
    wake_errors: list[float] = []
    for night in home.nights:
        if not lo <= night.bedtime < hi:
            continue
        overlaps = [
            (min(b, night.wake) - max(a, night.bedtime), a, b)
            for a, b in runs
            if min(b, night.wake) > max(a, night.bedtime)
        ]
        if not overlaps:
            bed_errors.append(math.inf)
            wake_errors.append(math.inf)
            continue
        _, a, b = max(overlaps)
        bed_errors.append(abs(a - night.bedtime) / 60.0)
        wake_errors.append(abs(b - night.wake) / 60.0)
    return bed_errors, wake_errors


def entity_night_errors(
    home: Household, record: Record, lo: float, hi: float
) -> tuple[list[float], list[float]] | None:
    """Errors of RoomDB's own last-night estimates, when it publishes them."""
    estimates: dict[str, tuple[float | None, float | None]] = {}
    for _, states in record.states:
        bed = states.get("sensor.roomdb_last_bedtime")
        wake = states.get("sensor.roomdb_last_wake_time")
        if bed is None or wake is None:
            return None
        night = bed[1].get("night")
        if night is None or bed[0] in ("unknown", "unavailable"):
            continue
        estimates[str(night)] = (
            _parse(bed[0]),
            _parse(wake[0]) if wake[1].get("night") == night else None,
        )
    bed_errors: list[float] = []
    wake_errors: list[float] = []
    for night in home.nights:
        if not lo <= night.bedtime < hi:
            continue
        bed, wake = estimates.get(night.night_date.isoformat(), (None, None))
        bed_errors.append(abs(bed - night.bedtime) / 60.0 if bed is not None else math.inf)
        wake_errors.append(abs(wake - night.wake) / 60.0 if wake is not None else math.inf)
    return bed_errors, wake_errors


def _parse(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _median(values: Sequence[float]) -> float:
    return float(np.median(values)) if values else math.nan


# --- changepoints --------------------------------------------------------------------------------


def changepoint_figures(
    home: Household, record: Record
) -> tuple[float | None, int | None, int, float]:
    """(delay in hours, named-night error in nights, false alarms, false alarms per 6 weeks)."""
    updates = record.changepoint_events()
    if not updates:
        return None, None, 0, 0.0
    monitored = (home.end_ts - updates[0][0]) / DAY
    alarms = [(ts, data) for ts, data in updates if data.get("new_changepoints")]
    delay: float | None = None
    named: int | None = None
    false_alarms = 0
    for ts, data in alarms:
        nights = [date.fromisoformat(str(c["night"])) for c in data["new_changepoints"]]
        after_change = home.change_at is not None and home.change_at <= ts
        within_week = after_change and ts <= home.change_at + 7 * DAY  # type: ignore[operator]
        if within_week and home.change_night is not None:
            errors = [abs((n - home.change_night).days) for n in nights]
            if delay is None:
                delay = (ts - home.change_at) / 3600.0  # type: ignore[operator]
                named = min(errors)
                continue
            if min(errors) <= 3:
                continue  # the same change reported again
        false_alarms += 1
    return delay, named, false_alarms, false_alarms / monitored * SIX_WEEKS


# --- baseline ------------------------------------------------------------------------------------


def _by_entity(changes: Iterable[StateChange]) -> dict[str, list[StateChange]]:
    out: dict[str, list[StateChange]] = {}
    for change in changes:
        out.setdefault(change.entity_id, []).append(change)
    return out


def _on_share(
    changes: Sequence[StateChange], starts: FloatArray, on: Callable[[str], bool]
) -> FloatArray:
    """Share of each window the entity was in an "on" state."""
    share = np.zeros(starts.size)
    first = starts[0]
    for change, following in zip(changes, [*changes[1:], None], strict=True):
        if not on(change.state):
            continue
        a = change.ts
        b = following.ts if following is not None else starts[-1] + WINDOW
        k = max(0, int((a - first) // WINDOW))
        while k < starts.size and starts[k] < b:
            overlap = min(b, starts[k] + WINDOW) - max(a, starts[k])
            if overlap > 0:
                share[k] += overlap / WINDOW
            k += 1
    return np.minimum(share, 1.0)


def _counts(
    changes: Sequence[StateChange], starts: FloatArray, counts: Callable[[str, str], bool]
) -> FloatArray:
    out = np.zeros(starts.size)
    previous = "off"
    first = starts[0]
    for change in changes:
        if counts(previous, change.state):
            k = int((change.ts - first) // WINDOW)
            if 0 <= k < starts.size:
                out[k] += 1
        previous = change.state
    return out


def simple_features(home: Household, starts: FloatArray) -> FloatArray:
    """Per room: motion triggers, light on share, TV on share, door changes; time of day."""
    entities = _by_entity(home.changes)
    columns: list[FloatArray] = []
    rooms = sorted({d.area for d in home.devices if d.area is not None})
    for room in rooms:
        in_room = [d for d in home.devices if d.area == room]
        motion = np.zeros(starts.size)
        light = np.zeros(starts.size)
        media = np.zeros(starts.size)
        door = np.zeros(starts.size)
        for device in in_room:
            changes = entities.get(device.entity_id, [])
            if not changes:
                continue
            if device.device_class == "motion":
                motion += _counts(changes, starts, lambda old, new: new == "on" and old != "on")
            elif device.device_class == "door":
                door += _counts(changes, starts, lambda old, new: {old, new} == {"on", "off"})
            elif device.entity_id.startswith("light."):
                light = np.maximum(light, _on_share(changes, starts, lambda s: s == "on"))
            elif device.entity_id.startswith("media_player."):
                media = np.maximum(media, _on_share(changes, starts, lambda s: s == "playing"))
        columns += [motion, light, media, door]
    zone = ZoneInfo(home.tz)
    local = [datetime.fromtimestamp(s, zone) for s in starts]
    clock = np.array([(t.hour * 3600 + t.minute * 60) / DAY for t in local])
    columns += [np.sin(2 * np.pi * clock), np.cos(2 * np.pi * clock)]
    return np.column_stack(columns)


def known_windows(
    labels: Mapping[date, tuple[float, float]], starts: FloatArray, zone: ZoneInfo
) -> tuple[BoolArray, BoolArray]:
    """Windows whose state the labels make known, and their state (asleep by majority).

    A labelled night is known from its start: asleep to its end, then awake up to the next
    night's start when that night is labelled too, else to noon after the night (the night's
    sleep is its only one). A window is known when it lies wholly in such a stretch.
    """
    stretches: list[list[float]] = []
    asleep = np.zeros(starts.size, dtype=bool)
    ends = starts + WINDOW
    for night, (start, end) in sorted(labels.items()):
        following = labels.get(night + timedelta(days=1))
        noon = datetime.combine(night + timedelta(days=1), time(12)).replace(tzinfo=zone)
        until = following[0] if following is not None else max(end, noon.timestamp())
        if stretches and start <= stretches[-1][1]:
            stretches[-1][1] = max(stretches[-1][1], until)
        else:
            stretches.append([start, until])
        slept = np.clip(np.minimum(ends, end) - np.maximum(starts, start), 0.0, None)
        asleep |= slept >= WINDOW / 2
    known = np.zeros(starts.size, dtype=bool)
    for a, b in stretches:
        known |= (starts >= a) & (ends <= b)
    return known, asleep & known


def baseline_probabilities(home: Household, starts: FloatArray) -> FloatArray:
    """P(asleep) per window from the nightly-retrained scikit-learn logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = simple_features(home, starts)
    zone = ZoneInfo(home.tz)
    prob = np.full(starts.size, np.nan)
    day = datetime.fromtimestamp(home.start_ts, zone).date()
    while True:
        retrain = datetime.combine(day, time(4, 30)).replace(tzinfo=zone).timestamp()
        if retrain >= home.end_ts:
            break
        day += timedelta(days=1)
        labels = latest_labels(home.entries, retrain)
        if len(labels) < MIN_LABELS:
            continue
        known, asleep = known_windows(labels, starts, zone)
        known &= starts + WINDOW <= retrain
        if asleep[known].all() or not asleep[known].any():
            continue
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        model.fit(x[known], asleep[known])
        upcoming = (starts >= retrain) & (starts < retrain + DAY)
        if upcoming.any():
            prob[upcoming] = model.predict_proba(x[upcoming])[:, 1]
    return prob


def latest_labels(entries: Iterable[EnteredLabel], until: float) -> dict[date, tuple[float, float]]:
    """Each night's last entry made before `until`."""
    labels: dict[date, tuple[float, float]] = {}
    for entry in sorted(entries, key=lambda e: e.entered_at):
        if entry.entered_at <= until and entry.end <= until:
            labels[entry.night_date] = (entry.start, entry.end)
    return labels


# --- one home ------------------------------------------------------------------------------------


def score(home: Household, record: Record) -> Scores:
    """All figures of one replay."""
    starts = window_starts(home)
    asleep = truth(home, starts)
    published = record.sleep_probabilities()
    prob = np.array([published.get(float(s), np.nan) for s in starts])
    base = baseline_probabilities(home, starts)
    (lo, hi), after = periods(home)
    stable = (starts >= lo) & (starts < hi)

    own = entity_night_errors(home, record, lo, hi)
    bed_err, wake_err = (
        own
        if own is not None
        else night_errors(home, episodes(starts, np.nan_to_num(prob) >= 0.5), lo, hi)
    )
    base_bed, base_wake = night_errors(home, episodes(starts, np.nan_to_num(base) >= 0.5), lo, hi)
    acc_after = base_after = None
    if after is not None:
        window = (starts >= after[0]) & (starts < after[1])
        acc_after = accuracy(prob, asleep, window)
        base_after = accuracy(base, asleep, window)
    delay, named, false_alarms, per_six = changepoint_figures(home, record)
    return Scores(
        home=home.name,
        seed=home.seed,
        accuracy=accuracy(prob, asleep, stable),
        ece=ece(prob, asleep, stable),
        coverage=float((~np.isnan(prob[stable])).mean()),
        bedtime_error_min=_median(bed_err),
        wake_error_min=_median(wake_err),
        accuracy_after=acc_after,
        delay_hours=delay,
        named_night_error=named,
        false_alarms=false_alarms,
        false_alarms_per_6_weeks=per_six,
        baseline_accuracy=accuracy(base, asleep, stable),
        baseline_ece=ece(base, asleep, stable),
        baseline_bedtime_error_min=_median(base_bed),
        baseline_wake_error_min=_median(base_wake),
        baseline_accuracy_after=base_after,
    )


GOALS: Final[dict[str, tuple[str, float]]] = {
    "accuracy": (">=", 0.97),
    "ece": ("<=", 0.025),
    "bedtime_error_min": ("<=", 15.0),
    "wake_error_min": ("<=", 15.0),
    "accuracy_after": (">=", 0.95),
    "delay_hours": ("<=", 48.0),
    "false_alarms_per_6_weeks": ("<=", 1.0),
}
"""The goals every home must meet (figures a home does not have are skipped)."""


def meets(name: str, value: float) -> bool:
    """Whether a figure meets its goal in `GOALS`."""
    sense, goal = GOALS[name]
    return value >= goal if sense == ">=" else value <= goal


def misses(scores: Scores) -> list[str]:
    """The goals this home misses (a change it never found misses the delay goal)."""
    found: list[str] = []
    values = scores.as_dict()
    for name, (sense, goal) in GOALS.items():
        value = values[name]
        if value is None:
            if name == "delay_hours" and scores.accuracy_after is not None:
                found.append(f"{name}: change not found")
            continue
        if not meets(name, value):
            found.append(f"{name}: {value:.3f} (goal {sense} {goal})")
    return found
