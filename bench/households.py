"""Simulated homes for the sleep harness: people, rooms and devices, second by second.

Written for the harness only, separately from the ML tests' fixture, so the code under test was
never shaped by it. Every home is drawn from a seed: the archetype (who lives there, what their
week looks like, which devices they have) is fixed, its numbers (times, spreads, rooms, time
zone, which nights are labelled, when sensors fail) come from `numpy.random.default_rng(seed)`.

What a home produces:

- `changes`: state changes of its devices as Home Assistant would see them (motion sensors with
  their hold time, lights left on, a TV, a front door, phone chargers, a coffee machine, `person`
  entities where the home has presence, a pet setting motion off at night), including sensors
  that go `unavailable` (a flat battery for a day, a radio dropout of an hour or two);
- `edits`: what the occupants type into the two `input_datetime` helpers, and when: most nights
  after getting up, some not at all, some wrong and corrected the next evening;
- `restarts`: times at which Home Assistant restarts (RoomDB is down for a few minutes);
- the truth: the household sleeps when every occupant is at home and asleep (an occupant away
  from home is awake), `sleep` holds those intervals and `nights` each night's bedtime and wake
  time; `change_at` is the morning a new routine began (the first day of it) and `change_night`
  the first night of the new routine.

The household's helpers hold the household's night: from the last one to bed to the first one up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
import math
from typing import Final
import zlib
from zoneinfo import ZoneInfo

import numpy as np

DAY: Final = 86400.0
HOUR: Final = 3600.0
MINUTE: Final = 60.0
SLEEP_START: Final = "input_datetime.sleep_start"
SLEEP_END: Final = "input_datetime.sleep_end"

# Time zones with a DST switch in 2026 (date of the switch), and their latitude for dusk and dawn.
ZONES: Final[dict[str, tuple[float, tuple[date, ...]]]] = {
    "Europe/Berlin": (52.5, (date(2026, 3, 29), date(2026, 10, 25))),
    "Europe/London": (51.5, (date(2026, 3, 29), date(2026, 10, 25))),
    "America/New_York": (40.7, (date(2026, 3, 8), date(2026, 11, 1))),
    "America/Chicago": (41.9, (date(2026, 3, 8), date(2026, 11, 1))),
    "America/Los_Angeles": (34.0, (date(2026, 3, 8), date(2026, 11, 1))),
    "Australia/Sydney": (-33.9, (date(2026, 4, 5), date(2026, 10, 4))),
}


@dataclass(frozen=True, slots=True)
class Device:
    """One entity of the home."""

    entity_id: str
    device_class: str | None
    area: str | None
    radio: bool = False  # a battery sensor on the home's radio network (drops out with it)


@dataclass(frozen=True, slots=True)
class StateChange:
    """A state change as Home Assistant's state machine gets it."""

    ts: float
    entity_id: str
    state: str


@dataclass(frozen=True, slots=True)
class HelperEdit:
    """A value typed into one of the sleep helpers."""

    ts: float
    entity_id: str
    value: str  # "YYYY-MM-DD HH:MM:SS" (helpers with a date) or "HH:MM:SS"


@dataclass(frozen=True, slots=True)
class Night:
    """The household's truth for one night, and what the helpers finally say about it."""

    night_date: date
    bedtime: float
    wake: float
    label: tuple[float, float] | None  # (bedtime, wake) as entered last, None when unlabelled
    entered_at: float | None  # when that final entry was made


@dataclass(frozen=True, slots=True)
class EnteredLabel:
    """One entry of a night's label (a correction is a later entry of the same night)."""

    entered_at: float
    night_date: date
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Household:
    """A simulated home: devices, what happened, what was typed in, and the truth."""

    name: str
    seed: int
    tz: str
    traits: tuple[str, ...]
    start_ts: float
    end_ts: float
    devices: tuple[Device, ...]
    changes: tuple[StateChange, ...]
    edits: tuple[HelperEdit, ...]
    entries: tuple[EnteredLabel, ...]
    restarts: tuple[tuple[float, float], ...]
    dated_helpers: bool
    sleep: tuple[tuple[float, float], ...]
    nights: tuple[Night, ...]
    change_at: float | None
    change_night: date | None

    def asleep_share(self, start: float, end: float) -> float:
        """Share of [start, end) the household slept."""
        covered = sum(max(0.0, min(end, b) - max(start, a)) for a, b in self.sleep)
        return covered / (end - start)

    def local(self, ts: float) -> datetime:
        """The home's wall-clock time of an instant."""
        return datetime.fromtimestamp(ts, ZoneInfo(self.tz))


# --- routines ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Day:
    """One person's plan for one calendar day: trips away that day and the night's sleep."""

    away: tuple[tuple[float, float], ...]
    sleep: tuple[float, float] | None  # None: away from home that night
    coffee: bool = True
    desk: tuple[float, float] | None = None  # home office hours (desk plug on)


type Planner = Callable[["Person", date, np.random.Generator], Day]


@dataclass(slots=True)
class Person:
    """Someone living in the home."""

    name: str
    zone: ZoneInfo
    planner: Planner
    params: dict[str, float]
    free_days: frozenset[int]  # weekdays (0 = Monday) whose morning is free
    charges_phone: float  # share of nights the phone goes on the charger
    charger_reports_full: bool  # the charging sensor goes off once the battery is full
    new_planner: Planner | None = None
    new_params: dict[str, float] = field(default_factory=dict)
    new_free_days: frozenset[int] = frozenset()

    def at(self, day: date, minutes: float) -> float:
        """UTC epoch of `minutes` after local midnight of `day` (may run into the next day)."""
        local = datetime.combine(day, time()) + timedelta(minutes=minutes)
        return local.replace(tzinfo=self.zone).timestamp()


