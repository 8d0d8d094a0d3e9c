"""The pipeline on a real database: features, training gates, CLR vs naive Bayes, BOCPD resume."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
import json
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.roomdb.db.schema import MIGRATIONS
from custom_components.roomdb.ml import store
from custom_components.roomdb.ml.bocpd import BocpdConfig
from custom_components.roomdb.ml.changepoints import (
    MODEL_KEY,
    TrackerState,
    advance,
    daily_profiles,
    dimension_names,
)
from custom_components.roomdb.ml.clr import ClrArtifact, NotReady
from custom_components.roomdb.ml.episodes import Episode
from custom_components.roomdb.ml.features import (
    FEATURE_SET_VERSION,
    align_window,
    compute_features,
    feature_rows_from_long,
)
from custom_components.roomdb.ml.pairing import (
    DOOR_LAST_COLUMN,
    design_columns,
    rooms_of_columns,
)
from custom_components.roomdb.ml.pipeline import (
    EVENT_ML_RESULT,
    STAGES,
    TRACKER_RUN_LENGTHS,
    ordered_stages,
)
from custom_components.roomdb.ml.services import parse_stages
from custom_components.roomdb.ml.training import (
    Inference,
    clr_config,
    infer_latest,
    rooms_of,
    select_rooms,
    train_from_records,
)

from .conftest import at, db, ml, run_pipeline, store_events, store_labels, table_counts
from .household import household, household_features, utc

HOME = household()
FEATURES = ["ingest", "features"]


async def feature_records(entry: MockConfigEntry) -> list[store.FeatureRecord]:
    return await store.async_feature_records(db(entry), FEATURE_SET_VERSION)


async def test_features_from_stored_events_equal_the_pure_computation(
    hass: HomeAssistant, ml_entry: MockConfigEntry
) -> None:
    await store_events(db(ml_entry), HOME.events)
    result = await run_pipeline(hass, FEATURES)
    first = align_window(HOME.events[0].ts)
    end = align_window(HOME.end_utc)
    assert result["features"]["status"] == "ok"
    assert result["features"]["windows"] == round((end - first) / 900)
    assert result["features"]["rooms"] == len(HOME.rooms)
    stored = feature_rows_from_long(await feature_records(ml_entry))
    expected = compute_features(HOME.events, first, end, tz=HOME.tz, rooms=HOME.rooms)
    assert stored == expected
    assert await db(ml_entry).get_metadata("feature_set_version") == str(FEATURE_SET_VERSION)

    # Recomputing gives identical values (only computed_at moves); the carried-in state of lights
    # and media players comes from the stored events before the first recomputed window.
    await db(ml_entry).execute_write(
        "DELETE FROM ml_features WHERE window_start >= ?", (end - 2.5 * 86400,)
    )
    redo = await run_pipeline(hass, ["features"])
    assert redo["features"]["windows"] == 2.5 * 96 + 1
    assert feature_rows_from_long(await feature_records(ml_entry)) == expected
    again = await run_pipeline(hass, ["features"])
    assert again["features"]["windows"] == 1  # only the newest window is redone
    assert feature_rows_from_long(await feature_records(ml_entry)) == expected


async def test_features_need_events_and_a_complete_window(
    hass: HomeAssistant, ml_entry: MockConfigEntry, frozen: FrozenDateTimeFactory
) -> None:
    result = await run_pipeline(hass, ["features", "train", "bocpd", "inference"])
    assert result["features"] == {"status": "skipped", "detail": "no raw events yet", "rows": 0}
    assert result["train"]["status"] == "skipped"
    assert result["bocpd"]["status"] == "skipped"
    assert result["inference"]["status"] == "not_ready"
    hass.states.async_set("light.desk", "on")
    await hass.async_block_till_done()
    assert (await run_pipeline(hass, FEATURES))["features"]["status"] == "skipped"
    frozen.tick(900)
    async_fire_time_changed(hass)  # the 15-minute refresh computes the new window
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await store.async_feature_watermark(db(ml_entry), FEATURE_SET_VERSION) == align_window(
        HOME.end_utc
    )


async def test_training_gate_holds_until_enough_nights_then_beats_naive_bayes(
    hass: HomeAssistant, ml_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    database = db(ml_entry)
    labels = HOME.labels()
    await store_events(database, HOME.events)
    # Six nights, two of which overlap (a mistyped date): those two are left out, with a warning.
    overlapping = replace(labels[5], start_utc=labels[4].end_utc - 3600)
    await store_labels(database, [*labels[:5], overlapping])
    result = await run_pipeline(hass, ["ingest", "features", "train"])
    assert result["train"]["status"] == "not_ready"
    assert result["train"]["code"] == "not_enough_nights"
    assert result["train"]["nights"] == 4
    assert caplog.text.count("are not used for training (overlap)") == 1
    state = hass.states.get("sensor.roomdb_ml_readiness")
    assert state is not None
    assert state.state == "not_enough_nights"
    assert state.attributes["paired_nights"] == 4
    assert state_of(hass, "sensor.roomdb_last_training") == "unknown"
    assert (await run_pipeline(hass, ["train"]))["train"]["status"] == "skipped"  # nothing new

    await store_labels(database, labels)
    result = await run_pipeline(hass, ["train", "inference"])
    train = result["train"]
    assert train["status"] == "ok", train
    assert train["nights"] == len(labels)
    metrics = train["metrics"]
    assert metrics["n_validation_nights"] == 8
    assert metrics["auc"] > metrics["nb_auc"]
    assert metrics["log_loss"] < metrics["nb_log_loss"]
    assert metrics["ece"] < metrics["nb_ece"]
    assert metrics["ece"] < 0.05

    runs = await database.fetchall("SELECT status, reason, metrics FROM clr_training_runs")
    assert [(r[0], r[1]) for r in runs] == [("not_ready", "not_enough_nights"), ("ok", None)]
    assert json.loads(runs[1][2]) == metrics
    view = await database.fetchone(
        "SELECT run_id, artifact, metrics, n_nights FROM vw_clr_latest_model_artifact"
    )
    assert view is not None
    assert view[0] == train["run_id"]
    assert json.loads(view[2]) == metrics
    assert view[3] == len(labels)
    rooms = rooms_of_columns(json.loads(view[1])["feature_names"])
    assert rooms is not None
    assert rooms[0] == "__home__"
    assert await database.get_metadata("last_train_at") is not None
    assert result["inference"]["status"] == "ok"
    readiness = hass.states.get("sensor.roomdb_ml_readiness")
    assert readiness is not None
    assert readiness.state == "trained"
    last_training = hass.states.get("sensor.roomdb_last_training")
    assert last_training is not None
    assert last_training.attributes["auc"] == metrics["auc"]

    # After a restart the model, its metrics and the readiness come back from the database.
    assert await hass.config_entries.async_reload(ml_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    database = db(ml_entry)
    status = ml(ml_entry).status
    assert (status.readiness, status.model_run_id) == ("trained", train["run_id"])
    assert status.training_metrics == metrics
    assert status.sleep_probability is not None  # the first refresh ran inference

    # Windows that stopped coming (an hour and more) give no current probability.
    await database.execute_write(
        "DELETE FROM ml_features WHERE window_start >= ?", (HOME.end_utc - 7200,)
    )
    result = await run_pipeline(hass, ["inference"])
    assert result["inference"]["code"] == "stale"
    assert state_of(hass, "sensor.roomdb_sleep_probability") == "unknown"

    # A corrupt feature value makes the fit fail: recorded as a failed run, model kept.
    await database.execute_write(
        "UPDATE ml_features SET value = 1e999 WHERE window_start = ? AND feature_key IN "
        "(SELECT feature_key FROM ml_feature_keys WHERE feature_name = ?)",
        (align_window(labels[3].start_utc) + 900, "motion_count"),
    )
    await store_labels(database, [replace(labels[0], end_utc=labels[0].end_utc + 60)])
    result = await run_pipeline(hass, ["train"])
    assert result["train"]["status"] == "error"
    run = await store.async_latest_clr_run(database)
    assert run is not None
    assert (run.status, run.n_nights) == ("error", len(labels))
    assert state_of(hass, "sensor.roomdb_ml_readiness") == "error"
    assert await hass.config_entries.async_reload(ml_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert ml(ml_entry).status.readiness == "error"
    assert ml(ml_entry).status.model_run_id == train["run_id"]

    await db(ml_entry).execute_write("DELETE FROM ml_features")
    result = await run_pipeline(hass, ["inference"])
    assert result["inference"] == {
        "status": "not_ready",
        "detail": "no feature window yet",
        "code": "no_window",
    }


def state_of(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


@pytest.mark.parametrize(
    ("now_ts", "asleep"),
    [(utc("2026-04-13T01:00:00"), True), (utc("2026-04-12T13:00:00"), False)],
    ids=["03:00", "15:00"],
)
async def test_inference_follows_the_household_and_fires_an_event(
    hass: HomeAssistant, ml_entry: MockConfigEntry, now_ts: float, asleep: bool
) -> None:
    database = db(ml_entry)
    await store_events(database, HOME.events)
    await store_labels(database, HOME.labels())
    events = async_capture_events(hass, EVENT_ML_RESULT)
    result = await run_pipeline(hass, ["ingest", "features", "train", "inference"])
    assert result["inference"]["asleep"] is asleep
    assert abs(result["inference"]["probability"] - asleep) < 0.2
    (event,) = [e for e in events if e.data["kind"] == "sleep"]
    assert event.data["asleep"] is asleep
    assert event.data["window_end"] == at(align_window(now_ts)).isoformat()
    assert event.data["model_run_id"] == result["train"]["run_id"]


async def test_bocpd_reads_nothing_of_a_span_roomdb_did_not_record(
    hass: HomeAssistant, ml_entry: MockConfigEntry, frozen: FrozenDateTimeFactory
) -> None:
    # Home Assistant was down on 03-28 from 10:00 to 16:00 (Berlin): the lights, media players
    # and presence a window carries over such a span are no observation, as the activity is not.
    await store_events(db(ml_entry), HOME.events)
    await store_labels(db(ml_entry), HOME.labels())
    await store.async_add_gap(db(ml_entry), utc("2026-03-28T09:00:00"), utc("2026-03-28T15:00:00"))
    frozen.move_to(at(utc("2026-03-31T03:00:00")))
    assert (await run_pipeline(hass, [*FEATURES, "bocpd"]))["bocpd"]["status"] == "ok"
    text = await store.async_load_bocpd_state(db(ml_entry), MODEL_KEY)
    assert text is not None
    history = dict(TrackerState.from_json(text).history)
    names = dimension_names()
    down = history[date(2026, 3, 28)]
    assert all(
        np.isnan(v) for n, v in zip(names, down, strict=True) if n.endswith((" 10-13", " 13-16"))
    )
    assert not np.isnan(down[names.index("light 19-22")])
    assert not np.isnan(history[date(2026, 3, 27)][names.index("light 10-13")])


async def test_bocpd_finds_the_change_and_resumes_after_reload_without_replaying(
    hass: HomeAssistant, ml_entry: MockConfigEntry, frozen: FrozenDateTimeFactory
) -> None:
    # Every event and label is stored up front: windows are only computed up to the frozen clock
    # and only labels of nights that ended by then are read.
    await store_events(db(ml_entry), HOME.events)
    await store_labels(db(ml_entry), HOME.labels())
    middle = utc("2026-03-31T03:00:00")  # 05:00 in Berlin, a week after the routine change
    frozen.move_to(at(middle))
    events = async_capture_events(hass, EVENT_ML_RESULT)
    first = await run_pipeline(hass, [*FEATURES, "bocpd"])
    assert first["bocpd"]["status"] == "ok"
    # Every complete day stored so far is fed once (up to 03-30, the DST day included).
    so_far = daily_profiles(
        feature_rows_from_long(await feature_records(ml_entry)), HOME.tz, middle
    )
    assert so_far.days[-1] == date(2026, 3, 30)
    assert first["bocpd"]["steps"] == len(so_far.days)
    (changepoint_event,) = [e for e in events if e.data["kind"] == "changepoint"]
    assert changepoint_event.data["run_length"] == first["bocpd"]["run_length"]
    (alarm,) = changepoint_event.data["new_changepoints"]
    assert alarm["night"] == HOME.change_date.isoformat()
    assert await db(ml_entry).get_metadata("routine_change_night") == alarm["night"]

    assert await hass.config_entries.async_reload(ml_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    restored = ml(ml_entry).status
    assert restored.changepoint_probability == first["bocpd"]["changepoint_probability"]
    assert restored.run_length == first["bocpd"]["run_length"]
    assert restored.recent_changepoints == (("routine", alarm["night"]),)

    # Two weeks later: the nightly run picks up where the stored state ended.
    frozen.move_to(at(HOME.end_utc))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    again = await run_pipeline(hass, [*FEATURES, "bocpd"])
    assert again["bocpd"] == {"status": "skipped", "detail": "no new complete day", "steps": 0}
    runs = await db(ml_entry).fetchall("SELECT status, steps FROM bocpd_training_runs")
    steps = [r[1] for r in runs]
    assert steps[0] == len(so_far.days)
    assert all(status == "ok" for status, _ in runs)

    # The resumed state is exactly the state of one uninterrupted run over every day.
    text = await store.async_load_bocpd_state(db(ml_entry), MODEL_KEY)
    assert text is not None
    resumed = TrackerState.from_json(text)
    records = await feature_records(ml_entry)
    labelled = [Episode(x.night_date, x.start_utc, x.end_utc) for x in HOME.labels()]
    config = BocpdConfig(hazard=1 / 250, max_run_length=TRACKER_RUN_LENGTHS)
    whole = advance(
        None, records, labelled, tz=HOME.tz, until=align_window(HOME.end_utc), config=config
    )
    assert whole.state is not None
    assert sum(steps) == whole.steps  # no day fed twice, none left out
    assert resumed.days == whole.state.days
    assert [a.as_dict() for a in resumed.alarms] == [a.as_dict() for a in whole.state.alarms]
    assert resumed.model is not None and whole.state.model is not None
    assert np.array_equal(resumed.model.log_r, whole.state.model.log_r)
    rows = await db(ml_entry).fetchall(
        "SELECT model_key, run_length FROM vw_bocpd_latest_state ORDER BY model_key"
    )
    assert [tuple(r) for r in rows] == [(MODEL_KEY, resumed.run_length)]
    state = hass.states.get("sensor.roomdb_changepoint_probability")
    assert state is not None
    assert float(state.state) == round(resumed.changepoint_probability * 100, 2)
    assert list(state.attributes["top_streams"]) == [name for name, _ in resumed.signals]
    run_length = hass.states.get("sensor.roomdb_run_length")
    assert run_length is not None
    assert int(run_length.state) == resumed.run_length


async def test_bocpd_waits_for_a_routine_and_restarts_from_a_broken_state(
    hass: HomeAssistant,
    ml_entry: MockConfigEntry,
    frozen: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await store_events(db(ml_entry), HOME.events)
    frozen.move_to(at(utc("2026-03-06T03:00:00")))
    result = await run_pipeline(hass, [*FEATURES, "bocpd"])
    assert result["bocpd"]["status"] == "not_ready"
    assert "the detector learns 14 first" in result["bocpd"]["detail"]
    runs = await db(ml_entry).fetchall("SELECT status, steps FROM bocpd_training_runs")
    assert [tuple(r) for r in runs] == [("not_ready", 0)]
    frozen.move_to(at(utc("2026-03-20T03:00:00")))  # the refresh timers may run first
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    await run_pipeline(hass, [*FEATURES, "bocpd"])
    assert await store.async_load_bocpd_state(db(ml_entry), MODEL_KEY) is not None
    await db(ml_entry).execute_write(
        "UPDATE bocpd_model_state SET state = '{\"version\": 99}' WHERE model_key = ?",
        (MODEL_KEY,),
    )
    result = await run_pipeline(hass, ["bocpd"])
    assert result["bocpd"]["status"] == "ok"
    assert result["bocpd"]["detail"].startswith("started with")
    assert "Stored BOCPD state is unusable" in caplog.text


def test_design_rooms_and_validation_share() -> None:
    assert select_rooms([]) == ("__home__",)
    windows = [("__home__", float(t)) for t in range(10)]
    windows += [("kitchen", float(t)) for t in range(10)]
    windows += [("attic", float(t)) for t in range(5)]  # appeared recently: left out
    assert select_rooms(windows) == ("__home__", "kitchen")
    assert clr_config(7, 200, 5).validation_nights == 2
    assert clr_config(7, 200, 40).validation_nights == 8
    assert clr_config(7, 200, 400).validation_nights == 14
    assert clr_config(4, 50, 40).min_nights == 10


def test_inference_refuses_models_it_cannot_apply() -> None:
    artifact = ClrArtifact(
        feature_names=design_columns(("__home__", "kitchen")),
        feature_set_version=FEATURE_SET_VERSION,
        coef=(0.0,) * 10,
        intercept=0.0,
        scaler_mean=(0.0,) * 10,
        scaler_scale=(1.0,) * 10,
        calibration_a=-1.0,
        calibration_b=0.0,
        c=1.0,
        n_rows=1,
        n_nights=1,
    )
    assert rooms_of(artifact) == ("__home__", "kitchen")
    home_only = [r for r in household_features()[:6] if r.room_id == "__home__"]
    records = [
        (r.room_id, r.window_start, r.window_end, name, value, r.feature_set_version)
        for r in home_only
        for name, value in r.as_dict().items()
    ]
    missing_room = infer_latest(artifact, records)
    assert isinstance(missing_room, NotReady)
    assert missing_room.code == "no_window"
    old = infer_latest(replace(artifact, feature_set_version=0), records)
    assert isinstance(old, NotReady)
    assert old.code == "feature_set_changed"
    foreign = replace(artifact, feature_names=("a", "b", "c"), coef=(0.0,) * 3)
    assert rooms_of(foreign) is None
    unknown = infer_latest(foreign, records)
    assert isinstance(unknown, NotReady)
    assert unknown.code == "unknown_design"


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        (["nope"], "unknown stages ['nope']"),
        (["train", "inference", "lunch"], "unknown stages ['lunch']"),
        ([], "non-empty list"),
        (5, "non-empty list"),
        ([1], "non-empty list"),
        ({"stage": "train"}, "non-empty list"),
    ],
)
async def test_bad_stages_are_invalid_input_and_change_nothing(
    hass: HomeAssistant, ml_entry: MockConfigEntry, stages: Any, message: str
) -> None:
    await store_events(db(ml_entry), HOME.events[:50])
    before = await table_counts(db(ml_entry))
    metadata = await db(ml_entry).fetchall("SELECT key, value FROM metadata ORDER BY key")
    with pytest.raises(ServiceValidationError) as err:
        await run_pipeline(hass, stages)
    assert err.value.translation_key == "invalid_input"
    assert message in str(err.value)
    assert await table_counts(db(ml_entry)) == before
    assert await db(ml_entry).fetchall("SELECT key, value FROM metadata ORDER BY key") == metadata


def test_stage_names_and_order() -> None:
    assert parse_stages(None) == STAGES
    assert parse_stages("train") == ("train",)
    assert ordered_stages(["inference", "features", "inference"]) == ("features", "inference")


async def test_a_failing_stage_is_reported_and_marks_the_layer_degraded(
    hass: HomeAssistant, ml_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    hass.states.async_set("input_datetime.sleep_start", "2026-03-02 23:00:00")
    hass.states.async_set("input_datetime.sleep_end", "2026-03-03 07:00:00")
    await db(ml_entry).execute_write("DROP TABLE labels")
    for _ in range(2):
        result = await run_pipeline(hass, ["labels", "inference"])
    assert result["labels"]["status"] == "error"
    assert "no such table" in result["labels"]["detail"]
    assert result["inference"]["status"] == "not_ready"  # later stages still ran
    assert caplog.text.count("ML pipeline stage labels failed") == 1
    state = hass.states.get("sensor.roomdb_ml_readiness")
    assert state is not None
    assert state.attributes["degraded"] == ["labels"]

    (create_labels,) = [s for s in MIGRATIONS[0][2] if "CREATE TABLE labels" in s]
    (noon_column,) = [s for s in MIGRATIONS[3][2] if "ALTER TABLE labels" in s]
    await db(ml_entry).execute_write(create_labels)
    await db(ml_entry).execute_write(noon_column)
    result = await run_pipeline(hass, ["labels"])
    assert result["labels"]["status"] == "ok"
    assert "ML pipeline stage labels works again" in caplog.text
    state = hass.states.get("sensor.roomdb_ml_readiness")
    assert state is not None
    assert state.attributes["degraded"] == []


async def test_the_schedule_runs_refreshes_and_the_nightly_pipeline(
    hass: HomeAssistant, ml_entry: MockConfigEntry, frozen: FrozenDateTimeFactory
) -> None:
    await store_events(db(ml_entry), HOME.events)
    frozen.move_to(at(utc("2026-04-13T10:15:20")))  # a refresh: features, no training
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await db(ml_entry).get_metadata("last_feature_at") is not None
    assert await db(ml_entry).get_metadata("last_bocpd_at") is None
    events = async_capture_events(hass, EVENT_ML_RESULT)
    frozen.move_to(at(utc("2026-04-14T02:30:00")))  # 04:30 in Berlin: the nightly run
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await db(ml_entry).get_metadata("last_bocpd_at") is not None
    assert [e.data["kind"] for e in events] == ["changepoint"]
    counts = await table_counts(db(ml_entry))
    assert counts["clr_training_runs"] == 1  # not_ready: no labels


async def test_unload_cancels_a_running_pipeline(
    hass: HomeAssistant, ml_entry: MockConfigEntry
) -> None:
    await store_events(db(ml_entry), HOME.events)
    runtime = ml(ml_entry)
    runtime._spawn(runtime.async_run(), "test run")
    assert runtime.pipeline.busy
    assert await hass.config_entries.async_unload(ml_entry.entry_id)
    await hass.async_block_till_done()
    assert not runtime.pipeline.busy


async def test_home_assistant_stop_stops_recording_before_the_database_closes(
    hass: HomeAssistant, ml_entry: MockConfigEntry
) -> None:
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    hass.states.async_set("light.desk", "on")
    await hass.async_block_till_done()
    assert ml(ml_entry).writer.queued == 0
    assert db(ml_entry).queued_rows == 0


async def test_a_broken_stored_model_is_ignored_at_setup(
    hass: HomeAssistant, ml_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    database = db(ml_entry)
    run_id = await store.async_record_clr_run(
        database,
        started_at="2026-04-01T00:00:00+00:00",
        status="ok",
        reason=None,
        n_rows=1,
        n_nights=1,
        feature_set_version=FEATURE_SET_VERSION,
        metrics={},
        artifact=None,
    )
    await database.execute_write(
        "INSERT INTO clr_model_artifacts (run_id, created_at, feature_set_version, artifact) "
        "VALUES (?, '2026-04-01T00:00:00+00:00', 1, '{\"coef\": []}')",
        (run_id,),
    )
    caplog.set_level(logging.WARNING)
    assert await hass.config_entries.async_reload(ml_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert "The stored sleep model is unusable" in caplog.text
    assert ml(ml_entry).status.readiness == "trained"
    assert ml(ml_entry).status.sleep_probability is None


def _without_door_last(artifact: ClrArtifact) -> ClrArtifact:
    """The artifact as a RoomDB whose design had no door column trained it."""
    keep = [i for i, name in enumerate(artifact.feature_names) if name != DOOR_LAST_COLUMN]
    return replace(
        artifact,
        feature_names=tuple(artifact.feature_names[i] for i in keep),
        coef=tuple(artifact.coef[i] for i in keep),
        scaler_mean=tuple(artifact.scaler_mean[i] for i in keep),
        scaler_scale=tuple(artifact.scaler_scale[i] for i in keep),
    )


@pytest.mark.parametrize("outdated", [True, False], ids=["older_design", "current_design"])
async def test_a_model_of_an_older_design_is_retrained_at_the_first_refresh(
    hass: HomeAssistant, ml_entry: MockConfigEntry, outdated: bool
) -> None:
    database = db(ml_entry)
    await store_events(database, HOME.events)
    await store_labels(database, HOME.labels())
    trained = await run_pipeline(hass, ["ingest", "features", "train"])
    latest = await store.async_latest_artifact(database)
    assert latest is not None and DOOR_LAST_COLUMN in latest[1].feature_names
    stored = latest[1]
    if outdated:
        stored = _without_door_last(stored)
        assert rooms_of(stored) is None
        await store.async_record_clr_run(
            database,
            started_at="2026-04-12T00:00:00+00:00",
            status="ok",
            reason=None,
            n_rows=stored.n_rows,
            n_nights=stored.n_nights,
            feature_set_version=FEATURE_SET_VERSION,
            metrics={},
            artifact=stored,
        )
    runs = len(await database.fetchall("SELECT run_id FROM clr_training_runs"))

    assert await hass.config_entries.async_reload(ml_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    database = db(ml_entry)
    after = await store.async_latest_artifact(database)
    assert after is not None
    count = len(await database.fetchall("SELECT run_id FROM clr_training_runs"))
    if outdated:
        # Retrained on the current columns at once, and the sleep entities have a value.
        assert count == runs + 1
        assert after[1].feature_names == latest[1].feature_names
        assert ml(ml_entry).status.sleep_probability is not None
    else:
        assert count == runs
        assert after[0].run_id == trained["train"]["run_id"]


async def test_time_roomdb_was_not_recording_is_unobserved_not_quiet(
    hass: HomeAssistant, ml_entry: MockConfigEntry, frozen: FrozenDateTimeFactory
) -> None:
    # Events of the household's last day are stored; RoomDB is then down for two hours.
    down = align_window(HOME.end_utc) - 6 * 3600
    frozen.move_to(at(down))
    await store_events(db(ml_entry), [e for e in HOME.events if e.ts < down])
    assert await hass.config_entries.async_unload(ml_entry.entry_id)
    frozen.move_to(at(down + 7200))
    assert await hass.config_entries.async_setup(ml_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    gaps = await db(ml_entry).fetchall("SELECT start_ts, end_ts FROM ml_recording_gaps")
    assert [tuple(row) for row in gaps] == [(down, down + 7200)]

    # A reload of a few seconds is no gap worth marking.
    frozen.tick(10)
    assert await hass.config_entries.async_reload(ml_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(await db(ml_entry).fetchall("SELECT * FROM ml_recording_gaps")) == 1

    # The windows of the gap are unobserved (left out of training, flagged at inference); the
    # windows before it are observed.
    frozen.move_to(at(down + 3 * 3600))
    await run_pipeline(hass, FEATURES)
    rows = await db(ml_entry).fetchall(
        "SELECT window_start, value FROM features WHERE room_id = '__home__' "
        "AND feature_name = 'unavailable_fraction' AND window_start >= ?",
        (down - 3600,),
    )
    unobserved = {row[0]: row[1] for row in rows}
    assert unobserved[down - 900] == 0.0
    assert unobserved[down] == unobserved[down + 7200 - 900] == 1.0


def test_inference_says_away_is_awake_and_flags_unobserved_windows() -> None:
    records = [
        (r.room_id, r.window_start, r.window_end, name, value, r.feature_set_version)
        for r in household_features()
        for name, value in r.as_dict().items()
    ]
    outcome = train_from_records(records, HOME.labels(), clr_config(7, 200, 40))
    assert isinstance(outcome.result, ClrArtifact)
    # 03:00 in Berlin in the tenth night: asleep, observed, nobody away.
    night = align_window(utc("2026-03-12T02:00:00"))
    recent = [r for r in records if night - 6 * 3600 <= r[1] <= night]
    asleep = infer_latest(outcome.result, recent)
    assert isinstance(asleep, Inference)
    assert asleep.probability > 0.9
    assert (asleep.observed, asleep.away) == (True, False)

    def newest_home(name: str, value: float) -> list[store.FeatureRecord]:
        return [
            (*r[:4], value, r[5]) if r[1] == night and r[0] == "__home__" and r[3] == name else r
            for r in recent
        ]

    away = infer_latest(outcome.result, newest_home("away_fraction", 1.0))
    assert isinstance(away, Inference)
    assert (away.probability, away.away) == (0.0, True)
    unobserved = infer_latest(outcome.result, newest_home("unavailable_fraction", 1.0))
    assert isinstance(unobserved, Inference)
    assert not unobserved.observed
