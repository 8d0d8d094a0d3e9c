"""The options flow's event stream section: validation and the connection test before saving."""

from __future__ import annotations

import socket
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.events.options import (
    CONF_EVENT_BUFFER_SIZE,
    CONF_EVENT_INCLUDE_STATE_CHANGES,
    CONF_EVENT_STREAM_ENABLED,
    CONF_INGEST_TOKEN,
    CONF_INGEST_URL,
    EventStreamSettings,
    is_ingest_url,
)
from tests.peers.ingest_server import IngestServer

from .conftest import TOKEN, stream_of


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Start with the stream switched off."""
    return {}


async def open_section(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert "event_stream" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "event_stream"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "event_stream"
    flow_id: str = result["flow_id"]
    return flow_id


def form(url: str, token: str = TOKEN, *, enabled: bool = True, size: int = 300) -> dict[str, Any]:
    return {
        CONF_EVENT_STREAM_ENABLED: enabled,
        CONF_INGEST_URL: url,
        CONF_INGEST_TOKEN: token,
        CONF_EVENT_BUFFER_SIZE: size,
        CONF_EVENT_INCLUDE_STATE_CHANGES: False,
    }


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_connection_test_passes_then_saves_and_reloads(
    hass: HomeAssistant, peer: IngestServer, loaded_entry: MockConfigEntry
) -> None:
    assert stream_of(loaded_entry).stats().state == "disabled"
    flow_id = await open_section(hass, loaded_entry)
    result = await hass.config_entries.options.async_configure(flow_id, form(peer.url))
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options == {
        CONF_EVENT_STREAM_ENABLED: True,
        CONF_INGEST_URL: peer.url,
        CONF_INGEST_TOKEN: TOKEN,
        CONF_EVENT_BUFFER_SIZE: 300,
        CONF_EVENT_INCLUDE_STATE_CHANGES: False,
    }
    assert (peer.posts, peer.stored, peer.bad_requests) == (1, 0, 0)  # the empty probe batch
    stats = stream_of(loaded_entry).stats()
    assert (stats.state, stats.capacity) == ("ok", 300)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("token", "core_auth_failed"),
        ("down", "core_unreachable"),
        ("500", "core_unreachable"),
        ("html", "core_invalid_response"),
        ("path", "core_rejected"),
    ],
)
async def test_a_failed_connection_test_refuses_to_save(
    hass: HomeAssistant,
    peer: IngestServer,
    loaded_entry: MockConfigEntry,
    fault: str,
    error: str,
) -> None:
    url, token = peer.url, TOKEN
    if fault == "token":
        token = "wrong"
    elif fault == "down":
        url = f"http://127.0.0.1:{closed_port()}/ingest"
    elif fault == "path":
        url = f"{peer.base_url}/not-ingest"
    else:
        peer.fail_next(1, mode=fault)  # type: ignore[arg-type]

    flow_id = await open_section(hass, loaded_entry)
    result = await hass.config_entries.options.async_configure(flow_id, form(url, token))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert result["description_placeholders"] is not None
    assert result["description_placeholders"]["error"]
    assert loaded_entry.options == {}  # nothing saved

    # Fixing the input in the same form saves.
    result = await hass.config_entries.options.async_configure(flow_id, form(peer.url))
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options[CONF_INGEST_URL] == peer.url


@pytest.mark.parametrize(
    ("url", "token", "errors"),
    [
        ("ftp://127.0.0.1/ingest", TOKEN, {CONF_INGEST_URL: "invalid_url"}),
        ("127.0.0.1:8765/ingest", TOKEN, {CONF_INGEST_URL: "invalid_url"}),
        ("http://", TOKEN, {CONF_INGEST_URL: "invalid_url"}),
        ("", TOKEN, {CONF_INGEST_URL: "invalid_url"}),
        ("http://127.0.0.1:1/ingest", "", {CONF_INGEST_TOKEN: "token_missing"}),
    ],
)
async def test_invalid_input_is_refused_before_any_request(
    hass: HomeAssistant,
    peer: IngestServer,
    loaded_entry: MockConfigEntry,
    url: str,
    token: str,
    errors: dict[str, str],
) -> None:
    flow_id = await open_section(hass, loaded_entry)
    result = await hass.config_entries.options.async_configure(flow_id, form(url, token))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert peer.posts == 0
    assert loaded_entry.options == {}
    await hass.config_entries.options.async_configure(flow_id, form(peer.url))
    await hass.async_block_till_done()


async def test_disabling_saves_without_a_test_and_an_empty_token_keeps_the_old_one(
    hass: HomeAssistant, peer: IngestServer, loaded_entry: MockConfigEntry
) -> None:
    flow_id = await open_section(hass, loaded_entry)
    await hass.config_entries.options.async_configure(flow_id, form(peer.url))
    await hass.async_block_till_done()
    assert peer.posts == 1

    await peer.stop()  # unreachable now; switching off must still be possible
    flow_id = await open_section(hass, loaded_entry)
    result = await hass.config_entries.options.async_configure(
        flow_id, form(peer.url, "", enabled=False, size=50)
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options[CONF_INGEST_TOKEN] == TOKEN
    assert loaded_entry.options[CONF_EVENT_STREAM_ENABLED] is False
    stats = stream_of(loaded_entry).stats()
    assert (stats.state, stats.capacity) == ("disabled", 50)


def test_settings_are_defensive() -> None:
    assert not EventStreamSettings.from_options({CONF_EVENT_STREAM_ENABLED: True}).enabled
    settings = EventStreamSettings.from_options(
        {
            CONF_EVENT_STREAM_ENABLED: True,
            CONF_INGEST_URL: "https://core.example/ingest",
            CONF_INGEST_TOKEN: "t",
            CONF_EVENT_BUFFER_SIZE: 10**9,
        }
    )
    assert settings.enabled
    assert settings.buffer_size == 5000
    assert EventStreamSettings.from_options({CONF_EVENT_BUFFER_SIZE: "x"}).buffer_size == 200
    assert EventStreamSettings.from_options({CONF_EVENT_BUFFER_SIZE: 20.0}).buffer_size == 20
    assert not is_ingest_url(" https://core.example/ingest")
    assert not is_ingest_url("http://[::1")
    assert not is_ingest_url(None)
