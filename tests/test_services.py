"""The backup service: a consistent copy inside the config dir, and nothing else."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
import sqlite3
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.setup import async_setup_component
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.const import DOMAIN


def _read_metadata(path: Path) -> dict[str, str]:
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return dict(conn.execute("SELECT key, value FROM metadata").fetchall())


def _listing(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


async def test_backup_to_default_location(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    database = loaded_entry.runtime_data.database
    await database.execute_write("INSERT INTO metadata (key, value) VALUES ('who', 'me')")
    response = await hass.services.async_call(
        DOMAIN, "backup", {}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["status"] == "ok"
    target = Path(str(response["path"]))
    config_dir = Path(hass.config.config_dir).resolve()
    assert target.parent == config_dir / "roomdb_backups"
    assert target.name.startswith("roomdb-") and target.suffix == ".db"
    metadata = await hass.async_add_executor_job(_read_metadata, target)
    assert metadata["who"] == "me"
    assert response["size_bytes"] == (await hass.async_add_executor_job(target.stat)).st_size


async def test_backup_to_chosen_relative_path(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    response = await hass.services.async_call(
        DOMAIN, "backup", {"path": "safe/nightly.db"}, blocking=True, return_response=True
    )
    assert response is not None
    config_dir = Path(hass.config.config_dir).resolve()
    assert Path(str(response["path"])) == config_dir / "safe" / "nightly.db"
    leftovers = await hass.async_add_executor_job(_listing, config_dir / "safe")
    assert leftovers == {"nightly.db"}


@pytest.mark.parametrize(
    ("path", "translation_key"),
    [
        ("../escape.db", "path_outside_config"),
        ("safe/../../escape.db", "path_outside_config"),
        ("/tmp/escape.db", "path_absolute"),
        ("C:/escape.db", "path_absolute"),
        ("www/roomdb.db", "path_public"),
        ("   ", "path_invalid"),
        ("roomdb.db", "path_is_database"),
        ("roomdb.db-wal", "path_is_database"),
    ],
)
async def test_backup_refuses_unsafe_paths(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, path: str, translation_key: str
) -> None:
    config_dir = Path(hass.config.config_dir)
    before = await hass.async_add_executor_job(_listing, config_dir)
    with pytest.raises(ServiceValidationError) as info:
        await hass.services.async_call(
            DOMAIN, "backup", {"path": path}, blocking=True, return_response=True
        )
    assert info.value.translation_key == translation_key
    assert info.value.translation_domain == DOMAIN
    assert await hass.async_add_executor_job(_listing, config_dir) == before


async def test_backup_refuses_symlink_escape(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    link = Path(hass.config.config_dir) / "link"
    await hass.async_add_executor_job(link.symlink_to, outside, True)
    with pytest.raises(ServiceValidationError) as info:
        await hass.services.async_call(
            DOMAIN, "backup", {"path": "link/escape.db"}, blocking=True, return_response=True
        )
    assert info.value.translation_key == "path_outside_config"
    assert await hass.async_add_executor_job(_listing, outside) == set()


async def test_backup_write_failure_is_translated(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    def full_disk(**_: object) -> tuple[int, str]:
        raise OSError(28, "No space left on device")

    with (
        patch("custom_components.roomdb.services.tempfile.mkstemp", full_disk),
        pytest.raises(HomeAssistantError) as info,
    ):
        await hass.services.async_call(
            DOMAIN, "backup", {"path": "copies/copy.db"}, blocking=True, return_response=True
        )
    assert info.value.translation_key == "backup_failed"
    assert "No space left" in info.value.translation_placeholders["error"]


async def test_backup_refuses_a_path_through_a_file(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    blocker = Path(hass.config.config_dir) / "blocked"
    await hass.async_add_executor_job(blocker.write_text, "a file, not a folder")
    with pytest.raises(ServiceValidationError) as info:
        await hass.services.async_call(
            DOMAIN, "backup", {"path": "blocked/copy.db"}, blocking=True, return_response=True
        )
    assert info.value.translation_key == "path_invalid"
    assert await hass.async_add_executor_job(blocker.read_text) == "a file, not a folder"


async def test_backup_schema_rejects_bad_types(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    config_dir = Path(hass.config.config_dir)
    before = await hass.async_add_executor_job(_listing, config_dir)
    for bad in ({"path": ["a"]}, {"path": "x" * 300}, {"other": 1}, {"path": None}):
        with pytest.raises(vol.Invalid):
            await hass.services.async_call(
                DOMAIN, "backup", bad, blocking=True, return_response=True
            )
    assert await hass.async_add_executor_job(_listing, config_dir) == before


async def test_services_answer_when_not_loaded(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    with pytest.raises(ServiceValidationError) as info:
        await hass.services.async_call(DOMAIN, "backup", {}, blocking=True, return_response=True)
    assert info.value.translation_key == "not_loaded"
