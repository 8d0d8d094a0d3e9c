"""The room database in a real Home Assistant process, over its REST API (slow suite: a real
process takes most of a minute; the in-process tests cover the same services)."""

from __future__ import annotations

import asyncio
from contextlib import closing
import json
from pathlib import Path
import sqlite3
from typing import Any

import aiohttp
import pytest

from tests.peers.home_assistant import HomeAssistantProcess

MAPPING = """\
version: "3.1"
rooms:
  kitchen:
    name: Kitchen
    capabilities: [motion_lighting, vacuum_control, activity]
    segment_id: "16"
  hall:
    name: Hall
    capabilities: [motion_lighting]
"""


def _rows(path: Path) -> dict[tuple[str, str], tuple[Any, int]]:
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT config_domain, room_id, config_data, version FROM room_configs"
        ).fetchall()
    return {(d, r): (json.loads(t), v) for d, r, t, v in rows}


async def _get(ha: HomeAssistantProcess, path: str, token: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with ha.session.get(f"{ha.url}{path}", headers=headers) as resp:
        if resp.status == 401:
            return resp.status, await resp.text()
        return resp.status, await resp.json()


@pytest.mark.slow
@pytest.mark.usefixtures("socket_enabled")
async def test_services_http_export_and_hard_kill(tmp_path: Path) -> None:
    config = tmp_path / "config"
    ha = HomeAssistantProcess(config)
    try:
        await ha.start_with_mapping(MAPPING)
        response = await ha.call_service(
            "roomdb",
            "update_config",
            {"domain": "motion_lighting", "room_id": "kitchen", "config_data": {"timeout": 90}},
        )
        assert response["service_response"] == {
            "status": "ok",
            "domain": "motion_lighting",
            "room_id": "kitchen",
            "version": 1,
            "action": "created",
        }
        with pytest.raises(aiohttp.ClientResponseError) as info:
            await ha.call_service(
                "roomdb",
                "update_config",
                {"domain": "vacuum_control", "room_id": "hall", "config_data": {}},
            )
        assert info.value.status == 400
        assert "may not hold" in info.value.message
        bulk = await ha.call_service(
            "roomdb",
            "bulk_update",
            {
                "items": [
                    {"domain": "activity", "room_id": "kitchen", "config_data": {"a": 1}},
                    {"domain": "ml", "room_id": "kitchen", "config_data": {}},
                ]
            },
        )
        assert [r["status"] for r in bulk["service_response"]["results"]] == ["ok", "denied"]

        status, document = await _get(ha, "/api/roomdb/export", ha.token)
        assert status == 200
        assert document["counts"] == {"activity": 1, "motion_lighting": 1}
        assert document["by_domain"]["motion_lighting"]["kitchen"]["config_data"] == {"timeout": 90}
        status, health = await _get(ha, "/api/roomdb/health", ha.token)
        assert status == 200
        assert health["counters"]["admission.denied"] == 2
        assert (await _get(ha, "/api/roomdb/export", None))[0] == 401

        export_file = config / "room_db_export.json"
        for _ in range(40):
            if export_file.exists():
                break
            await asyncio.sleep(0.1)
        assert json.loads(export_file.read_text())["by_domain"] == document["by_domain"]

        # Acknowledged writes survive a hard kill.
        ha.kill()
        assert _rows(config / "roomdb.db") == {
            ("motion_lighting", "kitchen"): ({"timeout": 90}, 1),
            ("activity", "kitchen"): ({"a": 1}, 1),
        }
        await ha.start()
        status, document = await _get(ha, "/api/roomdb/export", ha.token)
        assert status == 200
        assert document["counts"] == {"activity": 1, "motion_lighting": 1}
    finally:
        await ha.stop()
    log = ha.log_path.read_text()
    assert "ERROR (MainThread) [custom_components.roomdb" not in log, ha.log_tail()
