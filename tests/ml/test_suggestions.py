"""Suggested nights in Home Assistant: the entity, `confirm_night`, the panel command, training.

A suggestion is never a label until confirmed; a confirmed (or corrected) one is a label like any
other, with its source; bad input is refused with a translated error and writes nothing; the
model trains as soon as enough nights are confirmed. The slow test runs the whole way on the
simulated home: suggestions for ten days, five confirmed, the model judged on the next three.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
import statistics
from typing import Any
from zoneinfo import ZoneInfo

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.roomdb.const import DOMAIN
from custom_components.roomdb.ml import store
from custom_components.roomdb.ml.features import FEATURE_SET_VERSION, RawEvent
from custom_components.roomdb.ml.nights import Suggestion
from custom_components.roomdb.ml.options import CONF_MIN_NIGHTS, CONF_TRAIN_ON_SUGGESTIONS
from custom_components.roomdb.panel.timeline import window_probabilities

from .conftest import db, label_rows, ml, run_pipeline, store_events, table_counts
from .simulated_home import DAYS, Home, simulated_home

SENSOR = "sensor.roomdb_nights_to_confirm"
READINESS = "sensor.roomdb_ml_readiness"
HOUR = 3600.0

HOME = simulated_home(DAYS + 3)
"""Ten days to suggest and confirm, and three more to judge the model on."""


@pytest.fixture
async def berlin(hass: HomeAssistant) -> None:
    """The simulated home's own time zone (the shared fixture's name, so `ml_entry` uses it)."""
    await hass.config.async_set_time_zone(HOME.tz)


@pytest.fixture
def now_ts() -> float:
    """Half an hour after the simulated span."""
    return HOME.end + 1800.0


def _night(index: int) -> date:
    return HOME.nights[index].night_date


def _suggestions(count: int) -> list[Suggestion]:
    """Suggestions at the truth of the first nights, shifted by 10 minutes."""
    return [
        Suggestion(n.night_date, n.bedtime + 600.0, n.wake - 600.0, 0.8)
        for n in HOME.nights[:count]
    ]


async def _confirm(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "confirm_night", data, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    return response


async def test_suggestions_are_shown_and_confirmed_or_corrected(
    hass: HomeAssistant, ml_entry: MockConfigEntry
) -> None:
    database = db(ml_entry)
    await store.async_write_suggestions(database, _suggestions(3))
    await ml(ml_entry).pipeline.async_refresh_suggestions()
    await hass.async_block_till_done()
    sensor = hass.states.get(SENSOR)
    assert sensor is not None
    assert sensor.state == "3"
    assert sensor.attributes["night"] == _night(2).isoformat()
    assert [item["night_date"] for item in sensor.attributes["pending"]] == [
        _night(i).isoformat() for i in range(3)
    ]
    assert sensor.attributes["nights_needed"] == 5
    assert await label_rows(ml_entry) == []  # a suggestion is no label

    confirmed = await _confirm(hass, night_date=_night(0).isoformat())
    assert confirmed["source"] == "suggestion"
    assert confirmed["labeled_nights"] == 1
    assert confirmed["nights_needed"] == 4
    wake = datetime.fromtimestamp(HOME.nights[1].wake, ZoneInfo(HOME.tz)).replace(tzinfo=None)
    corrected = await _confirm(hass, night_date=_night(1).isoformat(), wake=wake.isoformat(sep=" "))
    assert corrected["source"] == "suggestion_corrected"

    first, second = _suggestions(2)
    assert await label_rows(ml_entry) == [
        (_night(0).isoformat(), first.bedtime, first.wake, "suggestion"),
        (_night(1).isoformat(), second.bedtime, HOME.nights[1].wake, "suggestion_corrected"),
    ]
    # Through the training contract view like any other label.
    row = await database.fetchone(
        "SELECT COUNT(DISTINCT night_date) FROM vw_clr_training_dataset_v2"
    )
    assert row is not None
    await hass.async_block_till_done()
    sensor = hass.states.get(SENSOR)
    assert sensor is not None
    assert sensor.state == "1"
    readiness = hass.states.get(READINESS)
    assert readiness is not None
    assert readiness.attributes["labeled_nights"] == 2
    assert readiness.attributes["nights_needed"] == 3


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"night_date": "yesterday"}, "invalid_input"),
        ({"night_date": 20260101}, "invalid_input"),
        ({"night_date": "2026-01-01"}, "no_suggestion"),
        ({"night_date": None, "bedtime": "23:00"}, "invalid_input"),
        ({"bedtime": "late"}, "invalid_input"),
        ({"wake": "2026-13-01 07:00"}, "invalid_input"),
        ({"wake": "NIGHT-1 11:00"}, "label_rejected"),
        ({"bedtime": "NIGHT+1 13:00", "wake": "NIGHT+1 15:30"}, "label_wrong_night"),
    ],
)
async def test_bad_confirmations_are_refused_and_write_nothing(
    hass: HomeAssistant, ml_entry: MockConfigEntry, data: dict[str, Any], key: str
) -> None:
    database = db(ml_entry)
    await store.async_write_suggestions(database, _suggestions(1))
    night = _night(0)
    data = {
        "night_date": night.isoformat(),
        **{
            name: value.replace("NIGHT-1", (night - timedelta(days=1)).isoformat()).replace(
                "NIGHT+1", (night + timedelta(days=1)).isoformat()
            )
            if isinstance(value, str)
            else value
            for name, value in data.items()
        },
    }
    before = await table_counts(database)
    with pytest.raises(ServiceValidationError) as err:
        await _confirm(hass, **data)
    assert err.value.translation_key == key
    assert await table_counts(database) == before


async def test_the_panel_confirms_through_the_same_path(
    hass: HomeAssistant, ml_entry: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    # The entry (and the frozen clock) before the client: its token is issued at that time.
    await store.async_write_suggestions(db(ml_entry), _suggestions(2))
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "roomdb/sleep/nights", "nights": 40})
    timeline = (await client.receive_json())["result"]
    by_night = {night["night_date"]: night for night in timeline["nights"]}
    suggested = by_night[_night(0).isoformat()]["suggestion"]
    assert suggested["confidence"] == 0.8
    assert suggested["confirmed"] is False

    await client.send_json_auto_id(
        {"type": "roomdb/sleep/suggestion_confirm", "night_date": _night(0).isoformat()}
    )
    reply = await client.receive_json()
    assert reply["success"], reply
    assert reply["result"]["source"] == "suggestion"
    await client.send_json_auto_id(
        {"type": "roomdb/sleep/suggestion_confirm", "night_date": "2020-01-01"}
    )
    refused = await client.receive_json()
    assert not refused["success"]
    assert refused["error"]["translation_key"] == "no_suggestion"
    await client.send_json_auto_id(
        {"type": "roomdb/sleep/suggestion_confirm", "night_date": "not a date"}
    )
    assert not (await client.receive_json())["success"]
    assert [row[3] for row in await label_rows(ml_entry)] == ["suggestion"]

    await client.send_json_auto_id({"type": "roomdb/sleep/nights", "nights": 40})
    timeline = (await client.receive_json())["result"]
    by_night = {night["night_date"]: night for night in timeline["nights"]}
    assert by_night[_night(0).isoformat()]["suggestion"]["confirmed"] is True
    assert by_night[_night(0).isoformat()]["label"]["source"] == "suggestion"


@pytest.mark.parametrize(
    ("entry_options", "nights"), [({CONF_TRAIN_ON_SUGGESTIONS: True}, DAYS), ({}, 0)]
)
async def test_training_on_unconfirmed_suggestions_is_an_opt_in(
    hass: HomeAssistant, ml_entry: MockConfigEntry, nights: int
) -> None:
    database = db(ml_entry)
    await store_events(database, HOME.raw_events())
    await store.async_write_suggestions(database, _suggestions(DAYS))
    result = await run_pipeline(hass, ["features", "train"])
    assert result["train"]["nights"] == nights
    assert result["train"]["status"] == ("ok" if nights else "not_ready")
    assert await label_rows(ml_entry) == []


def _truth_asleep(home: Home, start: float, end: float) -> bool:
    covered = sum(max(0.0, min(end, n.wake) - max(start, n.bedtime)) for n in home.nights)
    return covered >= (end - start) / 2


@pytest.mark.slow
async def test_ten_days_suggested_five_confirmed_the_model_holds_on_the_next_three(
    hass: HomeAssistant, ml_entry: MockConfigEntry
) -> None:
    database = db(ml_entry)
    events: list[RawEvent] = HOME.raw_events()
    await store_events(database, events)
    result = await run_pipeline(hass, ["ingest", "features", "suggestions"])
    assert result["suggestions"]["status"] == "ok"

    ten = {n.night_date: n for n in HOME.nights[:DAYS]}
    found = {
        s.suggestion.night_date: s.suggestion
        for s in await store.async_suggestions(database, min(ten))
    }
    bed = statistics.median(abs(found[d].bedtime - n.bedtime) / 60 for d, n in ten.items())
    wake = statistics.median(abs(found[d].wake - n.wake) / 60 for d, n in ten.items())
    print(f"suggested nights: bedtime median error {bed:.1f} min, wake {wake:.1f} min")  # noqa: T201
    assert bed <= 20.0
    assert wake <= 20.0

    # The user confirms the five newest of the ten days' suggestions, as the entity lists them.
    sensor = hass.states.get(SENSOR)
    assert sensor is not None
    pending = [p["night_date"] for p in sensor.attributes["pending"]]
    chosen = [night for night in pending if date.fromisoformat(night) in ten][-5:]
    for night in chosen:
        await _confirm(hass, night_date=night)
    await hass.async_block_till_done(wait_background_tasks=True)
    readiness = hass.states.get(READINESS)
    assert readiness is not None
    assert readiness.state == "trained", readiness.attributes
    assert readiness.attributes["nights_needed"] == 0

    newest = await store.async_latest_artifact(database)
    assert newest is not None
    judged_from = HOME.nights[DAYS - 1].wake + HOUR
    records = await store.async_feature_records(
        database, FEATURE_SET_VERSION, judged_from - 2 * 86400.0
    )
    windows = [
        w
        for w in window_probabilities(newest[1], records)
        if judged_from <= w.start and w.end <= HOME.end
    ]
    threshold = ml(ml_entry).settings.asleep_threshold
    right = np.array(
        [(w.probability >= threshold) == _truth_asleep(HOME, w.start, w.end) for w in windows]
    )
    accuracy = float(right.mean())
    print(f"whole-day accuracy over the next {len(windows)} windows: {accuracy:.3f}")  # noqa: T201
    assert len(windows) >= 3 * 90
    assert accuracy >= 0.9


async def test_the_model_trains_as_soon_as_enough_nights_are_confirmed(
    hass: HomeAssistant, ml_entry: MockConfigEntry
) -> None:
    database = db(ml_entry)
    await store_events(database, HOME.raw_events())
    await run_pipeline(hass, ["features"])
    truth = [Suggestion(n.night_date, n.bedtime, n.wake, 0.9) for n in HOME.nights[:DAYS]]
    await store.async_write_suggestions(database, truth)
    for night in truth[:4]:
        await _confirm(hass, night_date=night.night_date.isoformat())
    await hass.async_block_till_done(wait_background_tasks=True)
    assert (await store.async_latest_clr_run(database)) is None  # 4 of 5: nothing tried
    await _confirm(hass, night_date=truth[4].night_date.isoformat())
    await hass.async_block_till_done(wait_background_tasks=True)
    run = await store.async_latest_clr_run(database)
    assert run is not None
    assert run.n_nights == 5
    assert ml(ml_entry).status.nights_needed == 0
    assert ml_entry.options.get(CONF_MIN_NIGHTS) is None  # the default: five nights
