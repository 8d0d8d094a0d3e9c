"""A real Home Assistant finds RoomDB's event buffer file unreadable: the stream carries on.

Home Assistant's ``Store`` renames a file that is not JSON to ``<name>.corrupt.<time>`` and loads
nothing. RoomDB must then keep its ``device_key``, continue numbering above every number it sent
(the second record in ``roomdb.db``) and raise its own repair issue naming the kept copy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.peers.home_assistant import HomeAssistantProcess
from tests.peers.ingest_server import IngestServer

TOKEN = "storage-test-token"
ROOMS = [f"room_{n}" for n in range(8)]
MAPPING = 'version: "3.1"\nrooms:\n' + "".join(
    f"  {room}: {{name: {room}, capabilities: [motion_lighting]}}\n" for room in ROOMS
)


async def _write(ha: HomeAssistantProcess, n: int) -> None:
    response = await ha.call_service(
        "roomdb",
        "update_config",
        {"domain": "motion_lighting", "room_id": ROOMS[n], "config_data": {"n": n}},
    )
    assert response["service_response"]["status"] == "ok"


@pytest.mark.slow
@pytest.mark.usefixtures("socket_enabled")
async def test_garbage_in_the_buffer_file_keeps_the_stream_and_raises_the_issue(
    tmp_path: Path,
) -> None:
    config_dir = tmp_path / "config"
    ha = HomeAssistantProcess(config_dir)
    (config_dir / "roomdb").mkdir(parents=True, exist_ok=True)
    (config_dir / "roomdb" / "area_mapping.yaml").write_text(MAPPING)
    peer = IngestServer(TOKEN)
    await peer.start()
    try:
        await ha.start()
        await ha.setup_roomdb(
            {"mapping_path": "roomdb/area_mapping.yaml", "export_path": "room_db_export.json"}
        )
        await ha.enable_event_stream(peer.url, TOKEN)
        for n in range(5):
            await _write(ha, n)
        stats = (await ha.call_service("roomdb", "flush_events", {}))["service_response"]
        (key, _vendor) = peer.streams()[0]
        sent = peer.sequences(key)
        assert stats["pending"] == 0
        assert len(sent) >= 5

        await ha.stop()
        buffer_file = config_dir / ".storage" / "roomdb.events"
        buffer_file.write_text('{"version": 1, "data": {"device_key": "oops", ')  # not JSON
        await ha.start()
        for n in range(5, 8):
            await _write(ha, n)
        await ha.call_service("roomdb", "flush_events", {})

        assert peer.streams() == [(key, "home_assistant")], "a new device key started a stream"
        after = peer.sequences(key)
        assert after[: len(sent)] == sent
        assert after[len(sent)] > sent[-1]
        assert peer.conflicts == 0
        kept = sorted((config_dir / ".storage").glob("roomdb.events.corrupt.*"))
        assert len(kept) == 1
        issues = await ha.ws_command({"type": "repairs/list_issues"})
        ours = [i for i in issues["issues"] if i["domain"] == "roomdb"]
        assert [i["issue_id"] for i in ours] == ["event_buffer_reset"]
        assert ours[0]["translation_placeholders"]["kept_as"] == kept[0].name
    finally:
        await ha.stop()
        await peer.stop()
