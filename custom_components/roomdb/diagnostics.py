"""Diagnostics for a RoomDB entry, with secrets redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .data import RoomDbConfigEntry

TO_REDACT = {
    "token",
    "ingest_token",
    "code",
    "code_hash",
    "api_key",
    "password",
    "alarm_code_hash",
    "alarm_sync_code",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: RoomDbConfigEntry
) -> dict[str, Any]:
    """Return entry settings and the health snapshot."""
    runtime = entry.runtime_data
    snapshot = runtime.coordinator.data
    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": async_redact_data(dict(entry.options), TO_REDACT),
        },
        "database": {
            "path": str(runtime.database.path),
            "writes_paused": runtime.database.writes_paused,
            **asdict(snapshot.database),
        },
        "events": runtime.events.diagnostics(),
        "rooms": runtime.rooms.health(),
        "ml": runtime.ml.diagnostics(),
        "alarm": {
            "state": str(runtime.alarm.machine.state),
            "next_deadline": runtime.alarm.machine.next_deadline(),
            "sync": {"status": str(runtime.alarm_sync.status), **runtime.alarm_sync.attributes},
        },
    }
