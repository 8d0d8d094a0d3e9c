"""HA backup hooks: the database file is complete and quiet while a backup copies it."""

from __future__ import annotations

import asyncio
from contextlib import closing
from pathlib import Path
import sqlite3

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb import backup


def _read_main_file_only(path: Path) -> dict[str, str]:
    """Read the main file as a backup tool would copy it: without the WAL."""
    copy = path.with_name("copy.db")
    copy.write_bytes(path.read_bytes())
    with closing(sqlite3.connect(copy)) as conn:
        return dict(conn.execute("SELECT key, value FROM metadata").fetchall())


async def test_pre_backup_checkpoints_and_pauses(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    database = loaded_entry.runtime_data.database
    database.enqueue("INSERT INTO metadata (key, value) VALUES (?, ?)", [("queued", "1")])
    await backup.async_pre_backup(hass)
    assert database.writes_paused
    copied = await hass.async_add_executor_job(_read_main_file_only, database.path)
    assert copied["queued"] == "1"

    held = hass.async_create_task(
        database.execute_write("INSERT INTO metadata (key, value) VALUES ('held', '1')")
    )
    await asyncio.sleep(0.05)
    assert not held.done()

    await backup.async_post_backup(hass)
    await held
    assert not database.writes_paused
    assert await database.get_metadata("held") == "1"
