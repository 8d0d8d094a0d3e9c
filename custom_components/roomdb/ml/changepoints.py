"""Routine changes: one pooled BOCPD over each day's profile, resumable (pure; executor).

Observation: every local day from 04:00 to 04:00, named after the night its evening begins, becomes
one vector: per three-hour bin the home-wide activity level of its windows (min(events,
`ACTIVITY_LEVELS`) / `ACTIVITY_LEVELS`) and the share of time with a light on, a media player on,
someone away and a phone charging, plus the bedtime and wake time of the night that ended that
morning (hours after that night's noon; the label where there is one, else the sleep model's
episode). Only observed windows count; a bin with less than half its windows observed, or a sleep
time not known yet, is missing that day (it adds no evidence). What a window observes depends on the
signal: the activity (mostly motion and doors) and the charger are reported by binary sensors, so a
window in which one of them was unavailable (a flat battery, a radio dropout) leaves them out; such
an outage does not hide the lights, media players and presence, and only RoomDB not recording (a
gap) leaves them out. A day is complete once it has ended and `COVERAGE` of its windows exist, so a
DST day is judged by its own length. A day that ends or begins with someone away for most of the
night (presence says so) is left out: a night away is a trip, not a sign of a new routine at home. A
night shift is not a trip: the day's own night does not leave it out when the afternoon before was
spent at home, nor the night before it when the late morning after was; a shift, between the two,
leaves no day out.

Each day is compared with the current routine: the `REFERENCE_DAYS` days before it (since the
latest change), its own weekday's median (every Saturday may look like a Monday spent at home)
and the spread of the routine's days from the reference the other days give each of them (a day
left out, as a new day is: measured against references that included the day itself, the
spread came out about half the real one, ordinary days sat three spreads out in several
dimensions, and the clip at three spreads made a real change look no odder than they did). A
signal that is on or off for a whole night or stay (`BINARY_SIGNALS`: the phone on the charger,
someone away) varies between days like a coin: its spread is at least the one its rate in the
routine implies (`_binary_spread`), where the robust spread of a phone left off the charger one
night in five is zero and one such night counted as `CLIP` spreads. The lights are compared
only with days on the same clock (a DST switch moves dusk by an hour on the clock, and the
lights with it; that is no new routine). The detector sees the standardised differences
clipped at `CLIP` spreads.

Detector: BOCPD with one run-length posterior for the whole vector (pooled) and sparse shifts:
in every run each dimension is either as the routine says (a fixed standard Student-t), moved
(a mean learned within the run, around which its days scatter `MOVED_SCALE` spreads) or irregular
(the routine's mean, its days `SCATTERED_SCALE` spreads wide). Pooling
adds every dimension's evidence into one posterior, one test per day, instead of comparing dozens
of per-stream posteriors afterwards (which raises an alarm whenever any stream has an odd night).

- `changepoint_probability`: the posterior probability that the current run began one to
  `RECENT_DAYS` days before the newest day (the newest day alone is left out: one odd day looks
  like a new routine until the next day shows whether it lasted), on a day the detector watched
  (a run that began among the reference days is no new routine: they are the routine, and a
  few odd ones in a row among them, fed silently, had made the first watched day raise an
  alarm about them);
- an alarm is raised when the odds of such a recent run against an older one (`recent_odds`)
  reach the routine's threshold: the odds the routine's own days reach at a share of
  `false_alarms_per_year / 365` of days (see `learned_model`), at least `alarm_odds(...)` (with
  hazard H the odds are about H times the sum of the recent Bayes factors, whose expectation
  without a change is `RECENT_DAYS`, so by Markov's inequality a false alarm on a given day has
  a chance of at most `false_alarms_per_year / 365` under the model) and at most 1 / H. The cap
  is empirical: the shuffled replay of a routine's days can overstate how odd they look in a row
  (thresholds of 1e5 to 1e20 when each day was compared with all days rather than its own
  weekday), which delayed alarms by days on the harness's homes; `bench/bench_sleep.py` and
  `bench/bench_routine.py` measure the false alarms it costs;
- an alarm names the night the new routine began (the most probable start among the recent
  days, or the newest day when it is clearly more probable: `raised_night`); the detector then
  learns the new routine for `REFERENCE_DAYS` days and starts over, and watches the old one
  until the new one has been watched `RECENT_DAYS` days (`PreviousRoutine`);
- `run_length`: the most probable number of days the current routine has lasted.

State (JSON, `STATE_VERSION`): the dimension names, the recent days' vectors, the alarms and
`Bocpd.to_dict()`; only days later than the last one fed are added, so a restart resumes without
replaying history. A state of an earlier version (fed days standardised the earlier way) is
refused with `OutdatedStateError`, and the pipeline rebuilds the detector from the stored days.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
import json
import math
from typing import Any, Final
import warnings

import numpy as np
import numpy.typing as npt

from .bocpd import Bocpd, BocpdConfig, FloatArray, NormalGammaPrior
from .episodes import Episode
from .features import (
    HOME_ROOM_ID,
    FeatureRow,
    Span,
    TzLike,
    clock_seconds_after_noon,
    feature_rows_from_long,
    resolve_tz,
    union_per_window,
)
from .pairing import UNOBSERVED_SHARE
from .store import FeatureRecord

MODEL_KEY: Final = "nightly"
STATE_VERSION: Final = 8
"""8: irregular dimensions (`SCATTERED_SHARE`), the newest day named when clearly first
(`NEWEST_NIGHT_ODDS`), the old routine watched into the new one's first days; 7: lights, media
and presence read through a binary sensor's outage, the old routine's watch knows which way the
alarm moved (6: the routine before an alarm watched while the new one is learned; 5: wider moved
noise, an alarm's start among the runs that raised it; 4: graded activity and Bernoulli spread
floors; 3: left-out spreads, same-clock lights)."""
REFERENCE_DAYS: Final = 14
"""Days of a routine the detector learns before it watches it (and compares each day with)."""
HISTORY_DAYS: Final = 28
MIN_SPREAD: Final = 0.1
"""Smallest spread of a share (in a routine that never varies, a tenth is still noise)."""
TIMING_MIN_SPREAD: Final = 0.25
"""Smallest spread of a sleep time, in hours."""
TIMING_DIMENSIONS: Final = ("bedtime", "wake")
ACTIVITY_LEVELS: Final = 3
"""A window's activity counts min(events, this) / this: a pet alone rarely makes a busy window, a
person at home usually does (in the harness's pet owner's home the dog alone made 46 % of weekday
windows active, but only 10 % with two events or more against 89 % with its owner at home, so with
"any event" working from home barely moved the share)."""
BINARY_SIGNALS: Final = ("charging", "away")
"""Signals that are on or off for a whole night or stay (one phone, one trip): a day of them is
about one Bernoulli draw, and their spread is at least the one its observed rate implies."""
BINARY_PRIOR_DAYS: Final = 14.0
"""Weight, in days, of the Bernoulli variance as a prior against the comparable days (whose
robust spread of a signal that rarely varies is zero), as in a pooled variance estimate."""
CLIP: Final = 6.0
"""No single dimension counts for more than this many spreads on a day."""
NULL_DOF_ALPHA: Final = 2.5
"""Half the degrees of freedom of the "as the routine says" Student-t (five: heavy tails)."""
CALIBRATION_DAYS: Final = 3000
SHIFT_SHARE: Final = 0.1
MOVED_KAPPA: Final = 0.1
MOVED_ALPHA: Final = 1e6
MOVED_SCALE: Final = 2.0
"""Noise of a moved dimension, in routine spreads. Held to the routine's own spread, two things
went wrong. The calibration: in some homes (an office worker with weekend outings and a phone now
and then off the charger) the routine's own days, replayed shuffled, put the threshold at its cap
(odds of 250, where two clearly new days reached 127) instead of near the model's floor (2.2).
And the fit: a new routine's first days need not move the same dimensions alike (a night-shift
job may begin with a day at home, then days asleep), and a run begun on the first such day fit
the second little better than the old routine did. With twice the spread, 67 of 72 changes in
144 homes never run before (seeds 161-184 of `bench/bench_routine.py`) were found within 48 h,
against 63, and 2 homes had a false alarm, against 8."""
SCATTERED_SHARE: Final = 0.05
SCATTERED_SCALE: Final = 4.0
"""A dimension may also turn irregular in a new routine without moving (prior weight 5 %, its
days four routine spreads wide). A long run of the routine soon rules that out; a young run must
allow for it in every dimension, so a run begun on days odd in only a few signals (a late night
out, a phone left off the charger) needs more evidence, while a change that moves several
signals is as clear as before. On the 924 homes of seeds 101-232 of `bench/bench_routine.py`, 43
homes had a false alarm in six weeks without it and 29 with it; 495 of the 528 changes were
found within 48 h either way."""
NEWEST_NIGHT_ODDS: Final = 3.0
"""The alarm names the newest day instead when a run beginning on it is this many times as
probable as the best of the runs that raised the alarm: a large change is clear from its first
night, and the day before it, merely less unlike the routine, must not take its name."""
FIT_SHARE: Final = 0.1
"""A day's moved signals look like the routine when they fit it at least as well as those of the
routine's own days do at this share (`routine_fit`; the tenth-worst of them)."""
ECHO_SHARE: Final = 0.5
"""A day moved an alarm's signals the same way as the alarm when, along the alarm's direction, its
scores reach this share of the alarm's own (`echo`)."""
WEEK: Final = timedelta(days=7)
"""A routine repeats within a week: the days off of a new one end a week after its first at most."""
DAY_START_HOUR: Final = 4
BIN_HOURS: Final = 3
COVERAGE: Final = 0.9
BIN_COVERAGE: Final = 0.5
RECENT_DAYS: Final = 3
SAME_CLOCK_DAYS: Final = 7
"""Routine days on the day's clock (UTC offset) needed to compare its lights with them."""
SAME_WEEKDAY_LEFT_OUT: Final = 1
"""A routine day left out for calibration is compared with its weekday's one remaining day."""
TOP_SIGNALS: Final = 3
SIGNALS: Final[dict[str, str]] = {
    "activity": "activity_events",
    "light": "light_on_fraction",
    "media": "media_active_fraction",
    "away": "away_fraction",
    "charging": "charging_fraction",
}
SENSED_SIGNALS: Final = frozenset({"activity", "charging"})
"""Signals binary sensors report (the activity mostly through motion and doors): a window with one
of them unavailable does not observe them.
A flat motion sensor does not hide whether a light was on or someone was away; leaving those out
too hid from the detector the first days of a new routine whenever a battery ran flat on one of
them (a night shift's second day, read without presence, was taken for a trip)."""
DEFAULT_FALSE_ALARMS_PER_YEAR: Final = 2.0
NIGHT_HOURS: Final = frozenset({22, 23, 0, 1, 2, 3})
"""A day's night: 22:00 to 04:00, the end of the day."""
EARLY_HOURS: Final = frozenset({4, 5, 6})
"""A day's early morning, read for the night before it when too little of that night was seen."""
MORNING_HOURS: Final = frozenset({9, 10, 11, 12})
"""The late morning after a night away: home again then, the night was a shift, not a trip."""
EVENING_HOURS: Final = frozenset({16, 17, 18, 19})
"""The afternoon before a night away: at home then, the night was a shift, not a trip."""
AWAY_NIGHT: Final = 0.5


