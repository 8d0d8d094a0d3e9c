"""Every path a user gives RoomDB follows one policy: RoomDB destroys no file it did not write.

Each entry point that takes a path (`roomdb.backup`, `roomdb.validate_mapping`, the setup and
reconfigure forms, the options flow's mapping generator) is driven through its public contract
against a config folder full of Home Assistant's own files, user files, special files and links
to the live database. A refusal must be translated and name the path, and the whole folder must
be byte-for-byte (and inode-for-inode) what it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing
from pathlib import Path
import sqlite3
import time
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.const import CONF_EXPORT_PATH, CONF_MAPPING_PATH, DOMAIN
from custom_components.roomdb.db.database import Database

from .files import ROOMDB_APPLICATION_ID, changed, plant_dangers, snapshot

PATH_KEYS = {
    "path_invalid",
    "path_absolute",
    "path_outside_config",
    "path_public",
    "path_is_database",
    "path_protected",
    "path_wrong_suffix",
    "path_not_file",
    "path_in_use",
    "path_not_roomdb",
}


@pytest.fixture
def config_dir(hass: HomeAssistant) -> Path:
    return Path(hass.config.config_dir)


@pytest.fixture
def held_open(config_dir: Path) -> Iterator[None]:
    """Hold zigbee.db and the recorder's database open, as their integrations do."""
    plant_dangers(config_dir)
    with (
        closing(sqlite3.connect(config_dir / "zigbee.db")) as zigbee,
        closing(sqlite3.connect(config_dir / "home-assistant_v2.db")) as recorder,
    ):
        zigbee.execute("SELECT * FROM t").fetchall()
        recorder.execute("SELECT * FROM t").fetchall()
        yield


@pytest.fixture
async def dangerous(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, config_dir: Path, held_open: None
) -> MockConfigEntry:
    """RoomDB loaded (so roomdb.db exists) in a config folder full of dangers."""
    await hass.async_add_executor_job(plant_dangers, config_dir)
    return loaded_entry


async def _refused(
    hass: HomeAssistant, config_dir: Path, service: str, cases: list[tuple[str, str]]
) -> None:
    """Call `service` with each path; each must be refused with its key and change nothing.

    The cases share one Home Assistant (one setup instead of one per path); every mismatch is
    collected, so one run shows them all.
    """
    wrong: list[str] = []
    for path, key in cases:
        before = await hass.async_add_executor_job(snapshot, config_dir)
        started = time.monotonic()
        try:
            await hass.services.async_call(
                DOMAIN, service, {"path": path}, blocking=True, return_response=True
            )
        except ServiceValidationError as err:
            got = (err.translation_domain, err.translation_key, err.translation_placeholders)
        else:
            got = None
        elapsed = time.monotonic() - started
        after = await hass.async_add_executor_job(snapshot, config_dir)
        if got is None or got[:2] != (DOMAIN, key) or (got[2] or {}).get("path") != path:
            wrong.append(f"{path!r}: expected {key}, got {got}")
        if changed(before, after):
            wrong.append(f"{path!r} changed {sorted(changed(before, after))}")
        if elapsed > 5:  # a FIFO must never block a thread
            wrong.append(f"{path!r} took {elapsed:.1f} s")
    assert not wrong, "\n".join(wrong)


# ---------------------------------------------------------------------------------- backup


