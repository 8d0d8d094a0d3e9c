"""RoomDB's sidebar panel: a web component served by the integration, backed by its WebSocket API.

The panel's JavaScript is built from `frontend/` in the repository (Lit, bundled with esbuild) and
committed here as one module, so nothing is fetched at run time. `async_setup` serves the module
and registers the commands once; each loaded entry adds the admin-only panel at `/roomdb` and
removes it when it unloads, so the sidebar shows it only while RoomDB can answer.

Table of contents (the layout every part follows):

runtime       this ``__init__``: serves the module, adds and removes the panel
services      ``websocket``: the ``roomdb/<noun>/<verb>`` commands
pure core     ``timeline``: per-window probabilities and a bedtime/wake estimate
HA glue       ``sleep``: the adapter to the ML data layer (timeline, labels entered in the panel)
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

from homeassistant.components import frontend, panel_custom
from homeassistant.components.http.server import StaticPathConfig
from homeassistant.core import HomeAssistant, callback

from .websocket import async_register_commands

PANEL_URL_PATH: Final = "roomdb"
PANEL_ELEMENT: Final = "roomdb-panel"
PANEL_TITLE: Final = "RoomDB"
PANEL_ICON: Final = "mdi:home-analytics"
STATIC_URL: Final = "/roomdb_panel"
MODULE_FILE: Final = Path(__file__).parent / "frontend" / "roomdb-panel.js"


def _module_digest() -> str:
    return hashlib.sha256(MODULE_FILE.read_bytes()).hexdigest()[:12]


async def async_setup_panel_support(hass: HomeAssistant) -> None:
    """Serve the panel's module and register the WebSocket commands (once per start)."""
    async_register_commands(hass)
    await hass.http.async_register_static_paths(
        [StaticPathConfig(STATIC_URL, str(MODULE_FILE.parent), cache_headers=True)]
    )


async def async_register_panel(hass: HomeAssistant) -> None:
    """Add the admin-only RoomDB panel to the sidebar."""
    # The module URL carries the file's digest: browsers cache it for good (cache headers) and
    # still load a new build right after an update.
    digest = await hass.async_add_executor_job(_module_digest)
    await panel_custom.async_register_panel(
        hass,
        frontend_url_path=PANEL_URL_PATH,
        webcomponent_name=PANEL_ELEMENT,
        sidebar_title=PANEL_TITLE,
        sidebar_icon=PANEL_ICON,
        module_url=f"{STATIC_URL}/{MODULE_FILE.name}?v={digest}",
        require_admin=True,
    )


@callback
def async_remove_panel(hass: HomeAssistant) -> None:
    """Take the panel out of the sidebar (the entry unloads)."""
    frontend.async_remove_panel(hass, PANEL_URL_PATH, warn_if_unknown=False)
