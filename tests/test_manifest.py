"""Packaging facts HACS, hassfest and HA OS rely on."""

from __future__ import annotations

import json
from pathlib import Path
import re
import tomllib

import homeassistant
from PIL import Image
import yaml

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


def test_manifest_keys_are_in_hassfest_order() -> None:
    """hassfest wants `domain`, `name`, then the other keys alphabetically."""
    keys = list(_json(PACKAGE / "manifest.json"))
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_one_version_everywhere_and_in_the_changelog() -> None:
    """Semantic version in the manifest, pyproject and the changelog's newest release."""
    version = str(_json(PACKAGE / "manifest.json")["version"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["version"] == version
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert releases, "CHANGELOG.md lists no release"
    assert releases[0] == version


def test_urls_and_codeowner_name_one_repository() -> None:
    manifest = _json(PACKAGE / "manifest.json")
    documentation = str(manifest["documentation"])
    found = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+)", documentation)
    assert found, documentation
    assert manifest["issue_tracker"] == f"{documentation}/issues"
    assert manifest["codeowners"] == [f"@{found.group(1)}"]
    # README's HACS steps and the publishing note name the same repository.
    assert documentation in (ROOT / "README.md").read_text(encoding="utf-8")


def test_license_and_brand_images() -> None:
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    brand = PACKAGE / "brand"
    for name, size in (("icon.png", (256, 256)), ("icon@2x.png", (512, 512))):
        with Image.open(brand / name) as image:
            assert image.format == "PNG"
            assert image.size == size, name
            assert image.mode == "RGBA", name
    with Image.open(brand / "logo.png") as logo:
        assert logo.format == "PNG"
        width, height = logo.size
        assert width > height
        assert 128 <= height <= 256


def test_validation_workflow_runs_hassfest_and_hacs() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "validate.yaml").read_text())
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    uses = {str(step.get("uses", "")).split("@")[0]: step for step in steps}
    assert "home-assistant/actions/hassfest" in uses
    assert uses["hacs/action"]["with"]["category"] == "integration"


# Entity platforms and diagnostics need no manifest entry (hassfest allows them to any integration).
ALLOWED_WITHOUT_DEPENDENCY = {"alarm_control_panel", "binary_sensor", "diagnostics", "sensor"}


def test_every_used_component_is_a_dependency() -> None:
    """hassfest: a Home Assistant component the code imports is a (after_)dependency."""
    used: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found = set(re.findall(r"from homeassistant\.components\.(\w+)", text))
        for names in re.findall(r"from homeassistant\.components import ([\w, ]+)", text):
            found |= {name.strip() for name in names.split(",")}
        # A platform file (logbook.py) may import its own component, as in Home Assistant core.
        if path.parent == PACKAGE:
            found.discard(path.stem)
        used |= found
    manifest = json.loads((PACKAGE / "manifest.json").read_text(encoding="utf-8"))
    declared = {*manifest["dependencies"], *manifest["after_dependencies"]}
    assert used - ALLOWED_WITHOUT_DEPENDENCY <= declared
    assert {"frontend", "panel_custom", "websocket_api", "http"} <= used
