"""Security properties as tests: authentication, admin-only mutations, no SQL from user strings."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import Unauthorized
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import yaml

from custom_components.roomdb.const import DOMAIN

PACKAGE = Path(__file__).parents[2] / "custom_components" / "roomdb"
SERVICES = yaml.safe_load((PACKAGE / "services.yaml").read_text(encoding="utf-8")) or {}
VIEWS = ("/api/roomdb/export", "/api/roomdb/health")


def _example_payload(service: str) -> dict[str, object]:
    """A schema-valid call built from services.yaml's examples of the required fields."""
    payload: dict[str, object] = {}
    for name, field in ((SERVICES.get(service) or {}).get("fields") or {}).items():
        if not field.get("required"):
            continue
        example = field.get("example")
        if isinstance(example, str) and example[:1] in "[{":
            example = json.loads(example)
        payload[name] = example
    return payload


SQL_METHODS = {"execute", "executemany", "executescript", "fetchall", "fetchone", "execute_write"}


@pytest.mark.parametrize("path", VIEWS)
async def test_views_require_authentication(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    loaded_entry: MockConfigEntry,
    path: str,
) -> None:
    client = await hass_client_no_auth()
    resp = await client.get(path)
    assert resp.status == 401


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_every_service_needs_an_admin(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_read_only_user: MockUser,
    service: str,
) -> None:
    """RoomDB's services change data or files (or reveal them): admin users only."""
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            service,
            _example_payload(service),
            blocking=True,
            return_response=True,
            context=Context(user_id=hass_read_only_user.id),
        )


def _is_dynamic_sql(node: ast.expr) -> bool:
    """True for SQL built at run time: f-strings with values, `+`, `%` or `.format()`."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    )


def test_no_sql_is_built_from_strings() -> None:
    """Every SQL statement is a constant; values travel as parameters.

    The only allowed dynamic statements interpolate module constants (table names from a fixed
    tuple, a numeric PRAGMA), never user input; they are listed here by file and line text.
    """
    allowed = {
        ("db/database.py", 'f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}"'),
        ("db/database.py", 'f"PRAGMA application_id={APPLICATION_ID}"'),
        ("db/database.py", 'f"SELECT COUNT(*) FROM {table}"'),
        ("db/database.py", 'f"PRAGMA auto_vacuum={AUTO_VACUUM_INCREMENTAL}"'),
        ("db/database.py", 'f"PRAGMA incremental_vacuum({VACUUM_STEP_PAGES})"'),
        ("db/database.py", 'f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}"'),
        ("db/compact.py", '"SELECT MIN(id) FROM raw_events_v4 WHERE id > " + COPIED_RAW_ID_SQL'),
        # Table and column names from retention's fixed (table, column) pairs.
        (
            "ml/retention.py",
            (
                'f"SELECT {column} FROM {table} WHERE {column} < ? "  # noqa: S608\n'
                '                    f"ORDER BY {column} LIMIT 1 OFFSET ?"'
            ),
        ),
    }
    found: set[tuple[str, str]] = set()
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SQL_METHODS
                and node.args
                and _is_dynamic_sql(node.args[0])
            ):
                found.add(
                    (str(path.relative_to(PACKAGE)), ast.get_source_segment(source, node.args[0]))
                )
    assert found <= allowed, f"SQL built from strings: {sorted(found - allowed)}"