def _jitter(rng: np.random.Generator, minutes: float, spread: float) -> float:
    return minutes + float(rng.normal(0.0, spread))


def office_day(person: Person, day: date, rng: np.random.Generator) -> Day:
    """Away at work on work days; later nights before free mornings, outings on free days."""
    p = person.params
    free_tomorrow = (day + timedelta(days=1)).weekday() in person.free_days
    works_today = day.weekday() not in person.free_days
    late = p["free_later"] if free_tomorrow else 0.0
    bed = person.at(day, _jitter(rng, p["bed"] + late, p["sd_bed"]))
    wake = person.at(day + timedelta(days=1), _jitter(rng, p["wake"] + late, p["sd_wake"]))
    away: list[tuple[float, float]] = []
    if works_today:
        away.append(
            (
                person.at(day, _jitter(rng, p["leave"], 8)),
                person.at(day, _jitter(rng, p["back"], 25)),
            )
        )
    else:
        if rng.random() < 0.6:
            out = _jitter(rng, 10.5 * 60, 60)
            away.append((person.at(day, out), person.at(day, out + rng.uniform(60, 180))))
        if rng.random() < 0.3:
            out = _jitter(rng, 19.5 * 60, 30)
            away.append((person.at(day, out), person.at(day, out + rng.uniform(120, 200))))
    trip = p.get("trip_share", 0.0)
    if works_today and rng.random() < trip:
        # An overnight trip: leaves in the morning, back the next evening.
        leave = away[0][0]
        away[0] = (leave, person.at(day + timedelta(days=1), _jitter(rng, p["back"] + 60, 40)))
        return Day(tuple(away), None, coffee=rng.random() < 0.9)
    return Day(tuple(away), (bed, wake), coffee=rng.random() < 0.9)


def home_office_day(person: Person, day: date, rng: np.random.Generator) -> Day:
    """Works from home: a walk at lunch, an errand now and then, later nights before free days."""
    p = person.params
    free_tomorrow = (day + timedelta(days=1)).weekday() in person.free_days
    works_today = day.weekday() not in person.free_days
    late = p["free_later"] if free_tomorrow else 0.0
    bed = person.at(day, _jitter(rng, p["bed"] + late, p["sd_bed"]))
    wake = person.at(day + timedelta(days=1), _jitter(rng, p["wake"] + late, p["sd_wake"]))
    away: list[tuple[float, float]] = []
    if rng.random() < 0.5:
        out = _jitter(rng, 12.75 * 60, 20)
        away.append((person.at(day, out), person.at(day, out + rng.uniform(30, 60))))
    if rng.random() < 0.4:
        out = _jitter(rng, 16 * 60, 60)
        away.append((person.at(day, out), person.at(day, out + rng.uniform(45, 120))))
    desk = None
    if works_today:
        desk = (person.at(day, _jitter(rng, p["wake"] + 75, 15)), person.at(day, 17.5 * 60))
    return Day(tuple(away), (bed, wake), coffee=rng.random() < 0.9, desk=desk)


def night_shift_day(person: Person, day: date, rng: np.random.Generator) -> Day:
    """Night shifts on some evenings: out overnight, asleep the next morning into the afternoon.

    After a shift the night's sleep is the day sleep (it starts before noon, so it belongs to the
    evening the shift began); on nights off the person sleeps at night, late.
    """
    p = person.params
    if day.weekday() in person.free_days:
        bed = person.at(day, _jitter(rng, p["off_bed"], p["sd_bed"]))
        wake = person.at(day + timedelta(days=1), _jitter(rng, p["off_wake"], p["sd_wake"]))
        away: list[tuple[float, float]] = []
        if rng.random() < 0.5:
            out = _jitter(rng, 15 * 60, 60)
            away.append((person.at(day, out), person.at(day, out + rng.uniform(60, 150))))
        return Day(tuple(away), (bed, wake), coffee=rng.random() < 0.9)
    leave = person.at(day, _jitter(rng, p["leave"], 8))
    back = person.at(day + timedelta(days=1), _jitter(rng, p["back"], 10))
    bed = back + rng.uniform(20, 45) * MINUTE
    wake = person.at(day + timedelta(days=1), _jitter(rng, p["day_wake"], p["sd_wake"]))
    return Day(((leave, back),), (bed, wake), coffee=rng.random() < 0.5)


# --- archetypes ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Spec:
    """What a home is made of, before the timeline is simulated."""

    name: str
    traits: tuple[str, ...]
    tz: str
    start: date
    days: int
    rooms: tuple[str, ...]
    people: list[Person]
    pet: bool
    presence: bool
    dated_helpers: bool
    charger_area: str | None
    label_share: float
    correction_share: float
    round_minutes: int
    change_day: int | None


def _start_around(rng: np.random.Generator, tz: str, days: int) -> date:
    """A start date that puts one of the zone's DST switches 10 to days-10 days in."""
    _, switches = ZONES[tz]
    switch = switches[int(rng.integers(len(switches)))]
    return switch - timedelta(days=int(rng.integers(10, days - 10)))