def dimension_names() -> tuple[str, ...]:
    """One dimension per signal and three-hour bin (e.g. `light 22-01`), then the sleep times."""
    names: list[str] = []
    for signal in SIGNALS:
        for b in range(24 // BIN_HOURS):
            first = (DAY_START_HOUR + b * BIN_HOURS) % 24
            names.append(f"{signal} {first:02d}-{(first + BIN_HOURS) % 24:02d}")
    return (*names, *TIMING_DIMENSIONS)


def alarm_odds(hazard: float, false_alarms_per_year: float) -> float:
    """Posterior odds of a recent change at which an alarm is raised (module docstring)."""
    return hazard * 365.0 * RECENT_DAYS / false_alarms_per_year


def recent_runs(watched: int) -> slice:
    """Posterior indices (run lengths) of a recent run: begun on a watched day, one to three before.

    The newest day alone is left out (`recent_odds`); of the `RECENT_DAYS` days before it, only
    those the detector watched count (`watched` days so far, the newest included). A run that
    began among the routine's reference days is no new routine: those days are the routine by
    definition. Yet fed silently, a few odd ones in a row among them (a phone off the charger
    for four nights) made the posterior favour a run that began just after them, and the first
    watched day raised an alarm about the reference days themselves.
    """
    return slice(2, min(RECENT_DAYS, watched - 1) + 2)


def recent_odds(model: Bocpd, watched: int) -> float:
    """Odds of a recent run (`recent_runs`, after `watched` days watched) against older ones.

    Runs younger than that (a change at the newest day, or right after it) are in neither side:
    their mass is about the hazard whatever the days say, so with them in the denominator the
    odds could never exceed about 1 / hazard and a threshold calibrated near it is met by luck.
    """
    posterior = np.exp(model.log_r[0])
    recent = recent_runs(watched)
    older = float(posterior[recent.stop :].sum())
    return float(posterior[recent].sum()) / max(older, 1e-300)


def recent_probability(model: Bocpd, watched: int) -> float:
    """P(the current run began on a recent watched day: `recent_runs`)."""
    posterior = np.exp(model.log_r[0])
    return float(posterior[recent_runs(watched)].sum())


def raised_night(model: Bocpd, days: Sequence[date], threshold: float) -> date | None:
    """The night a new routine began, when the odds of a recent run reach `threshold`.

    It is the most probable start among the runs that raised the alarm (`recent_runs`), or the
    newest day when a run beginning on it is clearly ahead of them (`NEWEST_NIGHT_ODDS`; it still
    counts for no side of the odds); `days` are the days the model was fed.
    """
    if recent_odds(model, len(days)) < threshold:
        return None
    recent = recent_runs(len(days))
    run: int = int(np.argmax(model.log_r[0, recent])) + recent.start
    if model.log_r[0, 1] > model.log_r[0, run] + math.log(NEWEST_NIGHT_ODDS):
        run = 1
    return days[-run]


def routine_fit(scores: FloatArray) -> float:
    """How well a day's scores fit the routine (NaN when nothing of the day was observed).

    The mean over its observed dimensions of the log density of "as the routine says" (the
    detector's Student-t, up to a constant): 0 for a day exactly like the routine, lower the
    further out it is.
    """
    seen = scores[~np.isnan(scores)]
    if not seen.size:
        return math.nan
    dof = 2.0 * NULL_DOF_ALPHA
    return float(np.mean(-(dof + 1.0) / 2.0 * np.log1p(seen * seen / dof)))


@dataclass(frozen=True, slots=True)
class DailyProfiles:
    """One vector per complete day (NaN: not observed enough, or not known yet)."""

    days: tuple[date, ...]
    values: FloatArray  # shape (len(days), len(dimension_names()))


def day_end(day: date, tz: TzLike) -> float:
    """UTC epoch at which a day ends (04:00 local the next morning)."""
    zone = resolve_tz(tz)
    return datetime.combine(day + timedelta(days=1), time(DAY_START_HOUR), zone).timestamp()


def _sleep_times(day: date, episodes: dict[date, Episode], tz: TzLike) -> list[float]:
    """Bedtime and wake time of the night that ended in the day's morning, in hours after noon.

    That night, not the one the day's evening begins: when the day is judged (04:00 the next
    morning) its own night has not ended, and a resumed detector must see what an
    uninterrupted one saw.
    """
    night = day - timedelta(days=1)
    last_night = episodes.get(night)
    if last_night is None or last_night.wake is None or last_night.wake >= day_end(day, tz):
        return [math.nan, math.nan]
    return [
        clock_seconds_after_noon(night, last_night.bedtime, tz) / 3600.0,
        clock_seconds_after_noon(night, last_night.wake, tz) / 3600.0,
    ]


def daily_profiles(
    rows: Sequence[FeatureRow],
    tz: TzLike,
    until: float,
    episodes: Sequence[Episode] = (),
    gaps: Sequence[Span] = (),
) -> DailyProfiles:
    """The vector of every complete day in `rows` that ended by `until` (home rows are used).

    `gaps` are the spans in which RoomDB was not recording.
    """
    zone = resolve_tz(tz)
    n_bins = 24 // BIN_HOURS
    home_rows = [row for row in rows if row.room_id == HOME_ROOM_ID]
    unrecorded = _unrecorded_shares(home_rows, gaps)
    sensed = np.array([signal in SENSED_SIGNALS for signal in SIGNALS])
    sums: dict[date, npt.NDArray[np.float64]] = {}
    observed: dict[date, npt.NDArray[np.float64]] = {}
    windows: dict[date, npt.NDArray[np.float64]] = {}
    away_at: dict[frozenset[int], dict[date, list[float]]] = {
        hours: {} for hours in (NIGHT_HOURS, EARLY_HOURS, MORNING_HOURS, EVENING_HOURS)
    }
    width = 0.0
    for row, unrecorded_share in zip(home_rows, unrecorded, strict=True):
        width = row.window_end - row.window_start
        local = datetime.fromtimestamp(row.window_start, zone)
        day = (local - timedelta(hours=DAY_START_HOUR)).date()
        b = ((local.hour - DAY_START_HOUR) % 24) // BIN_HOURS
        if day not in sums:
            sums[day] = np.zeros((len(SIGNALS), n_bins))
            observed[day] = np.zeros((len(SIGNALS), n_bins))
            windows[day] = np.zeros(n_bins)
        windows[day][b] += 1
        values = row.as_dict()
        if unrecorded_share > UNOBSERVED_SHARE:
            continue
        blind = values["unavailable_fraction"] > UNOBSERVED_SHARE
        read = ~sensed if blind else np.ones(len(SIGNALS), dtype=bool)
        observed[day][read, b] += 1
        for hours, shares in away_at.items():
            if local.hour in hours:
                shares.setdefault(day, []).append(values["away_fraction"])
        for i, name in enumerate(SIGNALS.values()):
            if not read[i]:
                continue
            value = values[name]
            if name == "activity_events":
                value = min(value, ACTIVITY_LEVELS) / ACTIVITY_LEVELS
            sums[day][i, b] += value
    by_night = {episode.night_date: episode for episode in episodes}
    kept: list[date] = []
    vectors: list[FloatArray] = []
    for day in sorted(sums):
        end = day_end(day, zone)
        if end > until or width == 0:
            continue
        length = end - datetime.combine(day, time(DAY_START_HOUR), zone).timestamp()
        if windows[day].sum() < COVERAGE * length / width:
            continue
        if _overnight_away(day, away_at, 3600 / width):
            continue
        seen = observed[day]
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums[day] / seen
        means[seen < BIN_COVERAGE * length / width / n_bins] = np.nan
        kept.append(day)
        vectors.append(np.concatenate([means.reshape(-1), _sleep_times(day, by_night, zone)]))
    matrix = np.array(vectors, dtype=np.float64).reshape(len(kept), len(dimension_names()))
    return DailyProfiles(tuple(kept), matrix)


def _unrecorded_shares(rows: Sequence[FeatureRow], gaps: Sequence[Span]) -> list[float]:
    """Per row, the share of its window RoomDB was not recording (rows of one window width)."""
    if not rows or not gaps:
        return [0.0] * len(rows)
    first = min(row.window_start for row in rows)
    width = rows[0].window_end - rows[0].window_start
    count = round((max(row.window_start for row in rows) - first) / width) + 1
    covered = union_per_window(gaps, first, int(width), count)
    return [covered[round((row.window_start - first) / width)] / width for row in rows]


def _overnight_away(
    day: date, away_at: Mapping[frozenset[int], Mapping[date, list[float]]], hour_windows: float
) -> bool:
    """Whether the day ends or begins a stay away: a trip, not a sign of a new routine at home.

    A night (22:00 to 04:00) mostly away is a stay away unless the occupants were home around it:
    for the night the day ends with, most of its afternoon (`EVENING_HOURS`); for the night
    before it, most of its late morning (`MORNING_HOURS`). A night shift is spent away too, but
    after an afternoon at home and before a morning asleep there; leaving those days out as trips
    hid a move to night shifts in a home with presence until its nights off. The night before is
    the previous day's night; the day's own early morning stands in for it when less than
    `BIN_COVERAGE` of that night was observed (one window of an evening out must not decide the
    night). Read from the early morning alone, an early commute (out at half past five, the hour
    before unobserved after a restart) made the first day of a new routine "a night away".
    """
    nights = away_at[NIGHT_HOURS]
    before = nights.get(day - timedelta(days=1), [])
    if len(before) < BIN_COVERAGE * hour_windows * len(NIGHT_HOURS):
        before = away_at[EARLY_HOURS].get(day, [])

    def home(hours: frozenset[int]) -> bool:
        shares = away_at[hours].get(day, [])
        return len(shares) >= BIN_COVERAGE * hour_windows * len(hours) and not _mostly(shares)

    return (_mostly(before) and not home(MORNING_HOURS)) or (
        _mostly(nights.get(day, [])) and not home(EVENING_HOURS)
    )


def _mostly(away_shares: Sequence[float]) -> bool:
    """Whether someone was away for most of the observed windows (none observed: no)."""
    return bool(away_shares) and sum(away_shares) / len(away_shares) >= AWAY_NIGHT


def utc_offset(day: date, tz: TzLike) -> float:
    """The day's clock: its UTC offset in seconds (DST switches happen before 04:00)."""
    start = datetime.combine(day, time(DAY_START_HOUR), resolve_tz(tz))
    offset = start.utcoffset()
    return offset.total_seconds() if offset is not None else 0.0


def _reference(
    values: FloatArray, weekdays: npt.NDArray[np.int64], weekday: int, same_weekday: int
) -> FloatArray:
    """Median of the days of `weekday` (of all days when fewer than `same_weekday` share it)."""
    same = values[weekdays == weekday]
    out: FloatArray = np.nanmedian(same if len(same) >= same_weekday else values, axis=0)
    return out


def _differences(
    vector: FloatArray,
    weekday: int,
    values: FloatArray,
    weekdays: npt.NDArray[np.int64],
    same_weekday: int,
) -> tuple[FloatArray, FloatArray]:
    """The day's difference from its reference, and the spread such differences have.

    The spread is that of each routine day's difference from the reference the other days give
    it (left out, as a new day is): measured against a reference that includes the day itself,
    two days of a weekday differ from their median by half their difference and the spread came
    out about half the real one, so ordinary days sat three "spreads" out in several dimensions.
    """
    expected = _reference(values, weekdays, weekday, same_weekday)
    left_out = max(1, same_weekday - 1)
    residuals = np.array(
        [
            values[i]
            - _reference(np.delete(values, i, 0), np.delete(weekdays, i), int(d), left_out)
            for i, d in enumerate(weekdays)
        ]
    )
    spread: FloatArray = 1.4826 * np.nanmedian(np.abs(residuals), axis=0)
    return vector - expected, spread


def standardise(
    vector: FloatArray,
    day: date,
    history: Sequence[tuple[date, FloatArray]],
    tz: TzLike | None = None,
    same_weekday: int = 2,
) -> FloatArray:
    """The day's clipped differences from the routine in `history`, in robust spreads.

    The reference is the median of the history's days of the same weekday (of all its days when
    fewer than `same_weekday` share it); the spread is that of the history's own days from the
    reference the others give them (`_differences`), floored at `MIN_SPREAD`
    (`TIMING_MIN_SPREAD` for the sleep times). With `tz`, the lights are compared only with days
    on the same clock: a DST switch moves dusk and dawn by an hour on the clock and the lights
    with them, which is no new routine; with fewer than `SAME_CLOCK_DAYS` such days they are
    missing.
    """
    weekdays = np.array([d.weekday() for d, _ in history], dtype=np.int64)
    values = np.array([v for _, v in history])
    names = dimension_names()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN on purpose
        difference, spread = _differences(vector, day.weekday(), values, weekdays, same_weekday)
        if tz is not None:
            clock = utc_offset(day, tz)
            same = np.array([utc_offset(d, tz) == clock for d, _ in history], dtype=bool)
            if not same.all():
                lights = np.array([n.startswith("light ") for n in names])
                if same.sum() >= SAME_CLOCK_DAYS:
                    d, s = _differences(
                        vector, day.weekday(), values[same], weekdays[same], same_weekday
                    )
                    difference[lights], spread[lights] = d[lights], s[lights]
                else:
                    difference[lights] = np.nan
    floor = np.array([TIMING_MIN_SPREAD if n in TIMING_DIMENSIONS else MIN_SPREAD for n in names])
    spread = np.maximum(np.maximum(np.nan_to_num(spread), _binary_spread(values, names)), floor)
    out: FloatArray = np.clip(difference / spread, -CLIP, CLIP)
    return out


def _binary_spread(values: FloatArray, names: Sequence[str]) -> FloatArray:
    """Per dimension of a `BINARY_SIGNALS` signal, the Bernoulli spread its routine's rate implies.

    Weighted as a prior of `BINARY_PRIOR_DAYS` days against the comparable days: with a phone
    off the charger on three of fourteen nights, one more off night is 3.3 spreads odd (4.1 with
    six of 28), not the clip's six, while one that was never off still makes it six. The rate is
    smoothed by half a day each way, so a signal that never varied is not exactly 0 or 1.
    """
    binary = np.array([n.split(" ")[0] in BINARY_SIGNALS for n in names])
    seen = np.sum(~np.isnan(values), axis=0).astype(np.float64)
    rate = (np.nansum(values, axis=0) + 0.5) / (seen + 1.0)
    pairs = np.maximum(seen - 1.0, 0.0)
    variance = BINARY_PRIOR_DAYS * rate * (1.0 - rate) / (pairs + BINARY_PRIOR_DAYS)
    out: FloatArray = np.sqrt(np.where(binary, variance, 0.0))
    return out


@dataclass(frozen=True, slots=True)
class Alarm:
    """A routine change found: the night it began, when it was found, and what moved most."""

    night: date
    found: date
    probability: float
    signals: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-able (the `new_changepoints` entries of `roomdb_ml_result`)."""
        return {
            "stream": "routine",
            "night": self.night.isoformat(),
            "found": self.found.isoformat(),
            "probability": round(self.probability, 4),
            "signals": list(self.signals),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alarm:
        """Inverse of `as_dict` (the probability as rounded there)."""
        return cls(
            night=date.fromisoformat(str(data["night"])),
            found=date.fromisoformat(str(data["found"])),
            probability=float(data["probability"]),
            signals=tuple(str(s) for s in data["signals"]),
        )


class OutdatedStateError(ValueError):
    """A state an earlier version of the detector stored (it starts over)."""


def new_model(config: BocpdConfig) -> Bocpd:
    """A detector over the standardised dimensions, with a single run at its prior."""
    names = dimension_names()
    # "As the routine says": mean 0 and spread 1 known (the standardisation), heavy tails.
    routine = NormalGammaPrior(mu0=0.0, kappa0=1e6, alpha0=NULL_DOF_ALPHA, beta0=NULL_DOF_ALPHA)
    pooled = replace(
        config,
        pooled=True,
        shift_share=SHIFT_SHARE,
        moved_kappa=MOVED_KAPPA,
        moved_alpha=MOVED_ALPHA,
        moved_scale=MOVED_SCALE,
        scattered_share=SCATTERED_SHARE,
        scattered_scale=SCATTERED_SCALE,
    )
    return Bocpd(len(names), pooled, routine)


def learned_model(
    routine: Sequence[tuple[date, FloatArray]],
    config: BocpdConfig,
    false_alarms_per_year: float,
    tz: TzLike | None = None,
) -> tuple[Bocpd, float]:
    """A detector that has seen the routine's own days, and the alarm odds calibrated on them.

    The routine's days, each standardised against the others, are fed silently (a detector fed
    nothing would believe a routine began the day it starts). Each is compared with its own
    weekday as a new day is: a routine of `REFERENCE_DAYS` has two of each weekday, so the day
    left out has one of its weekday among the others, and that one is its reference (with the
    all-days median instead, every Saturday of a home with different weekends looked like a new
    routine, and the threshold sat at its cap). Then `CALIBRATION_DAYS` days, drawn
    from them in shuffled rounds of every day once, are run through a copy: the odds that a day
    of the routine itself reaches set the threshold, at `false_alarms_per_year / 365` of those
    days (never below the model-based `alarm_odds`). Real homes are less regular than any model
    of them; their own days show by how much.
    """
    model = new_model(config)
    scores = left_out_scores(routine, tz)
    for day_scores in scores:
        model.update(day_scores)
    rng = np.random.default_rng(routine[0][0].toordinal())
    replay = Bocpd.from_dict(model.to_dict())
    odds = []
    order: list[int] = []
    while len(order) < CALIBRATION_DAYS:
        # Shuffled rounds of every day once: a day drawn twice in a row would look like a
        # lasting change, which the routine's own days never are.
        block = rng.permutation(len(scores)).tolist()
        if order and block[0] == order[-1]:
            block.reverse()
        order += block
    for watched, pick in enumerate(order[:CALIBRATION_DAYS], start=1):
        replay.update(scores[pick])
        odds.append(recent_odds(replay, watched))
    share = min(1.0, false_alarms_per_year / 365.0)
    calibrated = float(np.quantile(odds, 1.0 - share))
    floor = alarm_odds(config.hazard, false_alarms_per_year)
    return model, min(max(calibrated, floor), max(floor, 1.0 / config.hazard))


def left_out_scores(
    routine: Sequence[tuple[date, FloatArray]], tz: TzLike | None
) -> list[FloatArray]:
    """Each routine day's scores against the others, with its weekday's one remaining day."""
    return [
        standardise(vector, day, [*routine[:i], *routine[i + 1 :]], tz, SAME_WEEKDAY_LEFT_OUT)
        for i, (day, vector) in enumerate(routine)
    ]


def moved_fit_floor(
    routine: Sequence[tuple[date, FloatArray]], signals: Sequence[str], tz: TzLike
) -> float:
    """The `routine_fit` of `signals` that all but `FIT_SHARE` of the routine's own days reach."""
    dims = _indices(signals)
    fits = [routine_fit(scores[dims]) for scores in left_out_scores(routine, tz)]
    seen = [fit for fit in fits if not math.isnan(fit)]
    return float(np.quantile(seen, FIT_SHARE)) if seen else -math.inf


