"""The sidebar panel: registered admin-only at /roomdb while loaded, its module served, built."""

from __future__ import annotations

import hashlib
from http import HTTPStatus
from pathlib import Path
import re

from homeassistant.components.frontend import DATA_PANELS
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.roomdb.panel import MODULE_FILE, PANEL_URL_PATH

pytestmark = pytest.mark.usefixtures("loaded_entry")

FRONTEND = Path(__file__).parents[2] / "frontend"


async def test_the_panel_is_admin_only_and_leaves_with_the_entry(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    panel = hass.data[DATA_PANELS][PANEL_URL_PATH]
    assert panel.require_admin is True
    assert panel.sidebar_title == "RoomDB"
    custom = panel.config["_panel_custom"]
    assert custom["name"] == "roomdb-panel"
    assert custom["embed_iframe"] is False
    digest = hashlib.sha256(MODULE_FILE.read_bytes()).hexdigest()[:12]
    assert custom["module_url"] == f"/roomdb_panel/roomdb-panel.js?v={digest}"

    await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert PANEL_URL_PATH not in hass.data[DATA_PANELS]

    await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert PANEL_URL_PATH in hass.data[DATA_PANELS]


async def test_the_module_is_served_by_the_integration(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    client = await hass_client()
    url = hass.data[DATA_PANELS][PANEL_URL_PATH].config["_panel_custom"]["module_url"]

    response = await client.get(url)

    assert response.status == HTTPStatus.OK
    assert response.headers["Content-Type"].startswith(
        ("application/javascript", "text/javascript")
    )
    assert await response.text() == MODULE_FILE.read_text(encoding="utf-8")


def test_the_committed_build_is_current_and_self_contained() -> None:
    bundle = MODULE_FILE.read_text(encoding="utf-8")
    header = bundle.splitlines()[0]
    found = re.fullmatch(
        r"// RoomDB panel, built by frontend/build\.mjs from sources sha256:(\w+)", header
    )
    assert found, header
    digest = hashlib.sha256()
    for source in sorted((FRONTEND / "src").iterdir()):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    digest.update((FRONTEND / "package-lock.json").read_bytes())
    assert found.group(1) == digest.hexdigest(), "frontend/src changed: run scripts/build_frontend"
    # Nothing is fetched at run time: no imports left, no addresses to load code from.
    assert not re.search(r"\bimport\s*[\"'({]|\bimport\(", bundle)
    assert not re.search(r"https?://", bundle.split("/*! Bundled license information")[0])
    assert 'customElements.define("roomdb-panel"' in bundle
