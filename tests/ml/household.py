"""A seeded synthetic household: weeks of motion/light/media/door events with known bedtimes.

Shared fixture data for the ML tests and later end-to-end tests. One person lives in five rooms
(Europe/Berlin, so the DST night of 2026-03-28/29 is inside the default span). Until
`change_date` they go to bed around 23:00, wake around 06:45 and leave for work on weekdays;
from the night of `change_date` on they work from home, watch TV later, go to bed around 00:30
and wake around 08:15. Weekend nights (Fri, Sat) start about 30 minutes later.

Everything is drawn from `numpy.random.default_rng(seed)`, so a seed always gives the same
events, bedtimes and helper states. `piecewise_gaussian` is the synthetic changepoint series that
the BOCPD tests and `bench/bench_bocpd.py` share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
import itertools
from zoneinfo import ZoneInfo

import numpy as np

from custom_components.roomdb.ml.features import FeatureRow, RawEvent, compute_features
from custom_components.roomdb.ml.labels import SleepLabel, normalise_sleep_label

TZ = "Europe/Berlin"
ROOMS = ("bathroom", "bedroom", "hallway", "kitchen", "living_room")
START_DATE = date(2026, 3, 2)
DAYS = 42
CHANGE_DAY = 21  # index of the first night with the new routine (2026-03-23)

_MOTION_ROOMS = {
    "living_room": 0.45,
    "kitchen": 0.25,
    "hallway": 0.15,
    "bathroom": 0.1,
    "bedroom": 0.05,
}


@dataclass(frozen=True, slots=True)
class Night:
    """The truth for one night plus what the dashboard helpers showed for it."""

    night_date: date
    bedtime_utc: float
    wake_utc: float
    sleep_start_state: str
    sleep_end_state: str


@dataclass(frozen=True, slots=True)
class Household:
    """Generated events and the truth behind them."""

    seed: int
    tz: str
    rooms: tuple[str, ...]
    start_utc: float
    end_utc: float
    change_date: date
    events: tuple[RawEvent, ...]
    nights: tuple[Night, ...]

    def labels(self) -> list[SleepLabel]:
        """Labels from the helper states (unset helpers are skipped)."""
        found = []
        for night in self.nights:
            label = normalise_sleep_label(night.sleep_start_state, night.sleep_end_state, self.tz)
            if isinstance(label, SleepLabel):
                found.append(label)
        return found


class _Builder:
    """Collects intended state changes; `events()` drops no-ops and fills old states."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.intents: list[tuple[float, str, str]] = []
        self.meta: dict[str, tuple[str, str | None, str | None]] = {}

    def entity(self, entity_id: str, device_class: str | None, room: str | None) -> str:
        self.meta[entity_id] = (entity_id.split(".", 1)[0], device_class, room)
        return entity_id

    def at(self, local: datetime) -> float:
        return local.replace(tzinfo=self.zone).timestamp()

    def set(self, ts: float, entity_id: str, state: str) -> None:
        self.intents.append((round(ts, 3), entity_id, state))

    def span(self, entity_id: str, start: float, end: float, on: str = "on") -> None:
        if end > start:
            self.set(start, entity_id, on)
            self.set(end, entity_id, "off")

    def events(self) -> tuple[RawEvent, ...]:
        current: dict[str, str | None] = {}
        out: list[RawEvent] = []
        for ts, entity_id, state in sorted(self.intents):
            old = current.get(entity_id)
            if old == state:
                continue
            current[entity_id] = state
            domain, device_class, room = self.meta[entity_id]
            out.append(RawEvent(entity_id, domain, device_class, room, state, old, ts))
        return tuple(out)


