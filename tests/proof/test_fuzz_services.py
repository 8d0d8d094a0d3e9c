"""Hypothesis fuzzing of every RoomDB service and HTTP view.

Whatever arrives — wrong types, huge or unicode strings, SQL-looking text, dangerous paths, nested
junk — a service may only answer with a schema error, a translated `ServiceValidationError` /
`HomeAssistantError`, or succeed; a view may only answer 2xx/4xx/503. Nothing logs a traceback. A
rejected call must leave the database and every file unchanged; an accepted one may only write
RoomDB's own files (its database, its `.storage/roomdb*` stores, its export, a new backup).
A config_data that is accepted (deep nesting, integers beyond 64 bits and huge strings included in
the draw) must leave the export view, the `export` service and `seed_from_mapping` previews
answering with JSON that Home Assistant's serializer encodes.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from contextlib import closing
import hashlib
import logging
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
from custom_components.roomdb.db.database import Database
from custom_components.roomdb.http import EXPORT_URL
from tests.files import changed, plant_dangers, snapshot
from tests.proof.test_fuzz_paths import DANGEROUS
from tests.rooms.conftest import MAPPING, write_mapping

SERVICES_YAML = Path(__file__).parents[2] / "custom_components" / "roomdb" / "services.yaml"
SERVICES: dict[str, Any] = yaml.safe_load(SERVICES_YAML.read_text(encoding="utf-8")) or {}

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
        *DANGEROUS,
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
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "domain": st.sampled_from(["motion_lighting", "vacuum_control", "activity", "ml", "Activity"]),
    "room_id": st.sampled_from(["kitchen", "hall", "office", "den", "KITCHEN", "kitchen "]),
    "rooms": st.lists(st.sampled_from(["kitchen", "hall", "nowhere"]), max_size=3),
    "dry_run": st.booleans(),
    "stages": st.lists(st.sampled_from(["features", "labels", "bocpd", "retention"]), max_size=2),
    "path": st.sampled_from(DANGEROUS),
    "config_data": st.dictionaries(st.text(max_size=10), SCALARS, max_size=3),
    "items": st.lists(
        st.fixed_dictionaries(
            {
                "domain": st.sampled_from(["activity", "motion_lighting", "nope"]),
                "room_id": st.sampled_from(["kitchen", "hall", "nowhere"]),
                "config_data": st.dictionaries(st.text(max_size=5), SCALARS, max_size=2),
            }
        ),
        max_size=3,
    ),
}
"""Values that pass the schema often, so the calls reach RoomDB's own checks and writers."""


def _field(name: str) -> st.SearchStrategy[Any]:
    return st.one_of(PLAUSIBLE.get(name, JSONISH), PLAUSIBLE.get(name, JSONISH), JSONISH)


