"""The ML contract views keep their columns; the check reports any drift."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.db.schema import CONTRACT_VERSION
from custom_components.roomdb.ml.contracts import ML_CONTRACT_VIEWS, async_check_contracts

from .conftest import db, ml, run_pipeline, store_events, store_labels
from .household import household, utc

# Written out here on purpose: changing a view's columns must fail this test until the contract
# version is bumped (a new migration) and the pinned list follows.
FEATURE_COLUMNS = [
    ("room_id", "TEXT"),
    ("window_start", "REAL"),
    ("window_end", "REAL"),
    ("feature_name", "TEXT"),
    ("value", "REAL"),
    ("feature_set_version", "INTEGER"),
]
"""One feature value per row, as the feature views begin."""
TRAINING_COLUMNS = [*FEATURE_COLUMNS, ("night_date", "TEXT"), ("asleep", "")]
PINNED = {
    "vw_clr_training_dataset": TRAINING_COLUMNS,
    "vw_clr_training_dataset_v2": TRAINING_COLUMNS,
    "vw_sleep_episodes": [
        ("night_date", "TEXT"),
        ("bedtime_utc", "REAL"),
        ("wake_utc", "REAL"),
        ("updated_at", "TEXT"),
    ],
    "vw_clr_latest_model_artifact": [
        ("artifact_id", "INTEGER"),
        ("run_id", "INTEGER"),
        ("created_at", "TEXT"),
        ("feature_set_version", "INTEGER"),
        ("artifact", "TEXT"),
        ("metrics", "TEXT"),
        ("n_rows", "INTEGER"),
        ("n_nights", "INTEGER"),
    ],
    "vw_bocpd_feature_stream": [
        ("room_id", "TEXT"),
        ("feature_name", "TEXT"),
        ("window_start", "REAL"),
        ("window_end", "REAL"),
        ("value", "REAL"),
        ("feature_set_version", "INTEGER"),
    ],
    "vw_bocpd_latest_state": [
        ("model_key", "TEXT"),
        ("feature_set_version", "INTEGER"),
        ("last_window_end", "REAL"),
        ("changepoint_probability", "REAL"),
        ("run_length", "INTEGER"),
        ("updated_at", "TEXT"),
    ],
    "vw_latest_feature_snapshot": [*FEATURE_COLUMNS, ("computed_at", "TEXT")],
}


async def test_views_have_the_pinned_columns(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    database = db(loaded_entry)
    assert set(ML_CONTRACT_VIEWS) == set(PINNED)
    for view, columns in PINNED.items():
        rows = await database.fetchall(f"PRAGMA table_info({view})")
        assert [(row["name"], row["type"]) for row in rows] == columns, view
        assert list(ML_CONTRACT_VIEWS[view]) == columns
    assert await database.get_metadata("contract_version") == str(CONTRACT_VERSION) == "2"
    report = await async_check_contracts(database)
    assert report.ok
    assert report.contract_version == CONTRACT_VERSION
    assert ml(loaded_entry).contract_problems == ()


@pytest.mark.parametrize("now_ts", [utc("2026-03-25T11:00:00")])  # 23 days are enough
async def test_view_values_have_the_documented_types(
    hass: HomeAssistant, ml_entry: MockConfigEntry
) -> None:
    home = household()
    database = db(ml_entry)
    await store_events(database, home.events)
    await store_labels(database, home.labels())
    await run_pipeline(hass, ["features", "train", "bocpd", "inference"])
    for view in ("vw_clr_training_dataset", "vw_clr_training_dataset_v2"):
        row = await database.fetchone(
            "SELECT typeof(asleep), typeof(window_start), typeof(value), typeof(night_date) "
            f"FROM {view} WHERE asleep = 1 LIMIT 1"
        )
        assert row is not None
        assert tuple(row) == ("integer", "real", "real", "text")
    episode = await database.fetchone(
        "SELECT typeof(night_date), typeof(bedtime_utc), typeof(wake_utc) FROM vw_sleep_episodes"
    )
    assert episode is not None
    assert tuple(episode) == ("text", "real", "real")
    assert await database.fetchone("SELECT * FROM vw_clr_latest_model_artifact") is not None
    snapshot = await database.fetchall(
        "SELECT DISTINCT window_start FROM vw_latest_feature_snapshot"
    )
    assert len(snapshot) == 1
    state = await database.fetchone(
        "SELECT typeof(changepoint_probability), typeof(run_length) FROM vw_bocpd_latest_state "
        "WHERE model_key = 'nightly'"
    )
    assert state is not None
    assert tuple(state) == ("real", "integer")


@pytest.mark.parametrize(
    ("statements", "problem"),
    [
        (
            [
                "DROP VIEW vw_bocpd_latest_state",
                (
                    "CREATE VIEW vw_bocpd_latest_state AS SELECT model_key, run_length "
                    "FROM bocpd_model_state"
                ),
            ],
            "vw_bocpd_latest_state has columns",
        ),
        (["DROP VIEW vw_latest_feature_snapshot"], "vw_latest_feature_snapshot is missing"),
        (["UPDATE metadata SET value = '0' WHERE key = 'contract_version'"], "contract_version"),
    ],
)
async def test_the_check_reports_drift(
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    statements: list[str],
    problem: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mock_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    for statement in statements:
        await db(mock_entry).execute_write(statement)
    report = await async_check_contracts(db(mock_entry))
    assert not report.ok
    (found,) = report.problems
    assert found.startswith(problem)
    # A reload reports it in the log and the diagnostics instead of failing setup.
    assert await hass.config_entries.async_reload(mock_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert ml(mock_entry).contract_problems == (found,)
    assert "ML contract view check failed" in caplog.text
    assert ml(mock_entry).diagnostics()["contract_problems"] == [found]
    assert await hass.config_entries.async_unload(mock_entry.entry_id)
