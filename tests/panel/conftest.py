"""Fixtures for the panel's WebSocket API: the room tests' mapping and areas, WebSocket clients."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from tests.ml.conftest import (  # noqa: F401 - fixtures shared with the ML tests
    berlin,
    frozen,
    ml_entry,
    now_ts,
)
from tests.rooms.conftest import (  # noqa: F401 - fixtures shared with the room tests
    areas,
    entry_options,
    mapping_text,
    rooms_entry,
)


class Ws:
    """A WebSocket client that sends one command and returns the whole answer."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def send(self, command: str, **data: Any) -> dict[str, Any]:
        await self.client.send_json_auto_id({"type": command, **data})
        answer: dict[str, Any] = await self.client.receive_json()
        return answer

    async def result(self, command: str, **data: Any) -> Any:
        answer = await self.send(command, **data)
        assert answer["success"], answer
        return answer["result"]


@pytest.fixture
async def ws(hass: HomeAssistant, hass_ws_client: WebSocketGenerator) -> Ws:
    """An admin's WebSocket connection."""
    return Ws(await hass_ws_client(hass))
