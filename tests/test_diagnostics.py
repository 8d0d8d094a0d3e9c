"""Diagnostics show health and never secrets."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

SECRET = "s3cr3t-token-value"


async def test_diagnostics_redact_secrets(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, mock_entry: MockConfigEntry
) -> None:
    mock_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_entry, options={"ingest_token": SECRET, "code": "1234", "batch_size": 100}
    )
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, mock_entry)
    text = json.dumps(diagnostics)
    assert SECRET not in text
    assert "1234" not in text
    assert diagnostics["entry"]["options"]["ingest_token"] == "**REDACTED**"
    assert diagnostics["entry"]["options"]["batch_size"] == 100
    assert diagnostics["database"]["schema_version"] >= 1
    assert diagnostics["database"]["writes_paused"] is False