def _rng(name: str, seed: int) -> np.random.Generator:
    """The archetype's own random stream: two archetypes drawn from one seed share nothing."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _monday_change(start: date, days: int) -> int:
    """The day a new routine starts: the last Monday at least two weeks before the end."""
    latest = days - 14
    return latest - (start + timedelta(days=latest)).weekday()


def _zone(rng: np.random.Generator, choices: Sequence[str]) -> str:
    return str(choices[int(rng.integers(len(choices)))])


def _office(rng: np.random.Generator, *, early: float = 0.0) -> dict[str, float]:
    wake = rng.uniform(6.0, 7.25) * 60 - early
    return {
        "wake": wake,
        "leave": wake + rng.uniform(45, 70),
        "back": rng.uniform(16.75, 18.5) * 60,
        "bed": rng.uniform(22.25, 23.5) * 60 - early,
        "sd_bed": rng.uniform(12, 25),
        "sd_wake": rng.uniform(6, 12),
        "free_later": rng.uniform(45, 100),
    }


def _home_office(rng: np.random.Generator) -> dict[str, float]:
    return {
        "wake": rng.uniform(7.5, 8.5) * 60,
        "bed": rng.uniform(23.5, 24.75) * 60,
        "sd_bed": rng.uniform(15, 30),
        "sd_wake": rng.uniform(10, 20),
        "free_later": rng.uniform(30, 90),
    }


def _night_shift(rng: np.random.Generator) -> dict[str, float]:
    return {
        "leave": rng.uniform(20.75, 21.5) * 60,
        "back": rng.uniform(6.75, 7.5) * 60,
        "day_wake": rng.uniform(14.0, 15.25) * 60,
        "off_bed": rng.uniform(24.0, 25.0) * 60,
        "off_wake": rng.uniform(8.5, 9.75) * 60,
        "sd_bed": rng.uniform(15, 30),
        "sd_wake": rng.uniform(10, 25),
    }


WEEKEND: Final = frozenset({5, 6})
ROOMS: Final = ("bedroom", "bathroom", "hallway", "kitchen", "living_room")


def _person(
    name: str,
    zone: ZoneInfo,
    planner: Planner,
    params: dict[str, float],
    rng: np.random.Generator,
    *,
    free_days: frozenset[int] = WEEKEND,
) -> Person:
    return Person(
        name=name,
        zone=zone,
        planner=planner,
        params=params,
        free_days=free_days,
        charges_phone=float(rng.uniform(0.75, 0.95)),
        charger_reports_full=bool(rng.random() < 0.4),
    )


def shift_worker(seed: int, days: int) -> Spec:
    """A night-shift worker on a fixed weekly pattern; time-only helpers; no presence."""
    rng = _rng("shift_worker", seed)
    tz = _zone(rng, ["Europe/Berlin", "America/Chicago", "Australia/Sydney"])
    zone = ZoneInfo(tz)
    first_off = int(rng.integers(0, 7))
    off = frozenset({first_off, (first_off + 1) % 7, (first_off + 4) % 7})
    person = _person("sam", zone, night_shift_day, _night_shift(rng), rng, free_days=off)
    return Spec(
        name="shift_worker",
        traits=("night shifts", "time-only helpers"),
        tz=tz,
        start=_start_around(rng, tz, days),
        days=days,
        rooms=(*ROOMS, "office"),
        people=[person],
        pet=False,
        presence=False,
        dated_helpers=False,
        charger_area="bedroom",
        label_share=float(rng.uniform(0.6, 0.8)),
        correction_share=0.12,
        round_minutes=5,
        change_day=None,
    )


def couple(seed: int, days: int) -> Spec:
    """Two people with different hours; one starts commuting; presence; dated helpers."""
    rng = _rng("couple", seed)
    tz = _zone(rng, ["America/New_York", "Europe/London", "Australia/Sydney"])
    zone = ZoneInfo(tz)
    early = _person("alex", zone, office_day, _office(rng, early=60.0), rng)
    late = _person("robin", zone, home_office_day, _home_office(rng), rng)
    late.new_planner = office_day
    late.new_params = _office(rng)
    late.new_free_days = WEEKEND
    start = _start_around(rng, tz, days)
    return Spec(
        name="couple",
        traits=("two people, different hours", "presence", "routine change"),
        tz=tz,
        start=start,
        days=days,
        rooms=(*ROOMS, "office"),
        people=[early, late],
        pet=False,
        presence=True,
        dated_helpers=True,
        charger_area="bedroom",
        label_share=float(rng.uniform(0.6, 0.8)),
        correction_share=0.1,
        round_minutes=1,
        change_day=_monday_change(start, days),
    )


def pet_owner(seed: int, days: int) -> Spec:
    """A dog that sets the motion sensors off at night; office job, then home office."""
    rng = _rng("pet_owner", seed)
    tz = _zone(rng, ["Europe/London", "America/Los_Angeles", "Europe/Berlin"])
    zone = ZoneInfo(tz)
    person = _person("kim", zone, office_day, _office(rng), rng)
    person.new_planner = home_office_day
    person.new_params = _home_office(rng)
    person.new_free_days = WEEKEND
    start = _start_around(rng, tz, days)
    return Spec(
        name="pet_owner",
        traits=("dog moving at night", "routine change"),
        tz=tz,
        start=start,
        days=days,
        rooms=ROOMS,
        people=[person],
        pet=True,
        presence=False,
        dated_helpers=True,
        charger_area=None,
        label_share=float(rng.uniform(0.6, 0.8)),
        correction_share=0.1,
        round_minutes=1,
        change_day=_monday_change(start, days),
    )


def traveller(seed: int, days: int) -> Spec:
    """Often away overnight on trips; presence from the phone; dated helpers."""
    rng = _rng("traveller", seed)
    tz = _zone(rng, ["America/Los_Angeles", "Europe/Berlin", "America/New_York"])
    zone = ZoneInfo(tz)
    params = _office(rng)
    params["trip_share"] = float(rng.uniform(0.25, 0.4))
    person = _person("jo", zone, office_day, params, rng)
    return Spec(
        name="traveller",
        traits=("often away overnight", "presence"),
        tz=tz,
        start=_start_around(rng, tz, days),
        days=days,
        rooms=ROOMS,
        people=[person],
        pet=False,
        presence=True,
        dated_helpers=True,
        charger_area=None,
        label_share=float(rng.uniform(0.7, 0.9)),
        correction_share=0.1,
        round_minutes=5,
        change_day=None,
    )


def _takes_night_shifts(
    person: Person,
    rng: np.random.Generator,
    *,
    first_off: tuple[int, int],
    nights_off: tuple[int, ...],
) -> None:
    """From the change on, night shifts: three nights off a week, the first drawn from the
    weekdays `first_off` (low, high), the others `nights_off` after it, so the new job starts
    with a shift on the Monday of the change."""
    person.new_planner = night_shift_day
    person.new_params = _night_shift(rng)
    first = int(rng.integers(*first_off))
    person.new_free_days = frozenset(first + gap for gap in nights_off)


def new_shift_work(seed: int, days: int) -> Spec:
    """One occupant, six rooms, coffee machine; an office job, then night shifts; time-only."""
    rng = _rng("new_shift_work", seed)
    tz = _zone(rng, ["Europe/Berlin", "America/New_York", "Australia/Sydney"])
    zone = ZoneInfo(tz)
    person = _person("lee", zone, office_day, _office(rng), rng)
    _takes_night_shifts(person, rng, first_off=(1, 4), nights_off=(0, 3, 4))
    start = _start_around(rng, tz, days)
    return Spec(
        name="new_shift_work",
        traits=("office job, then night shifts", "time-only helpers"),
        tz=tz,
        start=start,
        days=days,
        rooms=(*ROOMS, "office"),
        people=[person],
        pet=False,
        presence=False,
        dated_helpers=False,
        charger_area="bedroom",
        label_share=0.7,
        correction_share=0.15,
        round_minutes=1,
        change_day=_monday_change(start, days),
    )


def new_night_shifts(seed: int, days: int) -> Spec:
    """An office job, then four night shifts a week; presence (the phone), so a shift is a night
    away; dated helpers."""
    rng = _rng("new_night_shifts", seed)
    tz = _zone(rng, ["Europe/London", "America/Chicago", "Australia/Sydney"])
    zone = ZoneInfo(tz)
    person = _person("kim", zone, office_day, _office(rng), rng)
    _takes_night_shifts(person, rng, first_off=(2, 5), nights_off=(0, 1, 2))
    start = _start_around(rng, tz, days)
    return Spec(
        name="new_night_shifts",
        traits=("office job, then night shifts", "presence"),
        tz=tz,
        start=start,
        days=days,
        rooms=ROOMS,
        people=[person],
        pet=False,
        presence=True,
        dated_helpers=True,
        charger_area="bedroom",
        label_share=float(rng.uniform(0.6, 0.85)),
        correction_share=0.1,
        round_minutes=5,
        change_day=_monday_change(start, days),
    )


def late_sleeper(seed: int, days: int) -> Spec:
    """A home-office worker with irregular late nights and a cat; dated helpers."""
    rng = _rng("late_sleeper", seed)
    tz = _zone(rng, ["Europe/Berlin", "America/Chicago", "Europe/London"])
    zone = ZoneInfo(tz)
    params = _home_office(rng)
    params["bed"] += 45
    params["wake"] += 45
    params["sd_bed"] = rng.uniform(35, 55)
    params["sd_wake"] = rng.uniform(25, 40)
    person = _person("ari", zone, home_office_day, params, rng)
    return Spec(
        name="late_sleeper",
        traits=("irregular late nights", "cat"),
        tz=tz,
        start=_start_around(rng, tz, days),
        days=days,
        rooms=(*ROOMS, "office"),
        people=[person],
        pet=True,
        presence=False,
        dated_helpers=True,
        charger_area="bedroom",
        label_share=float(rng.uniform(0.6, 0.8)),
        correction_share=0.1,
        round_minutes=1,
        change_day=None,
    )


ARCHETYPES: Final[dict[str, Callable[[int, int], Spec]]] = {
    "shift_worker": shift_worker,
    "couple": couple,
    "pet_owner": pet_owner,
    "traveller": traveller,
    "new_shift_work": new_shift_work,
    "late_sleeper": late_sleeper,
    "new_night_shifts": new_night_shifts,
}
DEFAULT_DAYS: Final = 49


# --- simulation ----------------------------------------------------------------------------------


def _is_dark(ts: float, zone: ZoneInfo, latitude: float) -> bool:
    """Whether a room needs its light: the sun is less than 4 degrees above the horizon."""
    local = datetime.fromtimestamp(ts, zone)
    day_of_year = local.timetuple().tm_yday
    declination = math.radians(23.44) * math.sin(2 * math.pi * (284 + day_of_year) / 365)
    phi = math.radians(latitude)
    cos_h = (math.sin(math.radians(-4)) - math.sin(phi) * math.sin(declination)) / (
        math.cos(phi) * math.cos(declination)
    )
    half_day = math.degrees(math.acos(max(-1.0, min(1.0, cos_h)))) / 15.0
    dst = local.dst()
    noon = 12.25 + (dst.total_seconds() / HOUR if dst is not None else 0.0)
    hour = local.hour + local.minute / 60.0
    return not noon - half_day <= hour < noon + half_day


@dataclass(slots=True)
class _Timeline:
    """Intervals during which each device is on, and one-off events, before they become states."""

    on: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    triggers: dict[str, list[float]] = field(default_factory=dict)

    def span(self, entity_id: str, start: float, end: float) -> None:
        if end > start:
            self.on.setdefault(entity_id, []).append((start, end))

    def trigger(self, entity_id: str, ts: float) -> None:
        self.triggers.setdefault(entity_id, []).append(ts)


_ROOM_WEIGHTS: Final[dict[str, Callable[[float], float]]] = {
    "kitchen": lambda h: 3.0 if 11.5 <= h < 13.5 or 17.5 <= h < 19.5 else 1.0,
    "living_room": lambda h: 4.0 if h >= 19.0 or h < 2.0 else 1.5,
    "office": lambda h: 3.0 if 8.5 <= h < 17.5 else 0.5,
    "bathroom": lambda _h: 0.4,
    "bedroom": lambda h: 0.6 if h >= 21.0 else 0.2,
}


class _Simulator:
    """Turns the occupants' plans into device timelines."""

    def __init__(self, spec: Spec, rng: np.random.Generator) -> None:
        self.spec = spec
        self.rng = rng
        self.zone = ZoneInfo(spec.tz)
        self.latitude = ZONES[spec.tz][0]
        self.timeline = _Timeline()
        self.rooms = spec.rooms

    def motion(self, room: str) -> str:
        return f"binary_sensor.{room}_motion"

    def light(self, room: str) -> str:
        return f"light.{room}"

    def dark(self, ts: float) -> bool:
        return _is_dark(ts, self.zone, self.latitude)

    def stay(self, room: str, start: float, end: float, rate_per_min: float) -> None:
        """Someone in `room` from start to end: motion on entering and now and then, the light."""
        rng = self.rng
        self.timeline.trigger(self.motion(room), start + rng.uniform(0, 5))
        t = start
        while True:
            t += rng.exponential(1.0 / rate_per_min) * MINUTE
            if t >= end:
                break
            self.timeline.trigger(self.motion(room), t)
        if self.dark(start) or self.dark(end):
            on = start + rng.uniform(2, 10)
            # Now and then a light is left on when leaving a room, until someone is back.
            off = end - rng.uniform(0, 5) if rng.random() < 0.9 else end + rng.uniform(10, 90) * 60
            self.timeline.span(self.light(room), on, off)

    def pass_hall(self, ts: float) -> None:
        if "hallway" in self.rooms and self.rng.random() < 0.7:
            self.timeline.trigger(self.motion("hallway"), ts)
            if self.dark(ts):
                self.timeline.span(self.light("hallway"), ts, ts + self.rng.uniform(15, 60))

    def awake_at_home(self, start: float, end: float, day: Day, woke: float | None) -> None:
        """Someone awake at home from start to end: a walk through the rooms."""
        rng = self.rng
        t = start
        if woke is not None and abs(woke - start) < 60:
            # Morning: bedroom, bathroom, kitchen (coffee), then the day.
            steps = (
                ("bedroom", rng.uniform(2, 6), 1.0),
                ("bathroom", rng.uniform(8, 20), 0.8),
                ("kitchen", rng.uniform(10, 25), 0.6),
            )
            for room, minutes, rate in steps:
                stop = min(end, t + minutes * MINUTE)
                if stop <= t:
                    break
                self.stay(room, t, stop, rate)
                if room == "kitchen" and day.coffee:
                    brew = t + rng.uniform(1, 4) * MINUTE
                    self.timeline.span("switch.coffee_machine", brew, brew + rng.uniform(90, 240))
                t = stop
                self.pass_hall(t)
        while t < end - 60:
            local = datetime.fromtimestamp(t, self.zone)
            hour = local.hour + local.minute / 60.0
            if day.desk is not None and day.desk[0] <= t < day.desk[1] and "office" in self.rooms:
                room, minutes, rate = "office", rng.uniform(40, 110), 0.12
            else:
                rooms = [r for r in _ROOM_WEIGHTS if r in self.rooms]
                weights = np.array([_ROOM_WEIGHTS[r](hour) for r in rooms])
                room = rooms[int(rng.choice(len(rooms), p=weights / weights.sum()))]
                minutes = rng.exponential(18.0) + 2.0
                rate = 0.5
                if room == "living_room" and (hour >= 19.0 or hour < 2.0) and rng.random() < 0.8:
                    minutes, rate = rng.uniform(45, 150), 0.08
                    tv_on = t + rng.uniform(1, 5) * MINUTE
                    tv_off = min(end, t + minutes * MINUTE) - rng.uniform(0, 3) * MINUTE
                    self.timeline.span("media_player.living_room_tv", tv_on, tv_off)
            stop = min(end, t + minutes * MINUTE)
            self.stay(room, t, stop, rate)
            t = stop
            self.pass_hall(t)

    def asleep(self, person: Person, settle: float, bed: float, wake: float) -> None:
        """In bed: getting ready, the phone on the charger, a turn now and then, a night trip."""
        rng = self.rng
        self.stay("bedroom", settle, bed, 0.3)
        self.timeline.trigger(self.motion("bedroom"), bed - rng.uniform(0, 60))
        t = bed
        while True:
            t += rng.exponential(HOUR / 0.35)
            if t >= wake - 300:
                break
            self.timeline.trigger(self.motion("bedroom"), t)
        if rng.random() < 0.35 and wake - bed > 3 * HOUR:
            trip = rng.uniform(bed + HOUR, wake - HOUR)
            self.timeline.trigger(self.motion("bedroom"), trip)
            self.pass_hall(trip + 10)
            back = trip + rng.uniform(3, 7) * MINUTE
            self.timeline.trigger(self.motion("bathroom"), trip + 30)
            self.timeline.span(self.light("bathroom"), trip + 25, back - 20)
        self.timeline.trigger(self.motion("bedroom"), wake + rng.uniform(0, 60))
        if rng.random() < person.charges_phone:
            plug = settle + rng.uniform(0, 8) * MINUTE
            unplug = wake + rng.uniform(1, 20) * MINUTE
            if person.charger_reports_full:
                unplug = min(unplug, plug + rng.uniform(1.5, 3.0) * HOUR)
            self.timeline.span(f"binary_sensor.{person.name}_phone_charging", plug, unplug)

    def daytime_charge(self, person: Person, start: float, end: float) -> None:
        if end - start > 2 * HOUR and self.rng.random() < 0.35:
            plug = self.rng.uniform(start, end - HOUR)
            self.timeline.span(
                f"binary_sensor.{person.name}_phone_charging",
                plug,
                plug + self.rng.uniform(30, 80) * MINUTE,
            )

    def leave_or_return(self, ts: float) -> None:
        self.pass_hall(ts - self.rng.uniform(20, 60))
        self.timeline.span("binary_sensor.front_door", ts, ts + self.rng.uniform(5, 30))
        if "hallway" in self.rooms:
            self.timeline.trigger(self.motion("hallway"), ts + self.rng.uniform(-10, 10))

    def pet(self, start: float, end: float, away: list[tuple[float, float]]) -> None:
        """The pet roams the living room, kitchen and hallway, less at night, never the bedroom."""
        rng = self.rng
        rooms = [r for r in ("living_room", "kitchen", "hallway") if r in self.rooms]
        t = start
        while t < end:
            local = datetime.fromtimestamp(t, self.zone)
            rate = 1.2 if 0 <= local.hour < 6 else 2.5  # per hour
            t += rng.exponential(HOUR / rate)
            if any(a <= t < b for a, b in away):
                continue
            self.timeline.trigger(self.motion(rooms[int(rng.integers(len(rooms)))]), t)


