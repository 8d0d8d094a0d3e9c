"""A real Home Assistant survives being asked to read its own live database files.

Closing any descriptor of a file drops every POSIX lock this process holds on it (SQLite's "How
To Corrupt Your Database Files", 2.2). If RoomDB opened `roomdb.db-shm` inside Home Assistant's
process and closed it again, the next outside reader would find the WAL index unlocked,
re-initialise it, and Home Assistant would die of SIGBUS. RoomDB must refuse these paths without
opening them; afterwards an outside reader queries the database and Home Assistant keeps working.
"""

from __future__ import annotations

from contextlib import closing
import os
from pathlib import Path
import sqlite3

import aiohttp
import pytest

from tests.peers.home_assistant import HomeAssistantProcess

MAPPING = """\
version: "3.1"
rooms:
  hall:
    name: Hall
    capabilities: [activity]
  den:
    name: Den
    capabilities: [activity]
"""


def _outside_reader(path: Path) -> int:
    with closing(sqlite3.connect(path, timeout=10)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM room_configs").fetchone()[0])


@pytest.mark.slow
@pytest.mark.usefixtures("socket_enabled")
async def test_live_database_files_are_never_opened(tmp_path: Path) -> None:
    config = tmp_path / "config"
    ha = HomeAssistantProcess(config)
    try:
        await ha.start_with_mapping(MAPPING)
        first = await ha.call_service(
            "roomdb",
            "update_config",
            {"domain": "activity", "room_id": "hall", "config_data": {"n": 1}},
        )
        assert first["service_response"]["version"] == 1
        # A hardlink gives the shared-memory file a harmless name; only its inode gives it away.
        os.link(config / "roomdb.db-shm", config / "notes.yaml")
        for name in ("roomdb.db-shm", "roomdb.db-wal", "roomdb.db", "ROOMDB.DB-SHM", "notes.yaml"):
            with pytest.raises(aiohttp.ClientResponseError) as info:
                await ha.call_service("roomdb", "validate_mapping", {"path": name})
            assert info.value.status == 400, info.value
            assert "live database" in info.value.message, info.value.message
        assert _outside_reader(config / "roomdb.db") == 1
        assert ha.running, ha.log_tail()
        second = await ha.call_service(
            "roomdb",
            "update_config",
            {"domain": "activity", "room_id": "den", "config_data": {"n": 2}},
        )
        assert second["service_response"]["version"] == 1
        assert _outside_reader(config / "roomdb.db") == 2
        assert ha.running, ha.log_tail()
    finally:
        await ha.stop()
