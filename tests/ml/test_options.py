"""The "ml" options section: form, validation, what is stored, how the runtime reads it."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import area_registry as ar
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.ml.options import (
    ALL_KINDS,
    CONF_ASLEEP_THRESHOLD,
    CONF_BOCPD_EXPECTED_NIGHTS,
    CONF_CHANGEPOINT_FALSE_ALARMS,
    CONF_DB_VACUUM,
    CONF_FEATURE_RETENTION_DAYS,
    CONF_MIN_NIGHTS,
    CONF_MIN_ROWS,
    CONF_ML_AREAS,
    CONF_ML_EXCLUDE,
    CONF_ML_INCLUDE,
    CONF_ML_KINDS,
    CONF_RAW_RETENTION_DAYS,
    CONF_SLEEP_END_ENTITY,
    CONF_SLEEP_START_ENTITY,
    CONF_TRAIN_ON_SUGGESTIONS,
    MlSettings,
)

from .conftest import ml

FORM = {
    CONF_ML_AREAS: ["kitchen"],
    CONF_ML_KINDS: ["light", "motion"],
    CONF_ML_INCLUDE: ["sensor.b", "sensor.a"],
    CONF_ML_EXCLUDE: [],
    CONF_SLEEP_START_ENTITY: "input_datetime.bed",
    CONF_SLEEP_END_ENTITY: "input_datetime.up",
    CONF_MIN_NIGHTS: 10.0,
    CONF_MIN_ROWS: 300.0,
    CONF_BOCPD_EXPECTED_NIGHTS: 100.0,
    CONF_RAW_RETENTION_DAYS: 14.0,
    CONF_FEATURE_RETENTION_DAYS: 90.0,
    CONF_ASLEEP_THRESHOLD: 0.7,
    CONF_CHANGEPOINT_FALSE_ALARMS: 0.5,
    CONF_TRAIN_ON_SUGGESTIONS: True,
    CONF_DB_VACUUM: "weekly",
}


async def test_ml_section_validates_saves_and_reloads(
    hass: HomeAssistant, area_registry: ar.AreaRegistry, loaded_entry: MockConfigEntry
) -> None:
    area_registry.async_create("Kitchen")
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert "ml" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "ml"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "ml"

    same = {**FORM, CONF_SLEEP_END_ENTITY: "input_datetime.bed"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], same)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SLEEP_END_ENTITY: "sleep_helpers_same"}
    assert loaded_entry.options == {}

    old_runtime = ml(loaded_entry)
    result = await hass.config_entries.options.async_configure(result["flow_id"], FORM)
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options == {
        **FORM,
        CONF_ML_INCLUDE: ["sensor.a", "sensor.b"],
        CONF_ML_KINDS: ["motion", "light"],
        CONF_MIN_NIGHTS: 10,
        CONF_MIN_ROWS: 300,
        CONF_BOCPD_EXPECTED_NIGHTS: 100,
        CONF_RAW_RETENTION_DAYS: 14,
        CONF_FEATURE_RETENTION_DAYS: 90,
    }
    runtime = ml(loaded_entry)
    assert runtime is not old_runtime
    assert runtime.settings == MlSettings(
        areas=frozenset({"kitchen"}),
        kinds=frozenset({"light", "motion"}),
        include=frozenset({"sensor.a", "sensor.b"}),
        sleep_start_entity="input_datetime.bed",
        sleep_end_entity="input_datetime.up",
        min_nights=10,
        min_rows=300,
        bocpd_expected_nights=100,
        raw_retention_days=14,
        feature_retention_days=90,
        asleep_threshold=0.7,
        changepoint_false_alarms=0.5,
        train_on_suggestions=True,
        db_vacuum="weekly",
    )
    assert runtime.labels.start_entity == "input_datetime.bed"


def test_settings_fall_back_and_clamp() -> None:
    assert MlSettings.from_options({}) == MlSettings()
    assert MlSettings().kinds == frozenset(ALL_KINDS)
    odd = MlSettings.from_options(
        {
            CONF_ML_AREAS: "kitchen",
            CONF_ML_KINDS: ["light", "toaster", 3],
            CONF_ML_INCLUDE: 5,
            CONF_MIN_NIGHTS: 1,
            CONF_MIN_ROWS: "many",
            CONF_ASLEEP_THRESHOLD: 2,
            CONF_RAW_RETENTION_DAYS: None,
            CONF_SLEEP_START_ENTITY: "",
            CONF_DB_VACUUM: "hourly",
        }
    )
    assert odd.db_vacuum == "off"
    assert odd.areas == frozenset({"kitchen"})
    assert odd.kinds == frozenset({"light"})
    assert odd.include == frozenset()
    assert odd.min_nights == 4
    assert odd.min_rows == 200
    assert odd.asleep_threshold == 0.95
    assert odd.raw_retention_days == 30
    assert odd.sleep_start_entity == "input_datetime.sleep_start"
    assert odd.sleep_helpers == frozenset(
        {"input_datetime.sleep_start", "input_datetime.sleep_end"}
    )
