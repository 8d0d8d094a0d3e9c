"""Crash safety: SIGKILL a real Home Assistant while RoomDB writes, restart, check nothing is lost.

Each round drives room-config writes (acknowledged service calls) and state changes (event
ingest) through HA's REST API, kills HA at a random moment, and checks on the file itself:
`PRAGMA integrity_check` is ok, every acknowledged write is present (at its acknowledged version or
later), and the export file is a complete JSON document or absent — never a torn one. Then HA
restarts and RoomDB must load again. RoomDB's event stream goes to the reference ingest peer the
whole time: at the end no sequence number was ever reused for a different event, after a flush
the peer holds every number without a hole, and every committed version of every room config
reached the peer as exactly one `config_changed` event. 3 rounds by default, 20 with
`scripts/test --slow`.
"""

from __future__ import annotations

import asyncio
from contextlib import closing, suppress
import json
from pathlib import Path
import random
import sqlite3

import aiohttp
import pytest

from tests.peers.home_assistant import HomeAssistantProcess
from tests.peers.ingest_server import IngestServer

PEER_TOKEN = "crash-test-token"

ROOMS = ("kitchen", "living", "bedroom", "office")
DOMAIN_PAIRS = [("motion_lighting", room) for room in ROOMS] + [("activity", "office")]
MAPPING = """version: "3.1"
rooms:
  kitchen: {name: Kitchen, capabilities: [motion_lighting, activity]}
  living: {name: Living room, capabilities: [motion_lighting, activity]}
  bedroom: {name: Bedroom, capabilities: [motion_lighting]}
  office: {name: Office, capabilities: [motion_lighting, activity]}
"""


def _check_database(path: Path, acked: dict[tuple[str, str], tuple[int, int]]) -> None:
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        for (domain, room), (counter, version) in acked.items():
            row = conn.execute(
                "SELECT config_data, version FROM room_configs "
                "WHERE config_domain = ? AND room_id = ?",
                (domain, room),
            ).fetchone()
            assert row is not None, f"acknowledged write {domain}/{room} lost"
            assert json.loads(row[0])["n"] >= counter, (domain, room, row, counter)
            assert row[1] >= version, (domain, room, row, version)


def _check_every_change_has_one_event(path: Path, peer: IngestServer, device_key: str) -> None:
    """Every committed version of every row reached the peer as exactly one config_changed."""
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT config_domain, room_id, version FROM room_configs").fetchall()
    committed = sorted((d, r, v) for d, r, last in rows for v in range(1, last + 1))
    seen = sorted(
        (e["data"]["domain"], e["data"]["room_id"], e["data"]["version"])
        for e in peer.events(device_key)
        if e["event_type"] == "config_changed"
    )
    assert seen == committed, (
        f"{len(set(committed) - set(seen))} committed changes without an event, "
        f"{len(seen) - len(set(seen))} with more than one"
    )


def _check_export(path: Path) -> None:
    if not path.exists():
        return
    document = json.loads(path.read_text())
    assert document["status"] == "ok"
    assert "by_domain" in document


async def _write_until_killed(
    ha: HomeAssistantProcess,
    rng: random.Random,
    acked: dict[tuple[str, str], tuple[int, int]],
    counter: list[int],
) -> None:
    while True:
        counter[0] += 1
        n = counter[0]
        domain, room = rng.choice(DOMAIN_PAIRS)
        try:
            await ha.request(
                "POST",
                f"/api/states/binary_sensor.motion_{room}",
                {"state": rng.choice(["on", "off"]), "attributes": {"device_class": "motion"}},
            )
            response = await ha.call_service(
                "roomdb",
                "update_config",
                {"domain": domain, "room_id": room, "config_data": {"n": n}},
            )
        except TimeoutError, aiohttp.ClientError, ConnectionError:
            await asyncio.sleep(0.01)
            continue
        result = response["service_response"]
        if result.get("status") == "ok":
            acked[(domain, room)] = (n, int(result["version"]))


async def _crash_rounds(tmp_path: Path, rounds: int, seed: int) -> None:
    rng = random.Random(seed)
    config_dir = tmp_path / "config"
    ha = HomeAssistantProcess(config_dir)
    (config_dir / "roomdb").mkdir(parents=True, exist_ok=True)
    (config_dir / "roomdb" / "area_mapping.yaml").write_text(MAPPING)
    acked: dict[tuple[str, str], tuple[int, int]] = {}
    counter = [0]
    peer = IngestServer(PEER_TOKEN)
    await peer.start()
    try:
        await ha.start()
        await ha.setup_roomdb(
            {"mapping_path": "roomdb/area_mapping.yaml", "export_path": "room_db_export.json"}
        )
        await ha.enable_event_stream(
            peer.url,
            PEER_TOKEN,
            event_buffer_size=2000,
            event_include_state_changes=True,
        )
        for _ in range(rounds):
            writer = asyncio.create_task(_write_until_killed(ha, rng, acked, counter))
            await asyncio.sleep(rng.uniform(0.5, 2.5))
            ha.kill()
            writer.cancel()
            with suppress(asyncio.CancelledError):
                await writer
            _check_database(config_dir / "roomdb.db", acked)
            _check_export(config_dir / "room_db_export.json")
            await ha.start()
        assert acked, "no write was acknowledged: the test exercised nothing"
        stats = (await ha.call_service("roomdb", "flush_events", {}))["service_response"]
        assert stats["state"] == "ok", stats
        assert peer.conflicts == 0, "a sequence number was reused for a different event"
        (device_key, vendor) = peer.streams()[0]
        sequences = peer.sequences(device_key, vendor)
        assert len(sequences) > 10
        assert sequences == list(range(sequences[0], sequences[-1] + 1)), "hole in the stream"
        _check_every_change_has_one_event(config_dir / "roomdb.db", peer, device_key)
    finally:
        await ha.stop()
        await peer.stop()


@pytest.mark.usefixtures("socket_enabled")
async def test_sigkill_rounds_lose_nothing(tmp_path: Path) -> None:
    """One round on every run (each round starts Home Assistant again); the slow suite runs 20."""
    await _crash_rounds(tmp_path, rounds=1, seed=1)


@pytest.mark.slow
@pytest.mark.usefixtures("socket_enabled")
async def test_sigkill_rounds_lose_nothing_slow(tmp_path: Path) -> None:
    await _crash_rounds(tmp_path, rounds=20, seed=2)
