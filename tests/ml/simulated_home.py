"""A simulated home (bench/households.py) moved to recent weeks, for the recorder and the detector.

The household simulator draws its homes around a DST switch in 2026; the recorder keeps only
recent days, so the home is moved forward by whole weeks in local wall-clock time (weekdays and
clock times stay as simulated). `DAYS` days of it are used, from local midnight of its first day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from homeassistant.core import HomeAssistant

from bench.households import Household, household
from custom_components.roomdb.ml.features import RawEvent

ARCHETYPE = "pet_owner"
SEED = 1
DAYS = 10
SIM_DAYS = 24


@dataclass(frozen=True, slots=True)
class Change:
    """One state change, moved to recent weeks."""

    ts: float
    entity_id: str
    state: str
    device_class: str | None


@dataclass(frozen=True, slots=True)
class TruthNight:
    """The simulator's truth for one night, moved."""

    night_date: date
    bedtime: float
    wake: float


@dataclass(frozen=True, slots=True)
class Home:
    """`days` days of the simulated home ending before `before`."""

    tz: str
    start: float
    end: float
    changes: tuple[Change, ...]
    nights: tuple[TruthNight, ...]

    def raw_events(self) -> list[RawEvent]:
        """The changes as RoomDB's raw events (old state from the change before)."""
        last: dict[str, str] = {}
        events = []
        for change in self.changes:
            events.append(
                RawEvent(
                    change.entity_id,
                    change.entity_id.split(".")[0],
                    change.device_class,
                    None,
                    change.state,
                    last.get(change.entity_id),
                    round(change.ts, 6),
                )
            )
            last[change.entity_id] = change.state
        return events


@cache
def simulated() -> Household:
    """The home as simulated."""
    return household(ARCHETYPE, SEED, days=SIM_DAYS)


def recent_home(before: float, days: int = DAYS) -> Home:
    """`days` days and a morning of the home, moved by whole weeks to end before `before`."""
    sim = simulated()
    zone = ZoneInfo(sim.tz)
    span_end = sim.start_ts + days * 86400.0 + 12 * 3600.0
    weeks = int((before - span_end) // (7 * 86400.0))

    def moved(ts: float) -> float:
        local = datetime.fromtimestamp(ts, zone).replace(tzinfo=None) + timedelta(weeks=weeks)
        return round(local.replace(tzinfo=zone).timestamp(), 3)

    classes = {d.entity_id: d.device_class for d in sim.devices}
    changes = tuple(
        Change(moved(c.ts), c.entity_id, c.state, classes.get(c.entity_id))
        for c in sim.changes
        if c.ts < span_end
    )
    nights = tuple(
        TruthNight(n.night_date + timedelta(weeks=weeks), moved(n.bedtime), moved(n.wake))
        for n in sim.nights
        if n.wake <= span_end
    )
    return Home(sim.tz, moved(sim.start_ts), moved(span_end), changes, nights)


def simulated_home(days: int = DAYS) -> Home:
    """`days` days and a morning of the home at its simulated dates."""
    sim = simulated()
    return recent_home(sim.start_ts + days * 86400.0 + 12 * 3600.0, days)


def set_states(hass: HomeAssistant, changes: tuple[Change, ...]) -> None:
    """Put the changes into Home Assistant's state machine at their own times."""
    for change in changes:
        attributes = {"device_class": change.device_class} if change.device_class else {}
        hass.states.async_set(change.entity_id, change.state, attributes, timestamp=change.ts)
