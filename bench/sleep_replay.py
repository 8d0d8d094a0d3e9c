"""Replay a simulated home through a real Home Assistant with RoomDB loaded, as a home would run.

The home's areas and entities go into HA's registries, its sleep helpers are real
`input_datetime` helpers set through their service, every device state change goes through the
state machine at its own (frozen) time, and RoomDB's own timers fire: the 15-minute refresh, the
nightly run at 04:30 local time and the helpers' debounce. Home Assistant restarts are an unload
of RoomDB's entry for the downtime and a setup afterwards, with every device reporting its state
again. Nothing of RoomDB is called directly.

What RoomDB publishes is recorded: every `roomdb_ml_result` event, and after each timer the
state of the watched entities (the values a user or an automation would have seen).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import area_registry as ar, entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from bench.households import Household
from custom_components.roomdb.ml.label_source import CHANGE_COOLDOWN

ROOMDB: Final = "roomdb"
EVENT_ML_RESULT: Final = "roomdb_ml_result"
REFRESH_SECOND: Final = 20
NIGHTLY: Final = time(4, 30)
DEBOUNCE_WAIT: Final = CHANGE_COOLDOWN + 0.5
WATCHED_PREFIXES: Final = ("sensor.roomdb_", "binary_sensor.roomdb_")
WATCHED_SKIP: Final = frozenset(
    {
        "sensor.roomdb_database",
        "sensor.roomdb_devices",
        "sensor.roomdb_entities",
        "sensor.roomdb_integrations",
    }
)


@dataclass(slots=True)
class Record:
    """What RoomDB published during the replay."""

    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    states: list[tuple[float, dict[str, tuple[str, dict[str, Any]]]]] = field(default_factory=list)

    def sleep_probabilities(self) -> dict[float, float]:
        """P(asleep) RoomDB published per window start (the last one published wins)."""
        out: dict[float, float] = {}
        for _, data in self.events:
            if data.get("kind") == "sleep":
                start = datetime.fromisoformat(str(data["window_start"])).timestamp()
                out[start] = float(data["probability"])
        return out

    def changepoint_events(self) -> list[tuple[float, dict[str, Any]]]:
        """The detector's updates, with the time each was published."""
        return [(ts, data) for ts, data in self.events if data.get("kind") == "changepoint"]


def _ticks(home: Household) -> list[tuple[float, str]]:
    """RoomDB's timer instants: every 15 minutes (20 s past) and 04:30 local every day."""
    zone = ZoneInfo(home.tz)
    ticks: list[tuple[float, str]] = []
    first = (int(home.start_ts) // 900 + 1) * 900 + REFRESH_SECOND
    ticks += [(float(t), "refresh") for t in range(first, int(home.end_ts), 900)]
    day = datetime.fromtimestamp(home.start_ts, zone).date()
    while True:
        at = datetime.combine(day, NIGHTLY).replace(tzinfo=zone).timestamp()
        if at >= home.end_ts:
            break
        if at > home.start_ts:
            ticks.append((at, "nightly"))
        day += timedelta(days=1)
    return ticks


async def setup_home(hass: HomeAssistant, home: Household) -> None:
    """Time zone, areas, registered entities and the sleep helpers of the home."""
    await hass.config.async_set_time_zone(home.tz)
    areas = ar.async_get(hass)
    entities = er.async_get(hass)
    for area in sorted({d.area for d in home.devices if d.area is not None}):
        if areas.async_get_area(area) is None:
            areas.async_create(area.replace("_", " "))
    for device in home.devices:
        domain, object_id = device.entity_id.split(".", 1)
        entry = entities.async_get_or_create(
            domain, "harness", object_id, suggested_object_id=object_id
        )
        assert entry.entity_id == device.entity_id, entry.entity_id
        if device.area is not None:
            entities.async_update_entity(entry.entity_id, area_id=device.area)
    helper = {"has_date": home.dated_helpers, "has_time": True}
    assert await async_setup_component(
        hass,
        "input_datetime",
        {"input_datetime": {"sleep_start": helper, "sleep_end": helper}},
    )


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


async def replay(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home: Household,
    entry: MockConfigEntry,
    *,
    progress: Callable[[date], None] | None = None,
) -> Record:
    """Run the home through `hass` from its start to its end; `entry` is RoomDB's entry."""
    record = Record()
    freezer.move_to(_at(home.start_ts - 60))
    await setup_home(hass, home)

    def on_result(event: Event[dict[str, Any]]) -> None:
        record.events.append((event.time_fired_timestamp, dict(event.data)))

    hass.bus.async_listen(EVENT_ML_RESULT, on_result)
    attributes = {d.entity_id: d.device_class for d in home.devices}
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    timeline: list[tuple[float, int, str, Any]] = []
    timeline += [(c.ts, 1, "state", c) for c in home.changes]
    timeline += [(e.ts, 2, "edit", e) for e in home.edits]
    timeline += [(e.ts + DEBOUNCE_WAIT, 3, "timer", None) for e in home.edits]
    timeline += [(ts, 3, "timer", kind) for ts, kind in _ticks(home)]
    for down, up in home.restarts:
        timeline += [(down, 0, "down", None), (up, 0, "up", None)]
    timeline.sort(key=lambda item: (item[0], item[1]))

    current: dict[str, str] = {}
    running = True
    last_day: date | None = None
    zone = ZoneInfo(home.tz)
    for ts, _, kind, item in timeline:
        freezer.move_to(_at(ts))
        if kind == "state":
            current[item.entity_id] = item.state
            if running:
                device_class = attributes.get(item.entity_id)
                hass.states.async_set(
                    item.entity_id,
                    item.state,
                    {"device_class": device_class} if device_class else None,
                )
        elif kind == "edit":
            # A value with a date goes in `datetime`, a clock time in `time`.
            key = "datetime" if len(item.value) > 8 else "time"
            await hass.services.async_call(
                "input_datetime",
                "set_datetime",
                {"entity_id": item.entity_id, key: item.value},
                blocking=True,
            )
        elif kind == "timer":
            async_fire_time_changed(hass, _at(ts))
            await hass.async_block_till_done(wait_background_tasks=True)
            if running and item is not None:
                record.states.append((ts, _watched(hass)))
        elif kind == "down":
            running = False
            assert await hass.config_entries.async_unload(entry.entry_id)
            for entity_id in current:
                hass.states.async_remove(entity_id)
            await hass.async_block_till_done(wait_background_tasks=True)
        elif kind == "up":
            running = True
            assert await hass.config_entries.async_setup(entry.entry_id)
            for entity_id, state in current.items():
                device_class = attributes.get(entity_id)
                hass.states.async_set(
                    entity_id, state, {"device_class": device_class} if device_class else None
                )
            await hass.async_block_till_done(wait_background_tasks=True)
        day = datetime.fromtimestamp(ts, zone).date()
        if progress is not None and day != last_day:
            progress(day)
            last_day = day
    await hass.async_block_till_done(wait_background_tasks=True)
    return record


def _watched(hass: HomeAssistant) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        state.entity_id: (state.state, dict(state.attributes))
        for state in hass.states.async_all(("sensor", "binary_sensor"))
        if state.entity_id.startswith(WATCHED_PREFIXES) and state.entity_id not in WATCHED_SKIP
    }
