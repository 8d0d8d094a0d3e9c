"""Authenticated read-only HTTP views: the export document and the health summary.

Registered once from ``async_setup``; each request looks up the loaded entry, so the views survive
reloads and answer ``503`` with a JSON message while RoomDB is not loaded. Any logged-in user may
read them (no admin needed). They never answer a bare ``500``: database trouble is a ``503`` JSON
body, and an empty database is a valid, empty export document. The export is built and encoded
with Home Assistant's serializer in the executor, so a large table does not stall the loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from http import HTTPStatus
from typing import Final

from aiohttp import web
from homeassistant.const import CONTENT_TYPE_JSON
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from .log import get_logger
from .rooms.export import ExportError
from .rooms.runtime import RoomsRuntime
from .service_support import loaded_entry

_LOGGER = get_logger(__name__)

EXPORT_URL: Final = "/api/roomdb/export"
MIN_COMPRESSED_SIZE: Final = 1024
"""As Home Assistant's own JSON responses: smaller bodies fit one packet uncompressed."""
HEALTH_URL: Final = "/api/roomdb/health"


def _loaded_rooms(hass: HomeAssistant) -> RoomsRuntime | None:
    entry = loaded_entry(hass)
    return None if entry is None else entry.runtime_data.rooms


def _unavailable(view: HomeAssistantView, message: str) -> web.Response:
    return view.json({"status": "unavailable", "message": message}, HTTPStatus.SERVICE_UNAVAILABLE)


class _RoomsView(HomeAssistantView, ABC):
    """An authenticated view over the loaded entry's room database; ``503`` while not loaded."""

    requires_auth = True

    async def get(self, request: web.Request) -> web.Response:
        """Answer from the loaded room database."""
        rooms = _loaded_rooms(request.app[KEY_HASS])
        if rooms is None:
            return _unavailable(self, "RoomDB is not loaded")
        return await self.answer(rooms)

    @abstractmethod
    async def answer(self, rooms: RoomsRuntime) -> web.Response:
        """The view's response, given the loaded room database."""


class RoomDbExportView(_RoomsView):
    """``GET /api/roomdb/export``: the export document, built from SQLite on each request."""

    url = EXPORT_URL
    name = "api:roomdb:export"

    async def answer(self, rooms: RoomsRuntime) -> web.Response:
        """Return the export document."""
        try:
            body = await rooms.exporter.async_build_body()
        except ExportError as err:
            _LOGGER.warning("Export over HTTP failed: %s", err)
            return _unavailable(self, f"The export cannot be read right now: {err}")
        response = web.Response(body=body, content_type=CONTENT_TYPE_JSON)
        if len(body) > MIN_COMPRESSED_SIZE:
            response.enable_compression()
        return response


class RoomDbHealthView(_RoomsView):
    """``GET /api/roomdb/health``: counters, limiter state, mapping, export and pipelines."""

    url = HEALTH_URL
    name = "api:roomdb:health"

    async def answer(self, rooms: RoomsRuntime) -> web.Response:
        """Return the health summary."""
        return self.json(rooms.health())


@callback
def async_register_views(hass: HomeAssistant) -> None:
    """Register the views (once, from ``async_setup``)."""
    hass.http.register_view(RoomDbExportView())
    hass.http.register_view(RoomDbHealthView())
