"""A simulated home (bench/households.py) moved to recent weeks, for the recorder and the detector.

The household simulator draws its homes around a DST switch in 2026; the recorder keeps only
recent days, so the home is moved forward by whole weeks in local wall-clock time (weekdays and
clock times stay as simulated). `DAYS` days of it are used, from local midnight of its first day.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from homeassistant.core import HomeAssistant

from bench.bench_nights import raw_events
from bench.households import Household, Night, StateChange, household
from custom_components.roomdb.ml.features import RawEvent

ARCHETYPE = "pet_owner"
SEED = 1
DAYS = 10
SIM_DAYS = 24


@dataclass(frozen=True, slots=True)
class Home:
    """`DAYS` days (and the morning after) of the simulated home, moved: [start, end)."""

    household: Household
    start: float
    end: float

    @property
    def tz(self) -> str:
        """The home's time zone."""
        return self.household.tz

    @property
    def changes(self) -> tuple[StateChange, ...]:
        """Its state changes in [start, end)."""
        return self.household.changes

    @property
    def nights(self) -> tuple[Night, ...]:
        """The simulator's truth of the nights that ended by `end`."""
        return self.household.nights

    def raw_events(self) -> list[RawEvent]:
        """The changes as RoomDB's raw events (as the suggested-nights bench reads them)."""
        return raw_events(self.household, self.end)


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

    changes = tuple(
        StateChange(moved(c.ts), c.entity_id, c.state) for c in sim.changes if c.ts < span_end
    )
    nights = tuple(
        replace(
            n,
            night_date=n.night_date + timedelta(weeks=weeks),
            bedtime=moved(n.bedtime),
            wake=moved(n.wake),
        )
        for n in sim.nights
        if n.wake <= span_end
    )
    home = replace(sim, changes=changes, nights=nights, start_ts=moved(sim.start_ts))
    return Home(home, moved(sim.start_ts), moved(span_end))


def simulated_home(days: int = DAYS) -> Home:
    """`days` days and a morning of the home at its simulated dates."""
    sim = simulated()
    return recent_home(sim.start_ts + days * 86400.0 + 12 * 3600.0, days)


def set_states(hass: HomeAssistant, home: Home) -> None:
    """Put the home's changes into Home Assistant's state machine at their own times."""
    classes = {d.entity_id: d.device_class for d in home.household.devices}
    for change in home.changes:
        device_class = classes.get(change.entity_id)
        attributes = {"device_class": device_class} if device_class else {}
        hass.states.async_set(change.entity_id, change.state, attributes, timestamp=change.ts)