@st.composite
def _call(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A service and a payload of its own fields (sometimes missing, junk or extra ones)."""
    service = draw(st.sampled_from(sorted(SERVICES)))
    fields = sorted((SERVICES[service] or {}).get("fields") or {})
    chosen = draw(st.lists(st.sampled_from(fields), unique=True)) if fields else []
    payload = {name: draw(_field(name)) for name in chosen}
    if draw(st.integers(0, 9)) == 0:
        payload.update(draw(st.dictionaries(st.text(max_size=20), JSONISH, max_size=2)))
    return service, payload


CALLS = _call()


async def _settled(hass: HomeAssistant, database: Database) -> None:
    """Let RoomDB's background work (the registry mirror's writer, ML stages begun at setup)
    finish and its writes reach SQLite, so a fingerprint shows only what the call did."""
    await hass.async_block_till_done(wait_background_tasks=True)
    await database.flush()


def _fingerprint(path: Path) -> dict[str, str]:
    """Hash every row of each table, so any change to the database shows, and where."""
    digests: dict[str, str] = {}
    with closing(sqlite3.connect(path)) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        for table in tables:
            digest = hashlib.sha256()
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1"):
                digest.update(repr(row).encode())
            digests[table] = digest.hexdigest()
    return digests


def _changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )


DEFAULT_EXAMPLES = {"services": 150, "views": 60, "config_data": 80}
SLOW_EXAMPLES = {"services": 3600, "views": 800, "config_data": 600}
"""The slow suite draws 5,000 inputs in all."""
OWN_FILES = ("roomdb.db", ".storage/roomdb", "room_db_export.json", ".room_db_export.json.")
"""What RoomDB may write on any accepted call: its database (and companions), its stores, its
export (rewritten after each change, through a temporary file beside it)."""


def _tracebacks(caplog: pytest.LogCaptureFixture, since: int) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records[since:]
        if record.exc_info is not None or record.levelno >= logging.ERROR
    ]


def _assert_files(
    root: Path, before: dict[str, Any], after: dict[str, Any], refused: bool, response: Any
) -> None:
    touched = changed(before, after)
    touched -= {key for key in touched if key.startswith(OWN_FILES) and key != "roomdb.db"}
    if not refused and isinstance(response, dict) and isinstance(response.get("path"), str):
        # A backup: its new file and the folders created for it.
        target = Path(response["path"]).relative_to(root.resolve())
        touched -= {str(target)} | {
            str(parent) for parent in target.parents if str(parent) not in before
        }
    assert not touched, f"touched {sorted(touched)} ({'refused' if refused else 'accepted'})"


def _services_property(
    examples: int,
) -> Callable[..., Coroutine[Any, Any, None]]:
    @pytest.mark.usefixtures("socket_enabled")
    @settings(max_examples=examples, **FUZZ)
    @given(call=CALLS)
    async def check(
        hass: HomeAssistant,
        mapped_entry: MockConfigEntry,
        caplog: pytest.LogCaptureFixture,
        call: tuple[str, dict[str, Any]],
    ) -> None:
        service, payload = call
        event(service)
        root = Path(hass.config.config_dir)
        await hass.async_add_executor_job(plant_dangers, root)
        database = mapped_entry.runtime_data.database
        await _settled(hass, database)
        before = await hass.async_add_executor_job(_fingerprint, database.path)
        files_before = await hass.async_add_executor_job(snapshot, root)
        logged = len(caplog.records)
        response: Any = None
        refused = True
        try:
            response = await hass.services.async_call(
                DOMAIN, service, payload, blocking=True, return_response=True
            )
            refused = False
            event("accepted")
        except vol.Invalid:
            event("schema error")
        except HomeAssistantError as err:
            assert err.translation_domain in (DOMAIN, "homeassistant"), repr(err)
            assert err.translation_key, repr(err)
            event(f"refused: {err.translation_key}")
        await _settled(hass, database)
        assert not _tracebacks(caplog, logged), f"{service} {payload!r} logged an error"
        files_after = await hass.async_add_executor_job(snapshot, root)
        _assert_files(root, files_before, files_after, refused, response)
        if refused:
            after = await hass.async_add_executor_job(_fingerprint, database.path)
            assert after == before, (
                f"{service} changed {_changed_tables(before, after)} while rejecting {payload!r}"
            )

    return check


def _views_property(examples: int) -> Callable[..., Coroutine[Any, Any, None]]:
    @pytest.mark.usefixtures("socket_enabled")
    @settings(max_examples=examples, **FUZZ)
    @given(
        path=st.sampled_from(["/api/roomdb/export", "/api/roomdb/health"]),
        query=st.dictionaries(st.text(max_size=10), st.text(max_size=50), max_size=4),
        method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
        body=st.binary(max_size=2000),
    )
    async def check(
        hass: HomeAssistant,
        hass_client: ClientSessionGenerator,
        loaded_entry: MockConfigEntry,
        caplog: pytest.LogCaptureFixture,
        path: str,
        query: dict[str, str],
        method: str,
        body: bytes,
    ) -> None:
        logged = len(caplog.records)
        client = await hass_client()
        resp = await client.request(method, path, params=query, data=body)
        assert resp.status < 500 or resp.status == 503, (method, path, resp.status)
        assert not _tracebacks(caplog, logged), (method, path)

    return check


test_services_reject_garbage_without_side_effects = _services_property(DEFAULT_EXAMPLES["services"])
test_services_reject_garbage_without_side_effects_many = pytest.mark.slow(
    _services_property(SLOW_EXAMPLES["services"])
)
test_views_never_fail_with_500 = _views_property(DEFAULT_EXAMPLES["views"])
test_views_never_fail_with_500_many = pytest.mark.slow(_views_property(SLOW_EXAMPLES["views"]))


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


def _config_data_property(examples: int) -> Callable[..., Coroutine[Any, Any, None]]:
    @pytest.mark.usefixtures("socket_enabled")
    @settings(max_examples=examples, **FUZZ)
    @given(config_data=CONFIG_DATA, room=st.sampled_from(["hall", "kitchen", "office"]))
    async def check(
        hass: HomeAssistant,
        hass_client: ClientSessionGenerator,
        mapped_entry: MockConfigEntry,
        config_data: dict[str, Any],
        room: str,
    ) -> None:
        database = mapped_entry.runtime_data.database
        await _settled(hass, database)
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
            await _settled(hass, database)
            after = await hass.async_add_executor_job(_fingerprint, database.path)
            assert after == before, (
                f"a refused config_data changed {_changed_tables(before, after)}"
            )
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

    return check


test_accepted_config_data_stays_exportable = _config_data_property(DEFAULT_EXAMPLES["config_data"])
test_accepted_config_data_stays_exportable_many = pytest.mark.slow(
    _config_data_property(SLOW_EXAMPLES["config_data"])
)