def _indices(signals: Sequence[str]) -> list[int]:
    names = dimension_names()
    return [names.index(signal) for signal in signals]


def echo(scores: FloatArray, moved: Sequence[tuple[str, float]]) -> float:
    """How far a day moved an alarm's signals the way the alarm did (NaN: none observed).

    Over the signals of `moved` (the alarm's signals and scores) the day observed: the sum of
    its scores along the sign of each, as a share of the alarm's sum of their sizes. 1 for a day
    moved as the alarm was, 0 for a day as the routine says, below 0 for one moved the other way.
    """
    seen = [
        (scores[i], score)
        for i, (_, score) in zip(_indices(_names(moved)), moved, strict=True)
        if not math.isnan(scores[i])
    ]
    size = sum(abs(score) for _, score in seen)
    if size == 0.0:
        return math.nan
    return float(sum(value * math.copysign(1.0, score) for value, score in seen)) / size


def _days_to_json(days: Sequence[tuple[date, FloatArray]]) -> list[list[Any]]:
    return [
        [day.isoformat(), [None if math.isnan(v) else v for v in vector.tolist()]]
        for day, vector in days
    ]


def _days_from_json(data: Sequence[Sequence[Any]]) -> list[tuple[date, FloatArray]]:
    return [
        (date.fromisoformat(str(day)), np.array(vector, dtype=np.float64)) for day, vector in data
    ]


