"""A real HA process with RoomDB survives SIGKILL with an intact database (harness smoke test).

Slow suite: the default suite keeps one real-process test, the three crash rounds of
`test_crash_safety.py`, which also kill the process and check the database.
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
import sqlite3

import pytest

from tests.peers.home_assistant import HomeAssistantProcess


def _integrity(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.mark.slow
@pytest.mark.usefixtures("socket_enabled")
async def test_kill_and_restart_keeps_database(tmp_path: Path) -> None:
    ha = HomeAssistantProcess(tmp_path / "config")
    try:
        await ha.start()
        await ha.setup_roomdb(
            {"mapping_path": "roomdb/area_mapping.yaml", "export_path": "room_db_export.json"}
        )
        response = await ha.call_service("roomdb", "backup", {"path": "copies/one.db"})
        assert response["service_response"]["status"] == "ok"
        ha.kill()
        assert _integrity(ha.config_dir / "roomdb.db") == "ok"
        await ha.start()
        entries = await ha.request("GET", "/api/config/config_entries/entry?domain=roomdb")
        assert entries[0]["state"] == "loaded"
    finally:
        await ha.stop()
