"""Sleep labels from real input_datetime helpers: midnight, DST, edits, rejections logged once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.roomdb.ml.label_source import CHANGE_COOLDOWN
from custom_components.roomdb.ml.options import CONF_SLEEP_END_ENTITY, CONF_SLEEP_START_ENTITY

from .conftest import db, ml, run_pipeline
from .household import utc


@pytest.fixture
async def helpers(hass: HomeAssistant) -> None:
    """The two dashboard helpers, with date and time."""
    assert await async_setup_component(
        hass,
        "input_datetime",
        {
            "input_datetime": {
                "sleep_start": {"has_date": True, "has_time": True},
                "sleep_end": {"has_date": True, "has_time": True},
                "bed_time": {"has_date": False, "has_time": True},
                "wake_time": {"has_date": False, "has_time": True},
            }
        },
    )


async def set_helper(hass: HomeAssistant, entity_id: str, value: str) -> None:
    key = "datetime" if " " in value else "time"
    await hass.services.async_call(
        "input_datetime", "set_datetime", {"entity_id": entity_id, key: value}, blocking=True
    )


async def set_night(hass: HomeAssistant, start: str, end: str) -> None:
    await set_helper(hass, "input_datetime.sleep_start", start)
    await set_helper(hass, "input_datetime.sleep_end", end)


async def stored(entry: MockConfigEntry) -> list[tuple[Any, ...]]:
    rows = await db(entry).fetchall(
        "SELECT night_date, tz, start_utc, end_utc, source, updated_at FROM labels "
        "ORDER BY night_date"
    )
    return [tuple(row) for row in rows]


async def test_cross_midnight_night_is_stored_in_utc(
    hass: HomeAssistant, helpers: None, ml_entry: MockConfigEntry
) -> None:
    await set_night(hass, "2026-03-02 23:10:00", "2026-03-03 06:50:00")
    result = await run_pipeline(hass, ["labels"])
    assert result["labels"]["status"] == "ok"
    assert result["labels"]["night_date"] == "2026-03-02"
    assert result["labels"]["labeled_nights"] == 1
    ((night, tz, start, end, source, _),) = await stored(ml_entry)
    assert (night, tz, source) == ("2026-03-02", "Europe/Berlin", "input_datetime")
    assert start == utc("2026-03-02T22:10:00")  # CET is UTC+1
    assert end == utc("2026-03-03T05:50:00")
    assert ml(ml_entry).status.labeled_nights == 1
    assert ml(ml_entry).status.timestamps["last_label_at"] is not None


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        ("2026-03-28 23:00:00", "2026-03-29 07:00:00", 7),  # clocks go forward at 02:00
        ("2025-10-25 23:00:00", "2025-10-26 07:00:00", 9),  # clocks go back at 03:00
    ],
)
async def test_dst_nights_have_their_real_length(
    hass: HomeAssistant,
    helpers: None,
    ml_entry: MockConfigEntry,
    start: str,
    end: str,
    hours: int,
) -> None:
    await set_night(hass, start, end)
    await run_pipeline(hass, ["labels"])
    ((night, _, start_utc, end_utc, _, _),) = await stored(ml_entry)
    assert night == start[:10]
    assert end_utc - start_utc == hours * 3600


async def test_an_edit_replaces_that_nights_label(
    hass: HomeAssistant,
    helpers: None,
    ml_entry: MockConfigEntry,
    frozen: FrozenDateTimeFactory,
) -> None:
    await set_night(hass, "2026-03-02 23:10:00", "2026-03-03 06:50:00")
    await run_pipeline(hass, ["labels"])
    (first,) = await stored(ml_entry)
    again = await run_pipeline(hass, ["labels"])
    assert again["labels"]["detail"] == "label unchanged"
    assert await stored(ml_entry) == [first]

    frozen.tick(60)
    await set_helper(hass, "input_datetime.sleep_start", "2026-03-03 00:20:00")  # same night
    await run_pipeline(hass, ["labels"])
    (edited,) = await stored(ml_entry)
    assert edited[0] == "2026-03-02"
    assert edited[2] == utc("2026-03-02T23:20:00")
    assert edited[5] > first[5]

    await set_night(hass, "2026-03-03 22:45:00", "2026-03-04 06:30:00")  # the next night
    await run_pipeline(hass, ["labels"])
    assert [row[0] for row in await stored(ml_entry)] == ["2026-03-02", "2026-03-03"]
    assert ml(ml_entry).status.labeled_nights == 2


async def test_a_helper_change_stores_the_label_without_the_pipeline(
    hass: HomeAssistant,
    helpers: None,
    ml_entry: MockConfigEntry,
    frozen: FrozenDateTimeFactory,
) -> None:
    await set_night(hass, "2026-04-11 23:30:00", "2026-04-12 07:10:00")
    assert await stored(ml_entry) == []  # debounced: both helpers are usually set together
    frozen.tick(CHANGE_COOLDOWN + 1)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert [row[0] for row in await stored(ml_entry)] == ["2026-04-11"]
    assert ml(ml_entry).status.labeled_nights == 1
    state = hass.states.get("sensor.roomdb_ml_readiness")
    assert state is not None
    assert state.attributes["labeled_nights"] == 1


TIME_ONLY = {
    CONF_SLEEP_START_ENTITY: "input_datetime.bed_time",
    CONF_SLEEP_END_ENTITY: "input_datetime.wake_time",
}


async def edit(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, at: str, bed: str, wake: str
) -> None:
    """Set both time-only helpers at a UTC moment, one after the other, and let RoomDB read."""
    frozen.move_to(at_utc(at))
    await set_helper(hass, "input_datetime.bed_time", bed)
    frozen.tick(20)
    await set_helper(hass, "input_datetime.wake_time", wake)
    frozen.tick(CHANGE_COOLDOWN + 1)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def at_utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("entry_options", [TIME_ONLY])
@pytest.mark.parametrize("now_ts", [utc("2026-03-02T20:00:00")])
async def test_time_only_helpers_label_the_night_an_edit_names_and_only_then(
    hass: HomeAssistant,
    helpers: None,
    ml_entry: MockConfigEntry,
    frozen: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Fresh helpers hold 00:00 and 00:00: no label, and no warning about a 24-hour night.
    assert "too_long" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    result = await run_pipeline(hass, ["labels"])
    assert result["labels"]["reason"] == "waiting_for_edit"

    # Monday night, entered on Tuesday morning at 08:00 Berlin.
    await edit(hass, frozen, "2026-03-03T07:00:00", "23:30:00", "07:15:00")
    assert [row[0] for row in await stored(ml_entry)] == ["2026-03-02"]
    ((_, _, start, end, _, _),) = await stored(ml_entry)
    assert (start, end) == (utc("2026-03-02T22:30:00"), utc("2026-03-03T06:15:00"))

    # Nobody enters Tuesday night: every run over the next day leaves it unlabelled.
    for hour in ("2026-03-04T07:00:00", "2026-03-04T12:00:00", "2026-03-04T20:00:00"):
        frozen.move_to(at_utc(hour))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        await run_pipeline(hass, ["labels"])
    assert [row[0] for row in await stored(ml_entry)] == ["2026-03-02"]

    # Wednesday morning: the same times again (the helpers do not change, HA reports the set).
    await edit(hass, frozen, "2026-03-05T07:00:00", "23:30:00", "07:15:00")
    assert [row[0] for row in await stored(ml_entry)] == ["2026-03-02", "2026-03-04"]

    # Thursday evening the bedtime of Wednesday night is corrected: it reaches that night.
    frozen.move_to(at_utc("2026-03-05T19:00:00"))
    await set_helper(hass, "input_datetime.bed_time", "00:10:00")
    frozen.tick(CHANGE_COOLDOWN + 1)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    rows = {row[0]: row for row in await stored(ml_entry)}
    assert sorted(rows) == ["2026-03-02", "2026-03-04"]
    assert rows["2026-03-04"][2] == utc("2026-03-04T23:10:00")

    # A restart brings the helpers back; that is nobody's edit and labels nothing.
    assert await hass.config_entries.async_reload(ml_entry.entry_id)
    frozen.move_to(at_utc("2026-03-06T08:00:00"))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    await run_pipeline(hass, ["labels"])
    assert sorted(row[0] for row in await stored(ml_entry)) == ["2026-03-02", "2026-03-04"]


async def test_a_night_not_over_yet_is_not_stored(
    hass: HomeAssistant, helpers: None, ml_entry: MockConfigEntry
) -> None:
    now = datetime.now(UTC).astimezone()
    await set_night(
        hass,
        (now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:00"),
        (now + timedelta(hours=6)).strftime("%Y-%m-%d %H:%M:00"),
    )
    result = await run_pipeline(hass, ["labels"])
    assert result["labels"]["status"] == "skipped"
    assert result["labels"]["reason"] == "night_not_over"
    assert await stored(ml_entry) == []


@pytest.mark.parametrize(
    "entry_options",
    [{CONF_SLEEP_START_ENTITY: "input_datetime.bed", CONF_SLEEP_END_ENTITY: "input_datetime.up"}],
)
async def test_rejections_are_logged_once_with_their_reason(
    hass: HomeAssistant, ml_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.roomdb.ml")
    for _ in range(3):
        result = await run_pipeline(hass, ["labels"])
    assert result["labels"]["reason"] == "start_unset"
    logged = [
        r
        for phase in ("setup", "call")
        for r in caplog.get_records(phase)  # type: ignore[arg-type]
        if "No sleep label" in r.getMessage()
    ]
    assert len(logged) == 1  # by the refresh after setup; the three runs repeat nothing

    hass.states.async_set("input_datetime.bed", "tomorrow-ish")
    hass.states.async_set("input_datetime.up", "2026-03-03 07:00:00")
    caplog.clear()
    for _ in range(3):
        result = await run_pipeline(hass, ["labels"])
    assert result["labels"]["reason"] == "start_invalid"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "start_invalid" in warnings[0].getMessage()
    assert ml(ml_entry).status.last_label_rejection == "start_invalid"
    assert await stored(ml_entry) == []

    hass.states.async_set("input_datetime.bed", "2026-03-02 23:00:00")
    result = await run_pipeline(hass, ["labels"])
    assert result["labels"]["status"] == "ok"
    assert ml(ml_entry).status.last_label_rejection is None