BACKUP_CASES = [
    ("roomdb.db", "path_is_database"),
    ("ROOMDB.DB", "path_is_database"),
    ("./roomdb.db", "path_is_database"),
    ("roomdb.db-wal", "path_is_database"),
    ("roomdb.db-shm", "path_is_database"),
    ("roomdb.db-journal", "path_is_database"),
    ("link_db.db", "path_is_database"),
    ("hard_db.db", "path_is_database"),
    ("roomdb.db/", "path_is_database"),
    ("configuration.yaml", "path_protected"),
    ("Configuration.YAML", "path_protected"),
    ("secrets.yaml", "path_protected"),
    ("home-assistant_v2.db", "path_protected"),
    ("hard_recorder.db", "path_protected"),
    (".storage/core.config_entries", "path_protected"),
    (".storage/new.db", "path_protected"),
    ("link_storage/new.db", "path_protected"),
    (".HA_VERSION", "path_protected"),
    (".cloud/x.db", "path_protected"),
    ("custom_components/roomdb/manifest.json", "path_protected"),
    ("custom_components/copy.db", "path_protected"),
    ("deps/x.db", "path_protected"),
    ("backups/x.db", "path_protected"),
    ("blueprints/x.db", "path_protected"),
    ("tts/x.db", "path_protected"),
    ("www/x.db", "path_public"),
    ("notes.txt", "path_wrong_suffix"),
    ("mine.json", "path_wrong_suffix"),
    ("x.db-wal", "path_wrong_suffix"),
    ("folder.db", "path_not_file"),
    ("fifo.db", "path_not_file"),
    ("new/", "path_not_file"),
    ("zigbee.db", "path_in_use"),
    ("mine.db", "path_not_roomdb"),
    ("mine.sqlite", "path_not_roomdb"),
    ("a/../roomdb.db", "path_outside_config"),
    ("bad\x00name.db", "path_invalid"),
    ("é" * 130 + ".db", "path_invalid"),
    ("line\nbreak.db", "path_invalid"),
    ("notes.txt/x.db", "path_invalid"),
]


@pytest.mark.usefixtures("dangerous")
async def test_backup_refuses(hass: HomeAssistant, config_dir: Path) -> None:
    await _refused(hass, config_dir, "backup", BACKUP_CASES)


async def test_backup_replaces_only_its_own_backups(
    hass: HomeAssistant, dangerous: MockConfigEntry, config_dir: Path
) -> None:
    before = await hass.async_add_executor_job(snapshot, config_dir)
    for path in ("own_backup.db", "fresh/one.sqlite3", "fresh/one.sqlite3"):
        response = await hass.services.async_call(
            DOMAIN, "backup", {"path": path}, blocking=True, return_response=True
        )
        assert response is not None and response["status"] == "ok"
    after = await hass.async_add_executor_job(snapshot, config_dir)
    assert changed(before, after) == {"own_backup.db", "fresh", "fresh/one.sqlite3"}


def _application_id(path: Path) -> int:
    with path.open("rb") as handle:
        return int.from_bytes(handle.read(100)[68:72], "big")


async def test_database_and_backups_carry_roomdbs_application_id(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, config_dir: Path
) -> None:
    response = await hass.services.async_call(
        DOMAIN, "backup", {"path": "copies/a.db"}, blocking=True, return_response=True
    )
    assert response is not None
    backup_id = await hass.async_add_executor_job(_application_id, Path(str(response["path"])))
    assert backup_id == ROOMDB_APPLICATION_ID
    row = await loaded_entry.runtime_data.database.fetchone("PRAGMA application_id")
    assert row is not None and row[0] == ROOMDB_APPLICATION_ID


def _listing(directory: Path) -> set[str]:
    return {path.name for path in directory.iterdir()} if directory.exists() else set()


async def test_six_concurrent_backups_to_one_path(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, config_dir: Path
) -> None:
    calls = [
        hass.services.async_call(
            DOMAIN, "backup", {"path": "copies/same.db"}, blocking=True, return_response=True
        )
        for _ in range(6)
    ]
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            assert isinstance(result, ServiceValidationError), repr(result)
        else:
            assert result is not None and result["status"] == "ok"
    assert any(not isinstance(result, BaseException) for result in results)
    assert await hass.async_add_executor_job(_listing, config_dir / "copies") == {"same.db"}
    target = config_dir / "copies" / "same.db"
    assert await hass.async_add_executor_job(_application_id, target) == ROOMDB_APPLICATION_ID


