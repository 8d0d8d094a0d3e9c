"""Packaging facts HACS, hassfest and HA OS rely on."""

from __future__ import annotations

import json
from pathlib import Path

import homeassistant

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "custom_components" / "roomdb"


def _json(path: Path) -> dict[str, object]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_manifest_has_required_keys() -> None:
    manifest = _json(PACKAGE / "manifest.json")
    for key in (
        "domain",
        "name",
        "version",
        "config_flow",
        "documentation",
        "issue_tracker",
        "codeowners",
        "iot_class",
        "requirements",
    ):
        assert key in manifest, key
    assert manifest["domain"] == "roomdb"
    assert manifest["iot_class"] == "local_push"
    assert manifest["single_config_entry"] is True
    assert manifest["config_flow"] is True


def test_requirements_install_on_ha_os() -> None:
    """Only musl-installable packages; numpy pinned exactly as Home Assistant pins it."""
    requirements = _json(PACKAGE / "manifest.json")["requirements"]
    assert isinstance(requirements, list)
    names = {str(req).split("==")[0].lower() for req in requirements}
    assert names == {"aiosqlite", "numpy"}
    constraints = Path(homeassistant.__file__).with_name("package_constraints.txt").read_text()
    ha_numpy = next(line for line in constraints.splitlines() if line.startswith("numpy=="))
    assert ha_numpy in requirements


def test_hacs_json() -> None:
    hacs = _json(ROOT / "hacs.json")
    assert hacs["name"] == "RoomDB"
    assert str(hacs["homeassistant"]).startswith("2026.")


def test_english_translation_matches_strings() -> None:
    assert _json(PACKAGE / "strings.json") == _json(PACKAGE / "translations" / "en.json")