def _states_from(
    timeline: _Timeline,
    devices: Iterable[Device],
    outages: dict[str, list[tuple[float, float]]],
    start: float,
    rng: np.random.Generator,
) -> list[StateChange]:
    """Device state changes from the on-intervals and triggers, with outages as unavailable."""
    changes: list[StateChange] = []
    for device in devices:
        entity_id = device.entity_id
        on_state = "playing" if entity_id.startswith("media_player.") else "on"
        spans = list(timeline.on.get(entity_id, []))
        if entity_id.endswith("_motion"):
            hold = rng.uniform(60, 120)
            spans += [(t, t + hold) for t in timeline.triggers.get(entity_id, [])]
        spans.sort()
        merged: list[list[float]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        points = [(start, "off")]
        for a, b in merged:
            points += [(a, on_state), (b, "off")]
        down = sorted(outages.get(entity_id, []))
        for a, b in down:
            # The sensor is gone from a to b; afterwards it reports what is true again.
            inside = [p for p in points if a <= p[0] < b]
            before = [p for p in points if p[0] < a]
            state_after = (inside or before or [(a, "off")])[-1][1]
            points = [p for p in points if not a <= p[0] < b]
            points += [(a, "unavailable"), (b, state_after)]
        points.sort(key=lambda p: p[0])
        current: str | None = None
        for ts, state in points:
            if state != current:
                changes.append(StateChange(round(ts, 3), entity_id, state))
                current = state
    return changes


def _presence_changes(
    person: Person, away: list[tuple[float, float]], start: float, rng: np.random.Generator
) -> list[StateChange]:
    """`person.<name>` home / not_home, a few minutes behind reality (geofences are slow)."""
    entity_id = f"person.{person.name}"
    changes = [StateChange(start, entity_id, "home")]
    for a, b in sorted(away):
        left = a + rng.uniform(1, 6) * MINUTE
        arrived = b - rng.uniform(0, 3) * MINUTE
        if arrived > left:
            changes += [
                StateChange(round(left, 3), entity_id, "not_home"),
                StateChange(round(arrived, 3), entity_id, "home"),
            ]
    return changes


def _fmt(ts: float, zone: ZoneInfo, dated: bool, round_minutes: int) -> str:
    local = datetime.fromtimestamp(ts, zone)
    minute = round((local.minute + local.second / 60.0) / round_minutes) * round_minutes
    local = local.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=minute)
    return local.strftime("%Y-%m-%d %H:%M:00" if dated else "%H:%M:00")