async def test_failed_backup_leaves_nothing_behind(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, config_dir: Path
) -> None:
    await hass.async_add_executor_job((config_dir / "copies").mkdir)

    async def broken(self: Database, target: Path) -> None:
        await hass.async_add_executor_job(target.write_bytes, b"half a database")
        raise sqlite3.OperationalError("disk I/O error")

    with (
        patch.object(Database, "backup_to", broken),
        pytest.raises(HomeAssistantError) as info,
    ):
        await hass.services.async_call(
            DOMAIN, "backup", {"path": "copies/x.db"}, blocking=True, return_response=True
        )
    assert info.value.translation_key == "backup_failed"
    assert await hass.async_add_executor_job(_listing, config_dir / "copies") == set()


async def test_cancelled_backup_leaves_nothing_behind(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, config_dir: Path
) -> None:
    await hass.async_add_executor_job((config_dir / "copies").mkdir)
    started = asyncio.Event()

    async def stuck(self: Database, target: Path) -> None:
        await hass.async_add_executor_job(target.write_bytes, b"half a database")
        started.set()
        await asyncio.Event().wait()

    with patch.object(Database, "backup_to", stuck):
        task = hass.async_create_task(
            hass.services.async_call(
                DOMAIN, "backup", {"path": "copies/x.db"}, blocking=True, return_response=True
            )
        )
        await started.wait()
        assert await hass.async_add_executor_job(_listing, config_dir / "copies") != set()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await hass.async_block_till_done()
    assert await hass.async_add_executor_job(_listing, config_dir / "copies") == set()


# ------------------------------------------------------------------------- validate_mapping


VALIDATE_CASES = [
    ("roomdb.db", "path_is_database"),
    ("roomdb.db-shm", "path_is_database"),
    ("roomdb.db-wal", "path_is_database"),
    ("RoomDB.db-SHM", "path_is_database"),
    ("roomdb.db-journal", "path_is_database"),
    ("link_db.yaml", "path_is_database"),
    ("hard_db.yaml", "path_is_database"),
    ("configuration.yaml", "path_protected"),
    ("secrets.yaml", "path_protected"),
    ("link_cfg.yaml", "path_protected"),
    ("hard_cfg.yaml", "path_protected"),
    ("hard_recorder.yaml", "path_protected"),
    ("home-assistant.log", "path_protected"),
    (".storage/core.config_entries", "path_protected"),
    ("link_storage/core.config_entries", "path_protected"),
    ("blueprints/automation/x.yaml", "path_protected"),
    ("custom_components/roomdb/manifest.json", "path_protected"),
    ("hard_zigbee.yaml", "path_in_use"),
    ("fifo.yaml", "path_not_file"),
    ("sock.yaml", "path_not_file"),
    ("folder.yaml", "path_not_file"),
    ("notes.txt", "path_wrong_suffix"),
    ("zigbee.db", "path_wrong_suffix"),
    ("link_out.yaml", "path_outside_config"),
]


@pytest.mark.usefixtures("dangerous")
async def test_validate_mapping_refuses(hass: HomeAssistant, config_dir: Path) -> None:
    await _refused(hass, config_dir, "validate_mapping", VALIDATE_CASES)


async def test_validate_mapping_reads_user_yaml(
    hass: HomeAssistant, dangerous: MockConfigEntry, config_dir: Path
) -> None:
    before = await hass.async_add_executor_job(snapshot, config_dir)
    for path in ("mine.yaml", "mine.yml", "unicode/küche ☃.yaml", "roomdb/generated.yaml"):
        response = await hass.services.async_call(
            DOMAIN, "validate_mapping", {"path": path}, blocking=True, return_response=True
        )
        assert response is not None
        assert response["valid"] is (path == "roomdb/generated.yaml"), path
    assert changed(before, await hass.async_add_executor_job(snapshot, config_dir)) == set()


# ------------------------------------------------------------------------------ config flows

