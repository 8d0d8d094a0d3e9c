"""Hypothesis fuzzing of every RoomDB service and HTTP view.

Whatever arrives — wrong types, huge or unicode strings, SQL-looking text, nested junk — a service
may only answer with a schema error, a translated `ServiceValidationError` / `HomeAssistantError`,
or succeed; a view may only answer 2xx/4xx/503. A rejected call must leave the database unchanged.
A config_data that is accepted (deep nesting, integers beyond 64 bits and huge strings included in
the draw) must leave the export view, the `export` service and `seed_from_mapping` previews
answering with JSON that Home Assistant's serializer encodes.
"""

from __future__ import annotations

from contextlib import closing
import hashlib
from pathlib import Path
import sqlite3
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers.json import json_bytes
from homeassistant.setup import async_setup_component
from hypothesis import HealthCheck, event, given, settings, strategies as st
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import yaml

from custom_components.roomdb.const import DOMAIN
from custom_components.roomdb.http import EXPORT_URL
from tests.rooms.conftest import MAPPING, write_mapping

SERVICES_YAML = Path(__file__).parents[2] / "custom_components" / "roomdb" / "services.yaml"
SERVICES: dict[str, Any] = yaml.safe_load(SERVICES_YAML.read_text(encoding="utf-8")) or {}
FIELDS = sorted(
    {field for spec in SERVICES.values() for field in ((spec or {}).get("fields") or {})}
)

FUZZ: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "derandomize": True,
}
NASTY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "'; DROP TABLE room_configs; --",
        '" OR 1=1 --',
        "../../etc/passwd",
        "/etc/passwd",
        "www/x.json",
        "kitchen\x00",
        "\uff2b\uff29\uff34\uff23\uff28\uff25\uff2e",  # full-width KITCHEN
        "😀" * 50,
        "a" * 100_000,
        "motion_lighting",
        "vacuum_control",
        "kitchen",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=200),
    NASTY_TEXT,
)
JSONISH = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=6), st.dictionaries(st.text(max_size=20), children, max_size=6)
    ),
    max_leaves=30,
)
PAYLOADS = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), st.text(max_size=20)) if FIELDS else st.text(max_size=20),
    JSONISH,
    max_size=5,
)


def _fingerprint(path: Path) -> str:
    """Hash every row of every table, so any change to the database shows."""
    digest = hashlib.sha256()
    with closing(sqlite3.connect(path)) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1"):
                digest.update(repr(row).encode())
    return digest.hexdigest()


@pytest.mark.usefixtures("socket_enabled")
@settings(max_examples=150, **FUZZ)
@given(service=st.sampled_from(sorted(SERVICES)), payload=PAYLOADS)
async def test_services_reject_garbage_without_side_effects(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, service: str, payload: dict[str, Any]
) -> None:
    database = loaded_entry.runtime_data.database
    await database.flush()
    before = await hass.async_add_executor_job(_fingerprint, database.path)
    try:
        await hass.services.async_call(
            DOMAIN, service, payload, blocking=True, return_response=True
        )
    except vol.Invalid:
        pass
    except HomeAssistantError as err:
        assert err.translation_domain in (DOMAIN, "homeassistant"), repr(err)
        assert err.translation_key, repr(err)
    else:
        return
    await database.flush()
    after = await hass.async_add_executor_job(_fingerprint, database.path)
    assert after == before, f"{service} changed the database while rejecting {payload!r}"


@pytest.mark.usefixtures("socket_enabled")
@settings(max_examples=60, **FUZZ)
@given(
    path=st.sampled_from(["/api/roomdb/export", "/api/roomdb/health"]),
    query=st.dictionaries(st.text(max_size=10), st.text(max_size=50), max_size=4),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    body=st.binary(max_size=2000),
)
async def test_views_never_fail_with_500(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    loaded_entry: MockConfigEntry,
    path: str,
    query: dict[str, str],
    method: str,
    body: bytes,
) -> None:
    client = await hass_client()
    resp = await client.request(method, path, params=query, data=body)
    assert resp.status < 500 or resp.status == 503, (method, path, resp.status)


def _nest(depth: int, container: str, leaf: Any) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value] if container == "list" else {"k": value}
    return value


DEEP = st.builds(
    _nest, st.integers(min_value=28, max_value=300), st.sampled_from(["list", "dict"]), SCALARS
)
HUGE_INTS = st.one_of(
    st.integers(min_value=2**63 - 2, max_value=2**80),
    st.integers(min_value=-(2**80), max_value=-(2**63) + 2),
)
HUGE_STRINGS = st.sampled_from(["x" * 16_384, "x" * 16_385, "é" * 40_000, "😀" * 20_000])
CONFIG_DATA = st.dictionaries(
    st.one_of(st.text(max_size=20), st.sampled_from(["k" * 256, "k" * 257])),
    st.one_of(JSONISH, DEEP, HUGE_INTS, HUGE_STRINGS),
    max_size=4,
)


@pytest.fixture
async def mapped_entry(hass: HomeAssistant, mock_entry: MockConfigEntry) -> MockConfigEntry:
    """RoomDB with a mapping (so writes are admitted) and no write limiter."""
    for name in ("Kitchen", "Hall", "Office"):
        ar.async_get(hass).async_create(name)
    await write_mapping(hass, MAPPING)
    mock_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(mock_entry, options={"write_interval": 0})
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    return mock_entry


@pytest.mark.usefixtures("socket_enabled")
@settings(max_examples=80, **FUZZ)
@given(config_data=CONFIG_DATA, room=st.sampled_from(["hall", "kitchen", "office"]))
async def test_accepted_config_data_stays_exportable(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mapped_entry: MockConfigEntry,
    config_data: dict[str, Any],
    room: str,
) -> None:
    database = mapped_entry.runtime_data.database
    await database.flush()
    before = await hass.async_add_executor_job(_fingerprint, database.path)
    try:
        await hass.services.async_call(
            DOMAIN,
            "update_config",
            {"domain": "activity", "room_id": room, "config_data": config_data},
            blocking=True,
            return_response=True,
        )
    except ServiceValidationError as err:
        assert err.translation_key == "invalid_input", repr(err)
        event("refused")
        after = await hass.async_add_executor_job(_fingerprint, database.path)
        assert after == before, "a refused config_data changed the database"
    else:
        event("accepted")
    client = await hass_client()
    response = await client.get(EXPORT_URL)
    assert response.status == 200, await response.text()
    for service, data in (("export", {}), ("seed_from_mapping", {"dry_run": True})):
        answer = await hass.services.async_call(
            DOMAIN, service, data, blocking=True, return_response=True
        )
        json_bytes(answer)