def _meant(start_text: str, end_text: str, night: date, zone: ZoneInfo) -> tuple[float, float]:
    """The instants the two helper values stand for (what the user meant for `night`)."""

    def local(text: str, day: date) -> datetime:
        if len(text) > 8:
            return datetime.fromisoformat(text)
        return datetime.combine(day, time.fromisoformat(text))

    start = local(start_text, night)
    if len(start_text) <= 8 and start.time() < time(12):
        start += timedelta(days=1)
    end = local(end_text, start.date())
    if len(end_text) <= 8 and end <= start:
        end += timedelta(days=1)
    return start.replace(tzinfo=zone).timestamp(), end.replace(tzinfo=zone).timestamp()


def simulate(spec: Spec, seed: int) -> Household:
    """Run the home for `spec.days` days from local midnight of `spec.start`."""
    rng = _rng(f"{spec.name}/timeline", seed)
    zone = ZoneInfo(spec.tz)
    sim = _Simulator(spec, rng)
    start_ts = datetime.combine(spec.start, time()).replace(tzinfo=zone).timestamp()
    end_day = spec.start + timedelta(days=spec.days)
    end_ts = datetime.combine(end_day, time(12)).replace(tzinfo=zone).timestamp()
    change_date = (
        spec.start + timedelta(days=spec.change_day) if spec.change_day is not None else None
    )

    # Each person's plan, day by day; the night before the first day sets the first wake.
    plans: dict[str, dict[date, Day]] = {}
    for person in spec.people:
        plans[person.name] = {}
        for offset in range(-1, spec.days):
            day = spec.start + timedelta(days=offset)
            planner, params, free = person.planner, person.params, person.free_days
            if change_date is not None and day >= change_date and person.new_planner is not None:
                planner, params, free = person.new_planner, person.new_params, person.new_free_days
            saved = person.params, person.free_days
            person.params, person.free_days = params, free
            plans[person.name][day] = planner(person, day, rng)
            person.params, person.free_days = saved

    # Per person: asleep and away intervals (made consistent), then the rooms they use.
    away_of: dict[str, list[tuple[float, float]]] = {}
    sleep_of: dict[str, dict[date, tuple[float, float]]] = {}
    for person in spec.people:
        days = plans[person.name]
        sleeps: dict[date, tuple[float, float]] = {}
        aways: list[tuple[float, float]] = []
        previous_wake = start_ts
        for offset in range(-1, spec.days):
            day = spec.start + timedelta(days=offset)
            plan = days[day]
            trips: list[tuple[float, float]] = []
            for leave, back in plan.away:
                start = max(leave, previous_wake + rng.uniform(30, 50) * MINUTE)
                if back > start + 10 * MINUTE:
                    trips.append((start, back))
            if plan.sleep is not None:
                bed, wake = plan.sleep
                last_back = max((b for _, b in trips), default=previous_wake)
                bed = max(bed, last_back + rng.uniform(30, 60) * MINUTE)
                wake = max(wake, bed + 3 * HOUR)
                sleeps[day] = (bed, wake)
                previous_wake = wake
            else:
                previous_wake = max((b for _, b in trips), default=previous_wake)
            aways += trips
        away_of[person.name] = aways
        sleep_of[person.name] = sleeps

        # Awake at home: everything that is neither asleep nor away, from start to end. The
        # last minutes before bedtime are spent getting ready in the bedroom.
        busy = sorted(
            [(a, b, "away") for a, b in aways] + [(a, b, "sleep") for a, b in sleeps.values()]
        )
        t = start_ts
        woke: float | None = None
        for a, b, kind in busy:
            settle = a - rng.uniform(8, 25) * MINUTE if kind == "sleep" else a
            if settle > t and b > start_ts:
                local_day = datetime.fromtimestamp(max(t, start_ts), zone).date()
                plan = days.get(local_day, days[spec.start])
                sim.awake_at_home(max(t, start_ts), min(settle, end_ts), plan, woke)
                sim.daytime_charge(person, max(t, start_ts), min(settle, end_ts))
            if kind == "away":
                if start_ts <= a < end_ts:
                    sim.leave_or_return(a)
                if start_ts <= b < end_ts:
                    sim.leave_or_return(b)
                woke = None
            else:
                if b > start_ts and a < end_ts:
                    sim.asleep(person, max(settle, t), a, b)
                woke = b
            t = max(t, b)
        if t < end_ts:
            sim.awake_at_home(t, end_ts, days[end_day - timedelta(days=1)], woke)

    if spec.pet:
        everyone_away = _everyone_away([away_of[p.name] for p in spec.people])
        # The dog goes along on short outings (its walks) and stays home otherwise.
        sim.pet(start_ts, end_ts, [(a, b) for a, b in everyone_away if b - a < 2 * HOUR])

    # The household's truth: asleep when every occupant is home and asleep.
    household_sleep: list[tuple[float, float]] = []
    nights: list[Night] = []
    truths: dict[date, tuple[float, float]] = {}
    for offset in range(spec.days):
        day = spec.start + timedelta(days=offset)
        spans = [sleep_of[p.name].get(day) for p in spec.people]
        if any(s is None for s in spans):
            continue
        bed = max(s[0] for s in spans if s is not None)
        wake = min(s[1] for s in spans if s is not None)
        if wake - bed >= HOUR and wake <= end_ts:
            household_sleep.append((bed, wake))
            truths[day] = (bed, wake)

    # Devices.
    devices: list[Device] = []
    for room in spec.rooms:
        devices.append(Device(sim.motion(room), "motion", room, radio=True))
        devices.append(Device(sim.light(room), None, room))
    devices += [
        Device("media_player.living_room_tv", None, "living_room"),
        Device("binary_sensor.front_door", "door", "hallway", radio=True),
        Device("switch.coffee_machine", None, "kitchen"),
    ]
    devices += [
        Device(f"binary_sensor.{p.name}_phone_charging", "battery_charging", spec.charger_area)
        for p in spec.people
    ]
    outages = _outages(devices, start_ts, spec.days, rng)
    changes = _states_from(sim.timeline, devices, outages, start_ts, rng)
    if spec.presence:
        for person in spec.people:
            changes += _presence_changes(person, away_of[person.name], start_ts, rng)
    changes = [c for c in changes if start_ts <= c.ts < end_ts]
    changes.sort(key=lambda c: (c.ts, c.entity_id))

    edits, entries, final = _label_entries(
        spec, truths=truths, sleep_of=sleep_of, zone=zone, rng=rng, end_ts=end_ts
    )
    for night_date, (bed, wake) in sorted(truths.items()):
        label, entered_at = final.get(night_date, (None, None))
        nights.append(Night(night_date, bed, wake, label, entered_at))

    restarts: list[tuple[float, float]] = []
    for _ in range(int(rng.integers(1, 3))):
        at = start_ts + rng.uniform(5, spec.days - 2) * DAY
        restarts.append((at, at + rng.uniform(2, 10) * MINUTE))

    change_at = None
    if change_date is not None:
        changed = next(p for p in spec.people if p.new_planner is not None)
        change_at = sleep_of[changed.name][change_date - timedelta(days=1)][1]
    return Household(
        name=spec.name,
        seed=seed,
        tz=spec.tz,
        traits=spec.traits,
        start_ts=start_ts,
        end_ts=end_ts,
        devices=tuple(devices)
        + tuple(Device(f"person.{p.name}", None, None) for p in spec.people if spec.presence),
        changes=tuple(changes),
        edits=tuple(edits),
        entries=tuple(entries),
        restarts=tuple(sorted(restarts)),
        dated_helpers=spec.dated_helpers,
        sleep=tuple(household_sleep),
        nights=tuple(nights),
        change_at=change_at,
        change_night=change_date,
    )