FLOW_CASES = [
    (CONF_EXPORT_PATH, "roomdb.db", "path_is_database"),
    (CONF_EXPORT_PATH, "roomdb.db-wal", "path_is_database"),
    (CONF_EXPORT_PATH, "link_db.json", "path_is_database"),
    (CONF_EXPORT_PATH, "hard_db.json", "path_is_database"),
    (CONF_EXPORT_PATH, ".storage/core.config_entries", "path_protected"),
    (CONF_EXPORT_PATH, "custom_components/roomdb/manifest.json", "path_protected"),
    (CONF_EXPORT_PATH, "hard_cfg.json", "path_protected"),
    (CONF_EXPORT_PATH, "roomdb/area_mapping.yaml", "path_wrong_suffix"),
    (CONF_EXPORT_PATH, "mine.json", "path_not_roomdb"),
    (CONF_EXPORT_PATH, "exports/keep.json", "path_not_roomdb"),
    (CONF_EXPORT_PATH, "folder.json", "path_not_file"),
    (CONF_EXPORT_PATH, "fifo.json", "path_not_file"),
    (CONF_EXPORT_PATH, "hard_zigbee.json", "path_in_use"),
    (CONF_MAPPING_PATH, "roomdb.db", "path_is_database"),
    (CONF_MAPPING_PATH, "configuration.yaml", "path_protected"),
    (CONF_MAPPING_PATH, "hard_db.yaml", "path_is_database"),
    (CONF_MAPPING_PATH, "fifo.yaml", "path_not_file"),
    (CONF_MAPPING_PATH, "room_db_export.json", "path_wrong_suffix"),
]
GOOD = {CONF_MAPPING_PATH: "roomdb/area_mapping.yaml", CONF_EXPORT_PATH: "room_db_export.json"}


@pytest.fixture
async def dangerous_unloaded(
    hass: HomeAssistant, removed_entry: None, config_dir: Path, held_open: None
) -> None:
    """The dangerous folder (with roomdb.db), and no RoomDB entry."""
    await hass.async_add_executor_job(plant_dangers, config_dir)


async def _form_refusals(
    hass: HomeAssistant, config_dir: Path, submit: Callable[[dict[str, str]], Awaitable[Any]]
) -> list[str]:
    """Submit each flow case; each must be refused on its field with its key, touching nothing."""
    wrong: list[str] = []
    for field, path, key in FLOW_CASES:
        before = await hass.async_add_executor_job(snapshot, config_dir)
        result = await submit({**GOOD, field: path})
        after = await hass.async_add_executor_job(snapshot, config_dir)
        got = (result["type"], result.get("errors"), result.get("description_placeholders"))
        if got[:2] != (FlowResultType.FORM, {field: key}) or (got[2] or {}).get("path") != path:
            wrong.append(f"{field}={path!r}: expected {key}, got {got}")
        if changed(before, after):
            wrong.append(f"{field}={path!r} changed {sorted(changed(before, after))}")
    return wrong


@pytest.mark.usefixtures("dangerous_unloaded")
async def test_user_step_refuses(hass: HomeAssistant, config_dir: Path) -> None:
    async def submit(data: dict[str, str]) -> Any:
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        return await hass.config_entries.flow.async_configure(result["flow_id"], data)

    wrong = await _form_refusals(hass, config_dir, submit)
    assert not wrong, "\n".join(wrong)
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_reconfigure_refuses(
    hass: HomeAssistant, dangerous: MockConfigEntry, config_dir: Path
) -> None:
    async def submit(data: dict[str, str]) -> Any:
        result = await dangerous.start_reconfigure_flow(hass)
        return await hass.config_entries.flow.async_configure(result["flow_id"], data)

    before = dict(dangerous.data)
    wrong = await _form_refusals(hass, config_dir, submit)
    assert not wrong, "\n".join(wrong)
    assert dict(dangerous.data) == before