def _motion(b: _Builder, rng: np.random.Generator, start: float, end: float, rate: float) -> None:
    """Poisson motion in rooms drawn by weight, `rate` triggers per hour while awake at home."""
    if end <= start:
        return
    rooms = list(_MOTION_ROOMS)
    count = int(rng.poisson(rate * (end - start) / 3600.0))
    times = np.sort(rng.uniform(start, end, count))
    picks = rng.choice(len(rooms), size=count, p=np.array(list(_MOTION_ROOMS.values())))
    for t, room, hold in zip(times, picks, rng.uniform(60, 150, count), strict=True):
        b.span(f"binary_sensor.{rooms[room]}_motion", float(t), float(t + hold))


def generate_household(
    seed: int = 7,
    *,
    days: int = DAYS,
    change_day: int = CHANGE_DAY,
    start: date = START_DATE,
    tz: str = TZ,
    unlabelled_share: float = 0.1,
) -> Household:
    """Simulate `days` days from `start` (local midnight) to noon after the last night."""
    rng = np.random.default_rng(seed)
    zone = ZoneInfo(tz)
    b = _Builder(zone)
    for room in ROOMS:
        b.entity(f"binary_sensor.{room}_motion", "motion", room)
        b.entity(f"light.{room}", None, room)
    b.entity("media_player.living_room_tv", None, "living_room")
    b.entity("binary_sensor.front_door", "door", "hallway")
    b.entity("switch.coffee_machine", None, "kitchen")  # ignored by the features
    change_date = start + timedelta(days=change_day)

    def minutes(day: date, hhmm: float, spread: float) -> datetime:
        return datetime.combine(day, time()) + timedelta(minutes=hhmm + rng.normal(0, spread))

    # Bedtime (night D) and wake (morning D+1) for D = start - 1 .. last night.
    plan: dict[date, tuple[datetime, datetime]] = {}
    for offset in range(-1, days):
        night = start + timedelta(days=offset)
        late = 30.0 if night.weekday() in (4, 5) else 0.0
        if night >= change_date:
            bed, wake = 24 * 60 + 30 + late, 24 * 60 + 8 * 60 + 15 + late
        else:
            bed, wake = 23 * 60 + late, 24 * 60 + 6 * 60 + 45 + late
        plan[night] = (minutes(night, bed, 20), minutes(night, wake, 15))

    nights: list[Night] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        new_routine = day >= change_date
        _, wake_local = plan[day - timedelta(days=1)]
        bed_local, next_wake_local = plan[day]
        wake, bed = b.at(wake_local), b.at(bed_local)

        # Morning: bedroom light, bathroom, kitchen.
        b.span("light.bedroom", wake, wake + rng.uniform(300, 900))
        b.span("binary_sensor.bedroom_motion", wake, wake + 90)
        bath = wake + rng.uniform(300, 900)
        b.span("light.bathroom", bath, bath + rng.uniform(600, 1200))
        b.span("binary_sensor.bathroom_motion", bath, bath + 120)
        b.span("light.kitchen", bath + 1200, bath + 2400)
        b.set(bath + 1300, "switch.coffee_machine", "on")
        b.set(bath + 1500, "switch.coffee_machine", "off")

        works_away = not new_routine and day.weekday() < 5
        if works_away:
            leave = b.at(minutes(day, 7 * 60 + 45, 10))
            back = b.at(minutes(day, 17 * 60 + 30, 30))
            _motion(b, rng, wake + 600, leave, rate=10)
            for door_time in (leave, back):
                b.span("binary_sensor.front_door", door_time, door_time + rng.uniform(10, 40))
                b.span("binary_sensor.hallway_motion", door_time - 30, door_time + 60)
            _motion(b, rng, back, bed, rate=5)
        else:
            # Home all day (one errand out through the front door).
            errand = b.at(minutes(day, 15 * 60, 60))
            b.span("binary_sensor.front_door", errand, errand + 20)
            b.span("binary_sensor.front_door", errand + 2400, errand + 2425)
            _motion(b, rng, wake + 600, errand, rate=7)
            _motion(b, rng, errand + 2400, bed, rate=5)

        # Evening: dinner in the kitchen, then TV in the living room until bedtime, or (some
        # evenings) reading in bed; the living room light is now and then left on all night.
        dinner = b.at(minutes(day, 18 * 60 + 45, 20))
        b.span("light.kitchen", dinner, dinner + rng.uniform(1800, 3000))
        lights_on = b.at(minutes(day, 19 * 60, 15))
        next_wake = b.at(next_wake_local)
        reading = rng.random() < 0.2
        evening_end = bed - (rng.uniform(1800, 3600) if reading else rng.uniform(120, 600))
        forgot_light = rng.random() < 0.15
        b.span("light.living_room", lights_on, next_wake + 300 if forgot_light else evening_end)
        tv_on = b.at(minutes(day, 20 * 60 + (30 if new_routine else 0), 20))
        tv_off = evening_end - rng.uniform(0, 900)
        b.span("media_player.living_room_tv", tv_on, tv_off, on="playing")
        b.span("light.bedroom", evening_end if reading else bed - rng.uniform(400, 900), bed)
        b.span("binary_sensor.bedroom_motion", bed - 300, bed - 200)

        # Night: a few movements in bed, sometimes a bathroom trip.
        t = bed
        while True:
            t += rng.exponential(3600.0 / 0.4)
            if t >= next_wake - 600:
                break
            b.span("binary_sensor.bedroom_motion", t, t + 60)
        if rng.random() < 0.3:
            trip = rng.uniform(bed + 3600, next_wake - 3600)
            b.span("light.bathroom", trip, trip + 240)
            b.span("binary_sensor.bathroom_motion", trip + 10, trip + 100)

        # The helpers hold the person's own estimate: bedtime within ~10 min, wake within ~5.
        labelled = rng.random() >= unlabelled_share
        fmt = "%Y-%m-%d %H:%M:00"
        noted_bed = bed_local + timedelta(minutes=float(rng.normal(0, 10)))
        noted_wake = next_wake_local + timedelta(minutes=float(rng.normal(0, 5)))
        nights.append(
            Night(
                night_date=day,
                bedtime_utc=bed,
                wake_utc=next_wake,
                sleep_start_state=noted_bed.strftime(fmt) if labelled else "unknown",
                sleep_end_state=noted_wake.strftime(fmt) if labelled else "unknown",
            )
        )

    start_utc = b.at(datetime.combine(start, time()))
    end_utc = b.at(datetime.combine(start + timedelta(days=days), time(12)))
    return Household(
        seed=seed,
        tz=tz,
        rooms=ROOMS,
        start_utc=start_utc,
        end_utc=end_utc,
        change_date=change_date,
        events=b.events(),
        nights=tuple(nights),
    )


