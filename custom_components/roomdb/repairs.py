"""Repair issues RoomDB raises, and the file moves that go with them."""

from __future__ import annotations

from pathlib import Path

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN, ISSUE_DATABASE_CORRUPT, LOGGER
from .db.database import DatabaseCorruptError
from .timestamps import file_stamp

SIDECAR_SUFFIXES = ("-wal", "-shm")


@callback
def async_raise_issue(
    hass: HomeAssistant,
    issue_id: str,
    placeholders: dict[str, str],
    *,
    severity: ir.IssueSeverity = ir.IssueSeverity.WARNING,
    persistent: bool = False,
) -> None:
    """Raise (or update) one of RoomDB's repair issues; its translation key is its id.

    None is fixable from the repairs dialog: each clears itself once its cause is gone.
    """
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        is_persistent=persistent,
        severity=severity,
        translation_key=issue_id,
        translation_placeholders=placeholders,
    )


def quarantine_database_file(path: Path, stamp: str) -> Path | None:
    """Rename a damaged database (and its WAL/SHM files) aside; return the new main path."""
    if not path.exists():
        return None
    kept = path.with_name(f"{path.name}.corrupt-{stamp}")
    path.rename(kept)
    for suffix in SIDECAR_SUFFIXES:
        sidecar = path.with_name(path.name + suffix)
        if sidecar.exists():
            sidecar.rename(kept.with_name(kept.name + suffix))
    return kept


async def async_report_corrupt_database(hass: HomeAssistant, err: DatabaseCorruptError) -> str:
    """Move the damaged file aside and raise the repair issue; return where the file went."""
    stamp = file_stamp()
    try:
        kept = await hass.async_add_executor_job(quarantine_database_file, err.path, stamp)
    except OSError as move_err:
        LOGGER.error("Could not move the damaged database %s aside: %s", err.path, move_err)
        kept = None
    kept_as = str(kept) if kept is not None else str(err.path)
    LOGGER.error("RoomDB database %s is unreadable (%s); kept as %s", err.path, err.reason, kept_as)
    async_raise_issue(
        hass,
        ISSUE_DATABASE_CORRUPT,
        {"path": str(err.path), "kept_as": kept_as, "reason": err.reason},
        severity=ir.IssueSeverity.ERROR,
        persistent=True,
    )
    return kept_as