@dataclass(slots=True)
class PreviousRoutine:
    """The routine before the latest alarm, watched while the new one is learned and its first days.

    A few odd days that pass (a weekend away in a home without presence, an evening out on two
    nights in a row) can raise an alarm. The new routine is then learned from days that are
    mostly the old one, and a real change within the next `REFERENCE_DAYS` became part of it:
    it was never found. So the old routine's detector goes on, each day compared with the old
    routine's days. When it raises an alarm about a run that began after its latest alarm was
    raised, and in the days between the signals that alarm named had mostly returned to the
    old routine (the median of their `routine_fit` at least `fit_floor`, what the same signals
    of all but a tenth of the routine's own days reach), that alarm was a passing oddity and the
    run is a change of its own: it is raised, and the new routine is learned from its night.
    Without that condition, a real change's later days, still far from the old routine, raised
    second alarms about the change itself; measured over all signals instead of the moved ones,
    a change that moves a few (working from home moves the daytime activity) hid in the mean.
    Unless the run began a `WEEK` after the alarm's night at most and its days moved the alarm's
    signals the way the alarm did (the median of their `echo` at least `ECHO_SHARE`): then the
    alarmed routine is back, not a new one. A new routine with days off (night shifts, and three
    nights at home) is the old routine on those days, in the very signals its alarm named; when
    the shifts came back, that raised a second alarm. A run begun later is no return from days
    off: a change more than a week after a passing oddity may move the same signals the same way
    (a weekend at home, then working from home).
    Its alarms name their night as the main detector's do (`raised_night`). It is watched until
    the new routine's detector has watched `RECENT_DAYS` days: a change that
    begins on the last days the new routine is learned from is in that routine, so only the old
    one's watch can still raise it (it had reached odds of 3.0 against a threshold of 3.3 when
    the watch used to stop).
    """

    reference: list[tuple[date, FloatArray]]  # the old routine's days, raw
    model: Bocpd
    days: list[date]  # days its model was fed
    threshold: float
    alarm: Alarm  # the latest alarm about the old routine
    moved: tuple[tuple[str, float], ...]  # the alarm's signals and their scores
    fit_floor: float  # `moved_fit_floor` of the alarm's signals
    fits: list[tuple[date, float]] = field(default_factory=list)  # days since it was raised
    echoes: list[tuple[date, float]] = field(default_factory=list)  # `echo` of each of them

    def follow(self, alarm: Alarm, moved: tuple[tuple[str, float], ...], tz: TzLike) -> None:
        """Watch for the next change after `alarm` (the latest, whoever raised it)."""
        self.alarm = alarm
        self.moved = moved
        self.fit_floor = moved_fit_floor(self.reference, alarm.signals, tz)
        self.fits = []
        self.echoes = []

    def watch(self, day: date, vector: FloatArray, tz: TzLike) -> tuple[date, FloatArray] | None:
        """Feed a day; the night a new change began and the day's scores, when one is found."""
        scores = standardise(vector, day, self.reference, tz)
        self.model.update(scores)
        self.days.append(day)
        fit = routine_fit(scores[_indices(self.alarm.signals)])
        if not math.isnan(fit):
            self.fits.append((day, fit))
        moved_again = echo(scores, self.moved)
        if not math.isnan(moved_again):
            self.echoes.append((day, moved_again))
        night = raised_night(self.model, self.days, self.threshold)
        if night is None or night <= self.alarm.found:
            return None
        between = [fit for seen, fit in self.fits if seen < night]
        if not between or float(np.median(between)) < self.fit_floor:
            return None
        since = [value for seen, value in self.echoes if seen >= night]
        if night <= self.alarm.night + WEEK and since and float(np.median(since)) >= ECHO_SHARE:
            return None
        return night, scores

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (see `TrackerState.to_json`)."""
        return {
            "reference": _days_to_json(self.reference),
            "model": self.model.to_dict(),
            "days": [day.isoformat() for day in self.days],
            "threshold": self.threshold,
            "alarm": self.alarm.as_dict(),
            "moved": [list(item) for item in self.moved],
            "fit_floor": self.fit_floor if math.isfinite(self.fit_floor) else None,
            "fits": [[day.isoformat(), fit] for day, fit in self.fits],
            "echoes": [[day.isoformat(), value] for day, value in self.echoes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreviousRoutine:
        """Inverse of `to_dict`."""
        return cls(
            reference=_days_from_json(data["reference"]),
            model=Bocpd.from_dict(data["model"]),
            days=[date.fromisoformat(str(day)) for day in data["days"]],
            threshold=float(data["threshold"]),
            alarm=Alarm.from_dict(data["alarm"]),
            moved=tuple((str(name), float(score)) for name, score in data["moved"]),
            fit_floor=float(data["fit_floor"]) if data["fit_floor"] is not None else -math.inf,
            fits=[(date.fromisoformat(str(day)), float(fit)) for day, fit in data["fits"]],
            echoes=[(date.fromisoformat(str(day)), float(value)) for day, value in data["echoes"]],
        )


@dataclass(slots=True)
class TrackerState:
    """Everything needed to continue after a restart."""

    names: tuple[str, ...]
    routine_start: date  # the first day seen, or the night the latest change began
    history: list[tuple[date, FloatArray]]  # the routine's recent days, raw
    model: Bocpd | None  # None while the detector learns a routine
    days: list[date] = field(default_factory=list)  # days the current model was fed
    threshold: float = math.inf  # posterior odds of a recent change that raise an alarm
    alarms: list[Alarm] = field(default_factory=list)
    signals: tuple[tuple[str, float], ...] = ()  # the newest day's most moved dimensions
    previous: PreviousRoutine | None = None  # watched until the new routine's first days

    @property
    def last_day(self) -> date:
        """The newest day seen."""
        return self.history[-1][0]

    @property
    def changepoint_probability(self) -> float:
        """P(the current routine began on a recent watched day: `recent_runs`)."""
        if self.model is None:
            return 0.0
        return recent_probability(self.model, len(self.days))

    @property
    def run_length(self) -> int:
        """Most probable number of days the current routine has lasted."""
        if self.model is None or not self.days:
            return (self.last_day - self.routine_start).days + 1
        run = int(np.argmax(self.model.log_r[0]))
        if 0 < run <= len(self.days):
            return (self.last_day - self.days[-run]).days + 1
        return (self.last_day - self.routine_start).days + 1

    @property
    def changed(self) -> date | None:
        """The night the latest routine change began, if one was found."""
        return self.alarms[-1].night if self.alarms else None

    def to_json(self) -> str:
        """Serialise (arrays as base64, see `Bocpd.to_dict`)."""
        return json.dumps(
            {
                "version": STATE_VERSION,
                "names": list(self.names),
                "routine_start": self.routine_start.isoformat(),
                "history": _days_to_json(self.history),
                "model": self.model.to_dict() if self.model is not None else None,
                "days": [day.isoformat() for day in self.days],
                "threshold": self.threshold if math.isfinite(self.threshold) else None,
                "alarms": [alarm.as_dict() for alarm in self.alarms],
                "signals": [list(item) for item in self.signals],
                "previous": self.previous.to_dict() if self.previous is not None else None,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> TrackerState:
        """Inverse of `to_json`; raises ValueError (or KeyError/TypeError) on a bad state."""
        data: dict[str, Any] = json.loads(text)
        version = data.get("version")
        if isinstance(version, int) and version < STATE_VERSION:
            raise OutdatedStateError(f"tracker state version {version}")
        if version != STATE_VERSION:
            raise ValueError(f"unsupported tracker state version {version!r}")
        names = tuple(str(name) for name in data["names"])
        model = Bocpd.from_dict(data["model"]) if data["model"] is not None else None
        history = _days_from_json(data["history"])
        previous = (
            PreviousRoutine.from_dict(data["previous"]) if data["previous"] is not None else None
        )
        if (
            not history
            or any(vector.shape != (len(names),) for _, vector in history)
            or any(
                m.n_streams != len(names) or not m.config.pooled
                for m in (model, previous.model if previous is not None else None)
                if m is not None
            )
            or (
                previous is not None
                and not {*previous.alarm.signals, *_names(previous.moved)} <= set(names)
            )
        ):
            raise ValueError("tracker state does not match its model")
        alarms = [Alarm.from_dict(a) for a in data["alarms"]]
        return cls(
            names=names,
            routine_start=date.fromisoformat(str(data["routine_start"])),
            history=history,
            model=model,
            days=[date.fromisoformat(str(day)) for day in data["days"]],
            threshold=float(data["threshold"]) if data["threshold"] is not None else math.inf,
            alarms=alarms,
            signals=tuple((str(name), float(score)) for name, score in data["signals"]),
            previous=previous,
        )


@dataclass(frozen=True, slots=True)
class TrackerUpdate:
    """Outcome of one `advance`: the new state (None when not ready) and what happened."""

    status: str  # "ok", "skipped", "not_ready" or "restart"
    detail: str
    state: TrackerState | None
    steps: int = 0
    new_changepoints: tuple[Alarm, ...] = ()


def resume_from(state: TrackerState, tz: TzLike) -> float:
    """UTC epoch of the first window of the day after the last one seen."""
    return day_end(state.last_day, tz)


def _signals(names: Sequence[str], scores: FloatArray) -> tuple[tuple[str, float], ...]:
    """The dimensions that moved most, in spreads."""
    clean = np.nan_to_num(scores)
    order = np.argsort(-np.abs(clean), kind="stable")[:TOP_SIGNALS]
    return tuple((names[i], float(clean[i])) for i in order if clean[i] != 0)


def _names(signals: Sequence[tuple[str, float]]) -> tuple[str, ...]:
    return tuple(name for name, _ in signals)


def _feed(
    state: TrackerState,
    days: Sequence[date],
    values: FloatArray,
    config: BocpdConfig,
    false_alarms_per_year: float,
    *,
    tz: TzLike,
) -> tuple[Alarm, ...]:
    found: list[Alarm] = []
    for day, vector in zip(days, values, strict=True):
        routine = [(d, v) for d, v in state.history if d >= state.routine_start][-HISTORY_DAYS:]
        state.history = [*state.history[-HISTORY_DAYS:], (day, vector)]
        learning = len(routine) < REFERENCE_DAYS
        if state.previous is not None:
            if learning or state.model is None or len(state.days) < RECENT_DAYS:
                raised = _watch_previous(state, state.previous, day, vector, tz)
                found += raised
                if raised:
                    continue
            else:
                state.previous = None
        if learning:
            continue
        if state.model is None:
            state.model, state.threshold = learned_model(
                routine, config, false_alarms_per_year, tz=tz
            )
            state.days = []
        scores = standardise(vector, day, routine, tz)
        state.model.update(scores)
        state.days.append(day)
        state.signals = _signals(state.names, scores)
        night = raised_night(state.model, state.days, state.threshold)
        if night is None:
            continue
        alarm = Alarm(night, day, state.changepoint_probability, _names(state.signals))
        before = [(d, v) for d, v in routine if d < night]
        state.previous = PreviousRoutine(
            before,
            state.model,
            list(state.days),
            state.threshold,
            alarm,
            state.signals,
            moved_fit_floor(before, alarm.signals, tz),
        )
        _start_over(state, alarm)
        found.append(alarm)
    return tuple(found)


def _watch_previous(
    state: TrackerState, previous: PreviousRoutine, day: date, vector: FloatArray, tz: TzLike
) -> tuple[Alarm, ...]:
    """Feed a day to the routine before the latest alarm; the alarm it raises, if any."""
    change = previous.watch(day, vector, tz)
    if change is None:
        return ()
    night, scores = change
    probability = recent_probability(previous.model, len(previous.days))
    moved = _signals(state.names, scores)
    alarm = Alarm(night, day, probability, _names(moved))
    previous.follow(alarm, moved, tz)
    _start_over(state, alarm)
    return (alarm,)


def _start_over(state: TrackerState, alarm: Alarm) -> None:
    """Record the alarm; the new routine begins at its night and is learned before it is watched."""
    state.alarms.append(alarm)
    state.routine_start = alarm.night
    state.model = None


def advance(
    state: TrackerState | None,
    records: Sequence[FeatureRecord],
    episodes: Sequence[Episode],
    *,
    tz: TzLike,
    until: float,
    config: BocpdConfig,
    false_alarms_per_year: float = DEFAULT_FALSE_ALARMS_PER_YEAR,
    gaps: Sequence[Span] = (),
) -> TrackerUpdate:
    """Feed the complete days `state` has not seen, or start a tracker from every day when None.

    With a state, `records` start at its `resume_from`. `gaps`: spans RoomDB was not recording.
    """
    profiles = daily_profiles(feature_rows_from_long(records), tz, until, episodes, gaps)
    if state is None:
        if len(profiles.days) <= REFERENCE_DAYS:
            return TrackerUpdate(
                "not_ready",
                f"{len(profiles.days)} complete days, the detector learns {REFERENCE_DAYS} first",
                None,
            )
        state = TrackerState(dimension_names(), profiles.days[0], [], None)
        found = _feed(state, profiles.days, profiles.values, config, false_alarms_per_year, tz=tz)
        return TrackerUpdate(
            "ok", f"started with {len(profiles.days)} days", state, len(profiles.days), found
        )
    for model in (state.model, state.previous.model if state.previous is not None else None):
        if model is not None and model.config.hazard != config.hazard:
            model.config = replace(model.config, hazard=config.hazard)
    fresh = [i for i, day in enumerate(profiles.days) if day > state.last_day]
    if not fresh:
        return TrackerUpdate("skipped", "no new complete day", state)
    if state.names != dimension_names():
        return TrackerUpdate("restart", "the profile's dimensions changed", None)
    days = [profiles.days[i] for i in fresh]
    found = _feed(state, days, profiles.values[fresh], config, false_alarms_per_year, tz=tz)
    return TrackerUpdate("ok", f"{len(fresh)} new days", state, len(fresh), found)