@cache
def household(seed: int = 7) -> Household:
    """The default household (cached: several tests share it)."""
    return generate_household(seed)


@cache
def household_features(seed: int = 7) -> tuple[FeatureRow, ...]:
    """15-minute feature rows for the default household (cached)."""
    home = household(seed)
    return tuple(
        compute_features(home.events, home.start_utc, home.end_utc, tz=home.tz, rooms=home.rooms)
    )


def piecewise_gaussian(
    n: int, seed: int, *, min_len: int = 50, max_len: int = 400
) -> tuple[np.ndarray, list[int]]:
    """Gaussian segments: mean jumps of 1.5-4 (random sign), noise sd 0.7-1.3 per segment.

    Returns the series and the true changepoints (first index of each new segment).
    """
    rng = np.random.default_rng(seed)
    cps = [0]
    while cps[-1] + max_len < n:
        cps.append(cps[-1] + int(rng.integers(min_len, max_len)))
    bounds = [*cps, n]
    x = np.empty(n)
    mean = 0.0
    for a, b in itertools.pairwise(bounds):
        mean += rng.choice([-1.0, 1.0]) * rng.uniform(1.5, 4.0)
        x[a:b] = rng.normal(mean, rng.uniform(0.7, 1.3), b - a)
    return x, cps[1:]


def utc(text: str) -> float:
    """Epoch seconds of an ISO UTC timestamp, for readable fixtures."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()