def _everyone_away(aways: Sequence[Sequence[tuple[float, float]]]) -> list[tuple[float, float]]:
    """Intervals during which every person is away."""
    result = list(aways[0])
    for other in aways[1:]:
        result = [
            (max(a, c), min(b, d)) for a, b in result for c, d in other if max(a, c) < min(b, d)
        ]
    return sorted(result)


def _outages(
    devices: Sequence[Device], start: float, days: int, rng: np.random.Generator
) -> dict[str, list[tuple[float, float]]]:
    """A flat battery (one sensor, most of a day or two) and one or two radio dropouts."""
    radio = [d.entity_id for d in devices if d.radio]
    outages: dict[str, list[tuple[float, float]]] = {}
    flat = radio[int(rng.integers(len(radio)))]
    at = start + rng.uniform(8, days - 6) * DAY
    outages.setdefault(flat, []).append((at, at + rng.uniform(18, 40) * HOUR))
    for _ in range(int(rng.integers(1, 3))):
        at = start + rng.uniform(3, days - 2) * DAY
        span = (at, at + rng.uniform(1, 3) * HOUR)
        for entity_id in radio:
            outages.setdefault(entity_id, []).append(span)
    for entity_id, spans in outages.items():
        spans.sort()
        merged: list[tuple[float, float]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        outages[entity_id] = merged
    return outages


def _label_entries(
    spec: Spec,
    *,
    truths: dict[date, tuple[float, float]],
    sleep_of: dict[str, dict[date, tuple[float, float]]],
    zone: ZoneInfo,
    rng: np.random.Generator,
    end_ts: float,
) -> tuple[list[HelperEdit], list[EnteredLabel], dict[date, tuple[tuple[float, float], float]]]:
    """What the occupants type into the helpers: after the last one is up, now and then wrong.

    An entry sets the start helper, then the end helper a little later. A wrong bedtime (off by
    half an hour or more) is corrected the next evening by setting the start helper again.
    """
    edits: list[HelperEdit] = []
    entries: list[EnteredLabel] = []
    final: dict[date, tuple[tuple[float, float], float]] = {}
    for night_date, (bed, wake) in sorted(truths.items()):
        if rng.random() >= spec.label_share:
            continue
        last_up = max(sleep_of[p.name][night_date][1] for p in spec.people)
        entered = last_up + rng.uniform(5, 75) * MINUTE
        noted_bed = bed + rng.normal(0, 6) * MINUTE
        noted_wake = wake + rng.normal(0, 3) * MINUTE
        wrong = rng.random() < spec.correction_share
        typed_bed = noted_bed + (rng.choice([-1, 1]) * rng.uniform(35, 90) * MINUTE if wrong else 0)
        start_text = _fmt(typed_bed, zone, spec.dated_helpers, spec.round_minutes)
        end_text = _fmt(noted_wake, zone, spec.dated_helpers, spec.round_minutes)
        second = entered + rng.uniform(10, 60)
        if second >= end_ts:
            continue
        edits.append(HelperEdit(entered, SLEEP_START, start_text))
        edits.append(HelperEdit(second, SLEEP_END, end_text))
        meant = _meant(start_text, end_text, night_date, zone)
        entries.append(EnteredLabel(second, night_date, *meant))
        final[night_date] = (meant, second)
        if wrong:
            evening = datetime.combine(night_date + timedelta(days=1), time()).replace(tzinfo=zone)
            fix_at = evening.timestamp() + rng.uniform(19, 22.5) * HOUR
            fixed_text = _fmt(noted_bed, zone, spec.dated_helpers, spec.round_minutes)
            if fix_at < end_ts and fix_at > second:
                edits.append(HelperEdit(fix_at, SLEEP_START, fixed_text))
                fixed = _meant(fixed_text, end_text, night_date, zone)
                entries.append(EnteredLabel(fix_at, night_date, *fixed))
                final[night_date] = (fixed, fix_at)
    edits.sort(key=lambda e: e.ts)
    entries.sort(key=lambda e: e.entered_at)
    return edits, entries, final


def household(name: str, seed: int, days: int = DEFAULT_DAYS) -> Household:
    """The home of archetype `name` drawn from `seed`."""
    return simulate(ARCHETYPES[name](seed, days), seed)
