"""The sleep timeline and labels entered in the panel, over the WebSocket API."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.roomdb.ml.label_source import CHANGE_COOLDOWN, LABEL_SOURCE
from tests.ml.conftest import db, label_rows, ml, run_pipeline, store_events, store_labels
from tests.ml.household import household, utc

from .conftest import Ws

# The entry loads before the WebSocket client starts HA's HTTP app (routes freeze then).
pytestmark = pytest.mark.usefixtures("ml_entry")

HOME = household()


async def test_the_timeline_lists_fourteen_nights_with_labels_before_a_model(
    ws: Ws, ml_entry: MockConfigEntry
) -> None:
    await store_labels(db(ml_entry), HOME.labels())

    timeline = await ws.result("roomdb/sleep/nights")

    nights = timeline["nights"]
    assert len(nights) == 14
    assert timeline["model_run_id"] is None
    assert timeline["time_zone"] == "Europe/Berlin"
    assert timeline["helpers"] == {
        "sleep_start": "input_datetime.sleep_start",
        "sleep_end": "input_datetime.sleep_end",
    }
    last = date.fromisoformat(nights[-1]["night_date"])
    assert [date.fromisoformat(n["night_date"]) for n in nights] == [
        last - timedelta(days=13 - i) for i in range(14)
    ]
    assert nights[-1]["ended"] is False
    assert all(night["ended"] for night in nights[:-1])
    labels = {label.night_date: label for label in HOME.labels()}
    for night in nights:
        assert night["windows"] == []
        assert night["bedtime_estimate"] is None
        label = labels.get(date.fromisoformat(night["night_date"]))
        if label is None:
            assert night["label"] is None
        else:
            assert night["label"]["source"] == "test"
            start = datetime.fromisoformat(night["label"]["start"]).timestamp()
            assert start == label.start_utc
    assert len((await ws.result("roomdb/sleep/nights", nights=3))["nights"]) == 3


async def test_a_trained_model_gives_each_night_probabilities_and_an_estimate(
    hass: HomeAssistant, ws: Ws, ml_entry: MockConfigEntry
) -> None:
    database = db(ml_entry)
    await store_events(database, HOME.events)
    await store_labels(database, HOME.labels())
    result = await run_pipeline(hass, ["features", "train"])
    assert result["train"]["status"] == "ok"

    timeline = await ws.result("roomdb/sleep/nights")

    assert timeline["model_run_id"] == result["train"]["run_id"]
    truth = {night.night_date: night for night in HOME.nights}
    close = 0
    ended = [night for night in timeline["nights"] if night["ended"]]
    for night in ended:
        assert len(night["windows"]) >= 90  # 96 quarter hours from noon to noon
        assert night["max_probability"] > 0.9
        real = truth[date.fromisoformat(night["night_date"])]
        bedtime = datetime.fromisoformat(night["bedtime_estimate"]).timestamp()
        if night["wake_estimate"] is None:
            # No wake time without a sign of waking: the household's last morning has no events.
            assert not any(real.wake_utc <= e.ts for e in HOME.events)
            continue
        wake = datetime.fromisoformat(night["wake_estimate"]).timestamp()
        if abs(bedtime - real.bedtime_utc) <= 3600 and abs(wake - real.wake_utc) <= 3600:
            close += 1
    assert close >= len(ended) - 2, f"{close} of {len(ended)} estimates within an hour"


async def test_a_label_entered_in_the_panel_is_stored_and_counted(
    ws: Ws, ml_entry: MockConfigEntry
) -> None:
    stored = await ws.result(
        "roomdb/sleep/label_set",
        night_date="2026-04-10",
        bedtime="2026-04-10T22:30:00",
        wake="2026-04-11T06:45:00",
    )

    # Berlin is on summer time (UTC+2) in April: local times without offset are local.
    assert stored["start"] == "2026-04-10T20:30:00+00:00"
    assert stored["end"] == "2026-04-11T04:45:00+00:00"
    assert stored["changed"] is True
    assert stored["helpers_updated"] is False
    assert await label_rows(ml_entry) == [
        ("2026-04-10", utc("2026-04-10 20:30"), utc("2026-04-11 04:45"), "panel")
    ]
    assert ml(ml_entry).status.labeled_nights == 1
    timeline = await ws.result("roomdb/sleep/nights")
    night = next(n for n in timeline["nights"] if n["night_date"] == "2026-04-10")
    assert night["label"]["source"] == "panel"

    corrected = await ws.result(
        "roomdb/sleep/label_set",
        night_date="2026-04-10",
        bedtime="2026-04-10T23:10:00+02:00",
        wake="2026-04-11T07:00:00+02:00",
    )
    assert corrected["start"] == "2026-04-10T21:10:00+00:00"
    rows = await label_rows(ml_entry)
    assert [(row[0], row[1]) for row in rows] == [("2026-04-10", utc("2026-04-10 21:10"))]


@pytest.mark.parametrize(
    ("night", "bedtime", "wake", "key", "words"),
    [
        ("2026-04-10", "2026-04-11T23:00", "2026-04-12T07:00", "label_wrong_night", "2026-04-11"),
        ("2026-04-13", "2026-04-13T23:00", "2026-04-14T07:00", "label_night_not_over", "not ended"),
        ("2026-04-10", "2026-04-10T23:00", "2026-04-10T23:30", "label_rejected", "too short"),
        ("2026-04-10", "2026-04-11T07:00", "2026-04-10T23:00", "label_rejected", "not after"),
        ("2026-04-10", "2026-04-10T18:00", "2026-04-11T12:00", "label_rejected", "too long"),
    ],
)
async def test_labels_that_cannot_be_right_are_refused_and_change_nothing(
    ws: Ws, ml_entry: MockConfigEntry, night: str, bedtime: str, wake: str, key: str, words: str
) -> None:
    await store_labels(db(ml_entry), HOME.labels()[-3:])
    before = await label_rows(ml_entry)

    answer = await ws.send("roomdb/sleep/label_set", night_date=night, bedtime=bedtime, wake=wake)

    assert answer["error"]["code"] == "service_validation_error"
    assert answer["error"]["translation_key"] == key
    assert words in answer["error"]["message"]
    assert await label_rows(ml_entry) == before


async def test_helpers_describing_the_night_follow_the_correction(
    hass: HomeAssistant, ws: Ws, ml_entry: MockConfigEntry, frozen: FrozenDateTimeFactory
) -> None:
    helper = {"has_date": True, "has_time": True}
    assert await async_setup_component(
        hass, "input_datetime", {"input_datetime": {"sleep_start": helper, "sleep_end": helper}}
    )
    for entity_id, value in (
        ("input_datetime.sleep_start", "2026-04-11 23:00:00"),
        ("input_datetime.sleep_end", "2026-04-12 07:00:00"),
    ):
        await hass.services.async_call(
            "input_datetime", "set_datetime", {"entity_id": entity_id, "datetime": value}, True
        )
    frozen.tick(CHANGE_COOLDOWN + 1)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert await label_rows(ml_entry) == [
        ("2026-04-11", utc("2026-04-11 21:00"), utc("2026-04-12 05:00"), LABEL_SOURCE)
    ]

    stored = await ws.result(
        "roomdb/sleep/label_set",
        night_date="2026-04-11",
        bedtime="2026-04-11T22:15",
        wake="2026-04-12T06:30",
    )
    frozen.tick(CHANGE_COOLDOWN + 1)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert stored["helpers_updated"] is True
    assert hass.states.get("input_datetime.sleep_start").state == "2026-04-11 22:15:00"
    assert hass.states.get("input_datetime.sleep_end").state == "2026-04-12 06:30:00"
    # The helpers' own reading now agrees with the panel's label instead of undoing it.
    assert await label_rows(ml_entry) == [
        ("2026-04-11", utc("2026-04-11 20:15"), utc("2026-04-12 04:30"), "panel")
    ]
