"""GET /api/roomdb/export and /api/roomdb/health: authenticated, JSON, equal to SQLite."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus
import json
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.roomdb.const import DEFAULT_EXPORT_PATH, DOMAIN
from custom_components.roomdb.http import EXPORT_URL, HEALTH_URL

from .rooms.conftest import MAPPING, sql_by_domain, write_mapping


@pytest.fixture
def entry_options() -> dict[str, Any]:
    return {"write_interval": 0}


@pytest.fixture
async def entry(hass: HomeAssistant, mock_entry: MockConfigEntry) -> MockConfigEntry:
    for name in ("Kitchen", "Hall", "Office"):
        ar.async_get(hass).async_create(name)
    await write_mapping(hass, MAPPING)
    mock_entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    return mock_entry


async def test_export_on_empty_database(
    hass: HomeAssistant, entry: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    client = await hass_client()
    response = await client.get(EXPORT_URL)
    assert response.status == HTTPStatus.OK
    assert response.content_type == "application/json"
    document = await response.json()
    assert document["status"] == "ok"
    assert (document["counts"], document["by_domain"]) == ({}, {})
    assert document["generated_at"]


async def test_export_equals_sql_and_file(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    await hass.services.async_call(DOMAIN, "seed_from_mapping", {}, blocking=True)
    await hass.services.async_call(
        DOMAIN,
        "update_config",
        {"domain": "activity", "room_id": "hall", "config_data": {"note": "ünïcode"}},
        blocking=True,
    )
    freezer.tick(timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    client = await hass_client()
    document = await (await client.get(EXPORT_URL)).json()
    expected = await sql_by_domain(entry)
    assert document["by_domain"] == expected
    assert document["counts"] == {domain: len(rooms) for domain, rooms in expected.items()}
    on_disk = json.loads(
        await hass.async_add_executor_job(
            (Path(hass.config.config_dir) / DEFAULT_EXPORT_PATH).read_text
        )
    )
    assert on_disk["by_domain"] == expected


async def test_health(
    hass: HomeAssistant, entry: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    await hass.services.async_call(
        DOMAIN,
        "bulk_update",
        {
            "items": [
                {"domain": "activity", "room_id": "hall", "config_data": {}},
                {"domain": "ml", "room_id": "hall", "config_data": {}},
            ]
        },
        blocking=True,
    )
    client = await hass_client()
    response = await client.get(HEALTH_URL)
    assert response.status == HTTPStatus.OK
    health = await response.json()
    assert health["status"] == "ok"
    assert health["counters"] == {
        "writes": {"ok": 1, "retry": 0, "error": 0},
        "admission": {"denied": 1},
        "writes.ok": 1,
        "writes.retry": 0,
        "writes.error": 0,
        "admission.denied": 1,
    }
    assert health["limiter"]["interval"] == 0
    assert health["mapping"]["status"] == "valid"
    assert health["mapping"]["rooms"] == 3
    assert health["pipelines"]["activity"]["enabled"] is True
    assert health["pipelines"]["vacuum"]["optimistic_writeback"] is False
    assert health["export"]["pending"] is True


async def test_read_only_user_may_read(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    hass_read_only_access_token: str,
) -> None:
    client = await hass_client(hass_read_only_access_token)
    assert (await client.get(EXPORT_URL)).status == HTTPStatus.OK
    assert (await client.get(HEALTH_URL)).status == HTTPStatus.OK


async def test_unauthenticated_is_refused(
    hass: HomeAssistant, entry: MockConfigEntry, hass_client_no_auth: ClientSessionGenerator
) -> None:
    client = await hass_client_no_auth()
    for url in (EXPORT_URL, HEALTH_URL):
        response = await client.get(url)
        assert response.status == HTTPStatus.UNAUTHORIZED


async def test_not_loaded_is_503_json(
    hass: HomeAssistant, entry: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    await hass.config_entries.async_unload(entry.entry_id)
    client = await hass_client()
    for url in (EXPORT_URL, HEALTH_URL):
        response = await client.get(url)
        assert response.status == HTTPStatus.SERVICE_UNAVAILABLE
        body = await response.json()
        assert body == {"status": "unavailable", "message": "RoomDB is not loaded"}


async def test_database_trouble_is_503_not_500(
    hass: HomeAssistant, entry: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    client = await hass_client()
    await entry.runtime_data.database.close()
    response = await client.get(EXPORT_URL)
    assert response.status == HTTPStatus.SERVICE_UNAVAILABLE
    assert "cannot be read" in (await response.json())["message"]
