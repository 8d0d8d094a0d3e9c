"""Limits on config_data: what RoomDB accepts it can always answer with.

A config_data is refused (``invalid_input``, nothing written) when it nests deeper than 32, is
larger than 64 KiB as canonical JSON, has an over-long key or string, or holds anything Home
Assistant's own serializer (orjson) cannot encode — so the export view, the ``export`` service and
``seed_from_mapping`` previews never fail on what was accepted. Rows an older RoomDB stored before
these limits are exported as their raw text.
"""

from __future__ import annotations

from http import HTTPStatus
import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.json import json_bytes
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.roomdb.const import DOMAIN
from custom_components.roomdb.http import EXPORT_URL
from custom_components.roomdb.rooms.store import WriteMode

from .conftest import db_rows, export_path, rooms_of


def nested(depth: int) -> dict[str, Any]:
    """A config_data whose containers nest `depth` deep (the object itself is level 1)."""
    value: Any = 1
    for _ in range(depth - 1):
        value = [value]
    return {"v": value}


async def call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


async def export_works(hass: HomeAssistant, client: Any) -> dict[str, Any]:
    """GET the export and call the export service; both must answer with encodable JSON."""
    response = await client.get(EXPORT_URL)
    assert response.status == HTTPStatus.OK, await response.text()
    document: dict[str, Any] = await response.json()
    from_service = await call(hass, "export", {})
    json_bytes(from_service)
    preview = await call(hass, "seed_from_mapping", {"dry_run": True})
    json_bytes(preview)
    return document


REFUSED = [
    (nested(33), "nests deeper than 32"),
    (nested(260), "nests deeper than 32"),
    (nested(5000), "nests deeper than 32"),
    ({"big": 2**64}, "64-bit"),
    ({"small": -(2**63) - 1}, "64-bit"),
    ({"deep": [[[2**70]]]}, "64-bit"),
    ({"s": "x" * 20_000}, "longer than 16384"),
    ({"k" * 300: 1}, "key longer than 256"),
    ({f"k{i}": "x" * 10_000 for i in range(7)}, "larger than 65536 bytes"),
    ({"many": list(range(20_000))}, "larger than 65536 bytes"),
    ({"surrogate": "\ud800"}, "not valid JSON"),
    ({1: "int key"}, "keys must be strings"),
    ({"nan": float("nan")}, "not valid JSON"),
]


async def test_update_config_refuses_what_cannot_be_answered(
    hass: HomeAssistant, rooms_entry: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    await call(hass, "update_config", {"domain": "activity", "room_id": "hall", "config_data": {}})
    client = await hass_client()
    for config_data, needle in REFUSED:
        before = await db_rows(rooms_entry)
        with pytest.raises(ServiceValidationError) as info:
            await call(
                hass,
                "update_config",
                {"domain": "activity", "room_id": "hall", "config_data": config_data},
            )
        assert info.value.translation_key == "invalid_input", needle
        assert needle in info.value.translation_placeholders["error"]
        assert await db_rows(rooms_entry) == before, needle
        await export_works(hass, client)


async def test_limits_are_inclusive(hass: HomeAssistant, rooms_entry: MockConfigEntry) -> None:
    for config_data in (
        nested(32),
        {"big": 2**64 - 1, "small": -(2**63)},
        {"s": "x" * 16_384, "k" * 256: 1},
    ):
        response = await call(
            hass,
            "update_config",
            {"domain": "activity", "room_id": "hall", "config_data": config_data},
        )
        assert response["status"] == "ok"


async def test_bulk_item_over_a_limit_is_only_that_item(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    response = await call(
        hass,
        "bulk_update",
        {
            "items": [
                {"domain": "activity", "room_id": "hall", "config_data": nested(260)},
                {"domain": "activity", "room_id": "office", "config_data": {"ok": True}},
            ]
        },
    )
    assert [item["status"] for item in response["results"]] == ["error", "ok"]
    assert response["results"][0]["error"] == "invalid_input"
    assert set(await db_rows(rooms_entry)) == {("activity", "office")}


async def test_a_merge_that_grows_past_the_limit_is_refused(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    """Pipelines patch a stored config; the merged result must still fit."""
    rooms = rooms_of(rooms_entry)
    half = {f"a{i}": "x" * 10_000 for i in range(4)}
    first = await rooms.store.upsert("activity", "hall", half)
    assert first.ok, first.message
    other_half = {f"b{i}": "y" * 10_000 for i in range(4)}
    grown = await rooms.store.upsert(
        "activity", "hall", other_half, mode=WriteMode.PATCH, source="activity"
    )
    assert grown.error == "invalid_input"
    assert "larger than 65536 bytes" in (grown.message or "")
    assert (await db_rows(rooms_entry))[("activity", "hall")][1] == 1


BAD_ROWS = {
    ("activity", "hall"): json.dumps(nested(300)),
    ("activity", "office"): '{"big": 1180591620717411303424}',
    ("motion_lighting", "kitchen"): '{"timeout": 1e999}',
}


async def test_old_rows_that_cannot_be_encoded_are_exported_as_text(
    hass: HomeAssistant, rooms_entry: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    """Rows an older RoomDB accepted: the views and services answer, the raw text survives."""
    database = rooms_entry.runtime_data.database
    for (domain, room_id), text in BAD_ROWS.items():
        await database.execute_write(
            "INSERT INTO room_configs (config_domain, room_id, config_data, version, created_at, "
            "updated_at) VALUES (?, ?, ?, 1, 'then', 'then')",
            (domain, room_id, text),
        )
    document = await export_works(hass, await hass_client())
    for (domain, room_id), text in BAD_ROWS.items():
        assert document["by_domain"][domain][room_id]["config_data"] == text
    on_disk = json.loads(await hass.async_add_executor_job(export_path(hass).read_text))
    assert set(on_disk["by_domain"]["activity"]) == {"hall", "office"}