async def test_reconfigure_accepts_roomdbs_own_export(
    hass: HomeAssistant, dangerous: MockConfigEntry
) -> None:
    result = await dangerous.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**GOOD, CONF_EXPORT_PATH: "old_export.json"}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"


# -------------------------------------------------------------------------- generate mapping


async def _generate(hass: HomeAssistant, entry: MockConfigEntry, path: str) -> dict[str, Any]:
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_MAPPING_PATH: path})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "generate_mapping"}
    )
    return dict(
        await hass.config_entries.options.async_configure(result["flow_id"], {"overwrite": True})
    )


GENERATE_CASES = [
    ("mine.yaml", "path_not_roomdb"),
    ("mine.yml", "path_not_roomdb"),
    ("automations.yaml", "path_protected"),
    ("configuration.yaml", "path_protected"),
    ("hard_cfg.yaml", "path_protected"),
    ("link_cfg.yaml", "path_protected"),
    ("hard_db.yaml", "path_is_database"),
    ("fifo.yaml", "path_not_file"),
    ("folder.yaml", "path_not_file"),
    ("roomdb.db", "path_is_database"),
    ("hard_zigbee.yaml", "path_in_use"),
]


async def test_generate_mapping_never_replaces_a_foreign_file(
    hass: HomeAssistant, dangerous: MockConfigEntry, config_dir: Path
) -> None:
    wrong: list[str] = []
    for path, key in GENERATE_CASES:
        before = await hass.async_add_executor_job(snapshot, config_dir)
        result = await _generate(hass, dangerous, path)
        after = await hass.async_add_executor_job(snapshot, config_dir)
        got = (result["type"], result.get("errors"), result.get("description_placeholders"))
        if got[:2] != (FlowResultType.FORM, {"base": key}) or (got[2] or {}).get("path") != path:
            wrong.append(f"{path!r}: expected {key}, got {got}")
        if changed(before, after):
            wrong.append(f"{path!r} changed {sorted(changed(before, after))}")
    assert not wrong, "\n".join(wrong)


async def test_generate_mapping_replaces_its_own_mapping(
    hass: HomeAssistant, dangerous: MockConfigEntry, config_dir: Path
) -> None:
    before = await hass.async_add_executor_job(snapshot, config_dir)
    result = await _generate(hass, dangerous, "roomdb/generated.yaml")
    assert result["type"] is FlowResultType.ABORT
    assert changed(before, await hass.async_add_executor_job(snapshot, config_dir)) == {
        "roomdb/generated.yaml"
    }


# ------------------------------------------------------------------------------ the exporter


async def test_export_never_replaces_a_foreign_file_that_appeared_later(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, config_dir: Path
) -> None:
    export = config_dir / "room_db_export.json"
    await hass.async_add_executor_job(export.write_text, '{"mine": true}')
    with pytest.raises(HomeAssistantError) as info:
        await hass.services.async_call(DOMAIN, "export", {}, blocking=True, return_response=True)
    assert info.value.translation_key == "export_failed"
    assert "not written by RoomDB" in info.value.translation_placeholders["error"]
    assert await hass.async_add_executor_job(export.read_text) == '{"mine": true}'
    # Once the user moves it away, RoomDB writes its export (with its marker) again.
    await hass.async_add_executor_job(export.unlink)
    document = await hass.services.async_call(
        DOMAIN, "export", {}, blocking=True, return_response=True
    )
    assert document is not None and document["exported_by"] == "roomdb"
    await hass.services.async_call(DOMAIN, "export", {}, blocking=True, return_response=True)


async def test_setup_refuses_an_unsafe_stored_export_path(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={CONF_MAPPING_PATH: "roomdb/area_mapping.yaml", CONF_EXPORT_PATH: "roomdb.db"},
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    assert entry.state.name == "SETUP_ERROR"
    database = Path(hass.config.config_dir) / "roomdb.db"
    assert not await hass.async_add_executor_job(database.exists)
