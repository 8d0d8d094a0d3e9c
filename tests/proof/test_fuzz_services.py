"""Hypothesis fuzzing of every RoomDB service and HTTP view.

Whatever arrives — wrong types, huge or unicode strings, SQL-looking text, nested junk — a service
may only answer with a schema error, a translated `ServiceValidationError` / `HomeAssistantError`,
or succeed; a view may only answer 2xx/4xx/503. A rejected call must leave the database unchanged.
"""

from __future__ import annotations

from contextlib import closing
import hashlib
from pathlib import Path
import sqlite3
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from hypothesis import HealthCheck, given, settings, strategies as st
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import yaml

from custom_components.roomdb.const import DOMAIN

SERVICES_YAML = Path(__file__).parents[2] / "custom_components" / "roomdb" / "services.yaml"
SERVICES: dict[str, Any] = yaml.safe_load(SERVICES_YAML.read_text(encoding="utf-8")) or {}
FIELDS = sorted(
    {field for spec in SERVICES.values() for field in ((spec or {}).get("fields") or {})}
)

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
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
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
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
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
