"""The routine-change tracker: one pooled detector over daily profiles, on simulated homes."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
import json
import math

import numpy as np
import pytest

from custom_components.roomdb.ml.bocpd import Bocpd, BocpdConfig
from custom_components.roomdb.ml.changepoints import (
    CLIP,
    STATE_VERSION,
    OutdatedStateError,
    TrackerState,
    TrackerUpdate,
    advance,
    day_end,
    dimension_names,
    echo,
    learned_model,
    left_out_scores,
    moved_fit_floor,
    new_model,
    raised_night,
    routine_fit,
    standardise,
)
from custom_components.roomdb.ml.episodes import Episode
from custom_components.roomdb.ml.features import HOME_ROOM_ID, compute_features
from custom_components.roomdb.ml.store import FeatureRecord

from .household import DAYS, Household, generate_household

CONFIG = BocpdConfig(hazard=1 / 250, max_run_length=120)
NO_CHANGE = DAYS + 10


@cache
def home_and_records(seed: int, change_day: int) -> tuple[Household, tuple[FeatureRecord, ...]]:
    """A simulated home and its home-wide feature values (what the tracker reads)."""
    home = generate_household(seed, change_day=change_day)
    rows = compute_features(home.events, home.start_utc, home.end_utc, tz=home.tz, rooms=home.rooms)
    records = tuple(
        (r.room_id, r.window_start, r.window_end, name, value, r.feature_set_version)
        for r in rows
        if r.room_id == HOME_ROOM_ID
        for name, value in r.as_dict().items()
    )
    return home, records


def episodes(home: Household) -> list[Episode]:
    return [Episode(label.night_date, label.start_utc, label.end_utc) for label in home.labels()]


@cache
def whole_run(seed: int, change_day: int, false_alarms_per_year: float = 2.0) -> TrackerUpdate:
    """One run over every day of a home (shared: callers read it, never feed it further)."""
    home, records = home_and_records(seed, change_day)
    return advance(
        None,
        records,
        episodes(home),
        tz=home.tz,
        until=home.end_utc,
        config=CONFIG,
        false_alarms_per_year=false_alarms_per_year,
    )


@pytest.mark.parametrize("seed", [7, 21])
def test_the_change_is_found_once_within_two_days_and_names_its_first_night(seed: int) -> None:
    home, _ = home_and_records(seed, 21)
    update = whole_run(seed, 21)
    assert update.status == "ok"
    (alarm,) = update.new_changepoints
    assert alarm.night == home.change_date
    # Found on the detector's day that ends at 04:00 two mornings after the first new night.
    assert day_end(alarm.found, home.tz) - day_end(home.change_date, home.tz) <= 48 * 3600
    assert update.state is not None
    assert update.state.changed == home.change_date


@pytest.mark.parametrize("seed", [11, 12])
def test_six_weeks_without_a_change_raise_at_most_one_alarm(seed: int) -> None:
    update = whole_run(seed, NO_CHANGE)
    assert update.status == "ok"
    assert update.state is not None
    assert len(update.state.days) >= 25  # the detector watched most of the six weeks
    assert len(update.new_changepoints) <= 1


def test_a_stricter_operating_point_raises_fewer_alarms() -> None:
    found = [len(whole_run(7, 21, rate).new_changepoints) for rate in (1e6, 2.0, 1e-12)]
    assert found[0] >= found[1] >= found[2]
    assert found[1] == 1


def test_resuming_day_by_day_equals_one_run_and_survives_json() -> None:
    home, records = home_and_records(7, 21)
    eps = episodes(home)
    middle = day_end(home.change_date - timedelta(days=3), home.tz)
    first = advance(None, records, eps, tz=home.tz, until=middle, config=CONFIG)
    assert first.state is not None
    state = TrackerState.from_json(first.state.to_json())
    found = list(first.new_changepoints)
    until = middle
    while until < home.end_utc:
        until += 86400.0
        update = advance(state, records, eps, tz=home.tz, until=until, config=CONFIG)
        assert update.status in {"ok", "skipped"}
        assert update.state is state
        found += update.new_changepoints
        state = TrackerState.from_json(state.to_json())
    whole = whole_run(7, 21)
    assert whole.state is not None
    assert [a.as_dict() for a in found] == [a.as_dict() for a in whole.new_changepoints]
    assert state.days == whole.state.days
    assert state.run_length == whole.state.run_length
    assert state.model is not None and whole.state.model is not None
    assert np.array_equal(state.model.log_r, whole.state.model.log_r)


def test_stored_states_of_other_versions_or_shapes_are_refused() -> None:
    home, records = home_and_records(7, 21)
    state = whole_run(7, 21).state
    assert state is not None
    with pytest.raises(OutdatedStateError):
        TrackerState.from_json(json.dumps({"version": 1}))
    # A state of the previous release (days scored the earlier way) starts over too.
    older = json.loads(state.to_json())
    older["version"] = STATE_VERSION - 1
    with pytest.raises(OutdatedStateError):
        TrackerState.from_json(json.dumps(older))
    with pytest.raises(ValueError, match="unsupported"):
        TrackerState.from_json(json.dumps({"version": 99}))
    broken = json.loads(state.to_json())
    broken["names"] = broken["names"][:3]
    with pytest.raises(ValueError, match="does not match"):
        TrackerState.from_json(json.dumps(broken))
    # A detector over other dimensions (an older profile) starts over rather than mixing them.
    middle = advance(
        None,
        records,
        episodes(home),
        tz=home.tz,
        until=day_end(home.change_date, home.tz),
        config=CONFIG,
    )
    assert middle.state is not None
    middle.state.names = middle.state.names[:-1]
    more = advance(middle.state, records, [], tz=home.tz, until=home.end_utc, config=CONFIG)
    assert more.status == "restart"
    assert more.state is None


def test_pooled_detector_adds_the_dimensions_evidence_and_skips_missing_ones() -> None:
    n = len(dimension_names())
    rng = np.random.default_rng(3)
    model = new_model(CONFIG)
    for _ in range(30):
        model.update(np.clip(rng.normal(size=n), -CLIP, CLIP))
    assert model.log_r.shape == (1, CONFIG.max_run_length)
    before = model.to_dict()
    # A few dimensions move by three spreads: one odd day is not enough, three days in a row
    # put the new run's start beyond doubt.
    recent = []
    for _ in range(3):
        day = rng.normal(size=n)
        day[:4] += 3.0
        model.update(np.clip(day, -CLIP, CLIP))
        recent.append(float(np.exp(model.log_r[0, 1 : len(recent) + 2]).sum()))
    assert recent[0] < 0.05
    assert recent[2] > 0.9
    # A dimension not observed (NaN) keeps its statistics and adds no evidence.
    again = Bocpd.from_dict(before)
    again.update(np.array([np.nan, *np.zeros(n - 1)]))
    unchanged = Bocpd.from_dict(before)
    assert np.array_equal(again.moved_mu[0, 1:], unchanged.moved_mu[0, :-1])
    assert not np.array_equal(again.moved_mu[1, 1:], unchanged.moved_mu[1, :-1])


def _named_after_a_change(seed: int, day_before: float) -> tuple[date | None, list[date]]:
    """Thirty routine days, then ten signals moved `day_before` spreads and six the day after."""
    n = len(dimension_names())
    rng = np.random.default_rng(seed)
    model = new_model(CONFIG)
    for _ in range(30):
        model.update(np.clip(rng.standard_t(5, size=n), -CLIP, CLIP))
    for shift in (day_before, 6.0):
        day = rng.standard_t(5, size=n)
        day[:10] += shift
        model.update(np.clip(day, -CLIP, CLIP))
    days = [date(2026, 3, 1) + timedelta(days=i) for i in range(10)]
    return raised_night(model, days, 2.0), days


def test_the_alarm_names_the_newest_day_when_the_change_is_clear_from_it() -> None:
    """The day before the big move moved the same signals a little (1.5 spreads): enough for a
    run begun on it to raise the alarm, yet the new routine began on the newest day. Moved 3.5
    spreads already, the day before is the first of the new routine."""
    slightly = [_named_after_a_change(seed, 1.5) for seed in range(10)]
    assert sum(named == days[-1] for named, days in slightly) >= 6
    clearly = [_named_after_a_change(seed, 3.5) for seed in range(10)]
    assert all(named == days[-2] for named, days in clearly)


def _routine(weekend: float) -> list[tuple[date, np.ndarray]]:
    """Fourteen ordinary days; Saturdays and Sundays differ by `weekend` in twelve shares."""
    rng = np.random.default_rng(5)
    days = []
    for i in range(14):
        day = date(2026, 3, 2) + timedelta(days=i)
        vector = 0.5 + 0.05 * rng.standard_normal(len(dimension_names()))
        if day.weekday() >= 5:
            vector[:12] += weekend
        days.append((day, vector))
    return days


def test_a_weekly_pattern_does_not_raise_the_alarm_threshold() -> None:
    # The threshold is calibrated on the routine's own days, each compared with the others as
    # the detector compares a new day with the routine: with its own weekday. Compared with the
    # weekdays instead, every weekend day looked like a change and the threshold hit its cap.
    plain = learned_model(_routine(0.0), CONFIG, 2.0)[1]
    weekly = learned_model(_routine(0.4), CONFIG, 2.0)[1]
    assert weekly == pytest.approx(plain)
    assert weekly < 1 / CONFIG.hazard / 10


def test_a_days_fit_to_the_routine_falls_the_further_out_it_is() -> None:
    assert routine_fit(np.zeros(4)) == 0.0
    assert math.isnan(routine_fit(np.full(4, np.nan)))
    # Missing dimensions are no evidence either way: the mean is over the observed ones.
    one_out = routine_fit(np.array([2.0, np.nan, np.nan]))
    assert one_out == routine_fit(np.array([2.0]))
    assert 0.0 > routine_fit(np.array([1.0, -1.0])) > one_out > routine_fit(np.array([CLIP]))


def test_a_days_echo_of_an_alarm_is_how_far_it_moved_the_alarms_signals_its_way() -> None:
    names = dimension_names()
    moved = (("away 22-01", 6.0), ("away 01-04", 6.0), ("activity 10-13", -4.0))
    scores = np.zeros(len(names))
    assert echo(scores, moved) == 0.0
    for name, score in moved:
        scores[names.index(name)] = score
    assert echo(scores, moved) == pytest.approx(1.0)
    # Not observed: no evidence either way; the share is of what the day observed.
    scores[names.index("away 01-04")] = np.nan
    assert echo(scores, moved) == pytest.approx(1.0)
    scores[names.index("away 22-01")] = 3.0
    assert echo(scores, moved) == pytest.approx((3.0 + 4.0) / 10.0)
    assert echo(-np.nan_to_num(scores), moved) < 0.0  # moved the other way
    assert math.isnan(echo(np.full(len(names), np.nan), moved))
    assert math.isnan(echo(scores, ()))


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_a_change_in_a_few_signals_does_not_fit_the_routine_in_those_signals(seed: int) -> None:
    """Working from home in a home whose other signals are noisy (a pet): over every signal the
    new day fits the routine no worse than the routine's own worst day, so a mean over all of
    them took it for the old routine; over the signals that moved it is far out."""
    names = dimension_names()
    moved = ("activity 07-10", "activity 10-13", "activity 13-16")
    dims = [names.index(name) for name in moved]
    rng = np.random.default_rng(seed)

    def day_values() -> np.ndarray:
        values = 0.5 + 0.1 * rng.standard_t(3, len(names))
        values[dims] = 0.5 + 0.1 * rng.standard_normal(len(dims))
        return values

    start = date(2026, 9, 7)
    routine = [(start + timedelta(days=i), day_values()) for i in range(14)]
    new_day = day_values()
    new_day[dims] += 0.5
    scores = standardise(new_day, start + timedelta(days=14), routine, "Europe/Berlin")
    own = [routine_fit(day) for day in left_out_scores(routine, "Europe/Berlin")]
    assert routine_fit(scores) >= min(own)
    assert routine_fit(scores[dims]) < moved_fit_floor(routine, moved, "Europe/Berlin")
