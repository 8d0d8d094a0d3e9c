"""Setup, unload and failure modes of the RoomDB entry."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
import sqlite3

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.const import DATABASE_FILENAME, DOMAIN, ISSUE_DATABASE_CORRUPT
from custom_components.roomdb.db.schema import SCHEMA_VERSION
from custom_components.roomdb.rooms.runtime import RoomsRuntime
from tests.conftest import listeners_besides_ha_pending_saves


async def test_setup_creates_database_and_unloads_cleanly(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    assert loaded_entry.state is ConfigEntryState.LOADED
    database = loaded_entry.runtime_data.database
    db_path = Path(hass.config.config_dir) / DATABASE_FILENAME
    assert database.path == db_path
    assert await database.get_metadata("schema_version") == str(SCHEMA_VERSION)
    assert hass.services.has_service(DOMAIN, "backup")

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    assert database._conn is None
    # Services stay registered (action-setup) but answer that RoomDB is not loaded.
    assert hass.services.has_service(DOMAIN, "backup")


async def test_reload_reopens_the_same_file(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    first = loaded_entry.runtime_data.database
    await first.execute_write(
        "INSERT INTO metadata (key, value) VALUES ('probe', 'kept')",
    )
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    second = loaded_entry.runtime_data.database
    assert second is not first
    assert first._conn is None
    assert await second.get_metadata("probe") == "kept"


async def test_corrupt_database_is_kept_and_reported(
    hass: HomeAssistant, mock_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    db_path = Path(hass.config.config_dir) / DATABASE_FILENAME
    garbage = b"this is not an sqlite database" * 200
    await hass.async_add_executor_job(db_path.write_bytes, garbage)

    mock_entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()

    assert mock_entry.state is ConfigEntryState.SETUP_ERROR
    assert mock_entry.reason is not None and "cannot be read" in mock_entry.reason
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE_DATABASE_CORRUPT)
    assert issue is not None
    kept = Path(issue.translation_placeholders["kept_as"])
    assert kept.name.startswith(f"{DATABASE_FILENAME}.corrupt-")
    assert await hass.async_add_executor_job(kept.read_bytes) == garbage
    assert not await hass.async_add_executor_job(db_path.exists)

    # A reload starts over with a fresh database instead of failing again, and the issue,
    # whose cause is gone, goes with it.
    assert await hass.config_entries.async_reload(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_entry.state is ConfigEntryState.LOADED
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_DATABASE_CORRUPT) is None
    assert await hass.async_add_executor_job(kept.read_bytes) == garbage


def _stamp_future_version(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE metadata SET value = '999' WHERE key = 'schema_version'")
        conn.commit()


async def test_database_from_newer_version_is_refused_untouched(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    db_path = loaded_entry.runtime_data.database.path
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_add_executor_job(_stamp_future_version, db_path)

    assert not await hass.config_entries.async_setup(loaded_entry.entry_id)
    assert loaded_entry.state is ConfigEntryState.SETUP_ERROR
    assert loaded_entry.reason is not None and "newer version" in loaded_entry.reason
    assert await hass.async_add_executor_job(db_path.exists)


def _set_metadata(path: Path, key: str, value: str) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(
            "INSERT INTO metadata (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
        conn.commit()


@pytest.mark.parametrize("value", ["two", "", "-1", "1e3", "9" * 40, "٣"])
async def test_a_damaged_schema_version_is_refused_with_a_clear_error_and_untouched(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, value: str
) -> None:
    db_path = loaded_entry.runtime_data.database.path
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_add_executor_job(_set_metadata, db_path, "schema_version", value)
    before = await hass.async_add_executor_job(db_path.read_bytes)

    assert not await hass.config_entries.async_setup(loaded_entry.entry_id)
    assert loaded_entry.state is ConfigEntryState.SETUP_ERROR
    assert loaded_entry.reason is not None
    assert "metadata is damaged" in loaded_entry.reason
    assert repr(value) in loaded_entry.reason
    assert await hass.async_add_executor_job(db_path.read_bytes) == before


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("last_train_at", "yesterday"),
        ("contract_version", "v1"),
        ("feature_set_version", "1.5"),
        ("event_stream_high_water", "many"),
    ],
)
async def test_other_damaged_metadata_is_dropped_with_a_warning_and_setup_works(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    key: str,
    value: str,
) -> None:
    db_path = loaded_entry.runtime_data.database.path
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_add_executor_job(_set_metadata, db_path, key, value)

    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert f"metadata {key} = {value!r} is not valid" in caplog.text
    database = loaded_entry.runtime_data.database
    assert await database.get_metadata(key) != value
    assert await database.get_metadata("contract_version") is not None


async def test_final_write_closes_the_database(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    database = loaded_entry.runtime_data.database
    database.enqueue("INSERT INTO metadata (key, value) VALUES (?, ?)", [("late", "row")])
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    assert database._conn is None
    with closing(sqlite3.connect(database.path)) as conn:
        assert conn.execute("SELECT value FROM metadata WHERE key = 'late'").fetchone() == ("row",)


async def test_unload_leaves_no_listener_task_or_connection(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    mock_entry.add_to_hass(hass)
    # A first cycle loads the components RoomDB depends on (http, sensor) and their listeners.
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    assert await hass.config_entries.async_unload(mock_entry.entry_id)
    await hass.async_block_till_done()
    listeners_before = listeners_besides_ha_pending_saves(hass)

    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert listeners_besides_ha_pending_saves(hass) != listeners_before
    database = mock_entry.runtime_data.database
    database.enqueue("INSERT INTO metadata (key, value) VALUES (?, ?)", [("pending", "1")])

    assert await hass.config_entries.async_unload(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert database._conn is None
    assert database._flush_timer is None
    assert not database._flush_tasks
    assert listeners_besides_ha_pending_saves(hass) == listeners_before
    with closing(sqlite3.connect(database.path)) as conn:
        assert conn.execute("SELECT value FROM metadata WHERE key = 'pending'").fetchone() == ("1",)


async def test_a_failing_part_does_not_keep_the_database_open(
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_stop = RoomsRuntime.async_stop

    async def failing_stop(self: RoomsRuntime) -> None:
        await real_stop(self)
        raise RuntimeError("stop failed")

    monkeypatch.setattr(RoomsRuntime, "async_stop", failing_stop)
    mock_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()
    database = mock_entry.runtime_data.database
    registry_mirror = mock_entry.runtime_data.registry_mirror

    assert await hass.config_entries.async_unload(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert "stop failed" in caplog.text
    assert registry_mirror._stopped
    assert database._conn is None


async def test_a_fresh_home_has_every_contract_metadata_key(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    db_path = loaded_entry.runtime_data.database.path
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)

    def read_metadata() -> dict[str, str]:
        with closing(sqlite3.connect(db_path)) as conn:
            return dict(conn.execute("SELECT key, value FROM metadata").fetchall())

    metadata = await hass.async_add_executor_job(read_metadata)
    for key in ("schema_version", "contract_version", "feature_set_version"):
        assert metadata.get(key, "").isdigit(), (key, metadata)
