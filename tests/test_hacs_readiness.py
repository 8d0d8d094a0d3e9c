"""hassfest-style checks: every translation key, icon and service text the code uses exists."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from custom_components.roomdb.const import DOMAIN

PACKAGE = Path(__file__).parent.parent / "custom_components" / "roomdb"


def _load(name: str) -> dict[str, Any]:
    return json.loads((PACKAGE / name).read_text(encoding="utf-8"))


def _literal_translation_keys() -> set[str]:
    """Every string literal given as `translation_key` in the package (keyword or attribute)."""
    keys: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.keyword) and node.arg == "translation_key") or (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "translation_key"
            ):
                value = node.value
            else:
                continue
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                keys.add(value.value)
    return keys


def test_every_literal_translation_key_is_translated() -> None:
    strings = _load("strings.json")
    known = set(strings.get("exceptions", {})) | set(strings.get("issues", {}))
    known |= set(strings.get("selector", {}))  # SelectSelectorConfig(translation_key=...)
    for platform in strings.get("entity", {}).values():
        known |= set(platform)
    missing = _literal_translation_keys() - known
    assert not missing, f"translation keys without strings: {sorted(missing)}"


def test_exceptions_have_messages_and_issues_have_text() -> None:
    strings = _load("strings.json")
    for key, value in strings.get("exceptions", {}).items():
        assert value.get("message"), key
    for key, value in strings.get("issues", {}).items():
        assert value.get("title"), key
        assert value.get("description") or value.get("fix_flow"), key


def test_flow_steps_have_titles_and_field_descriptions() -> None:
    strings = _load("strings.json")
    for flow in ("config", "options"):
        for step_id, step in strings[flow]["step"].items():
            assert step.get("title"), f"{flow}.{step_id}"
            for field in step.get("data", {}):
                assert field in step.get("data_description", {}), f"{flow}.{step_id}.{field}"


async def test_registered_services_are_described(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    strings = _load("strings.json")["services"]
    icons = _load("icons.json")["services"]
    described = yaml.safe_load((PACKAGE / "services.yaml").read_text(encoding="utf-8")) or {}
    registered = hass.services.async_services_for_domain(DOMAIN)
    assert set(registered) == set(described), "services.yaml must match the registered services"
    for name, service in registered.items():
        assert strings[name]["name"], name
        assert strings[name]["description"], name
        assert name in icons, f"icon for service {name}"
        schema = service.schema
        schema_fields = {str(key) for key in getattr(schema, "schema", {})} if schema else set()
        yaml_fields = set((described.get(name) or {}).get("fields", {}) or {})
        assert schema_fields == yaml_fields, f"{name}: schema {schema_fields} vs yaml {yaml_fields}"
        for field in schema_fields:
            assert strings[name]["fields"][field]["name"], f"{name}.{field}"
            assert strings[name]["fields"][field]["description"], f"{name}.{field}"


async def test_every_entity_has_translation_and_icon(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    strings = _load("strings.json")["entity"]
    icons = _load("icons.json")["entity"]
    entries = er.async_entries_for_config_entry(entity_registry, loaded_entry.entry_id)
    assert entries
    for entry in entries:
        key = entry.translation_key
        assert key is not None, entry.entity_id
        assert strings[entry.domain][key]["name"], entry.entity_id
        assert key in icons.get(entry.domain, {}), f"icon for {entry.entity_id}"
