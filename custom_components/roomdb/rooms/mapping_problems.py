"""Rooms the mapping in force cannot fully describe: their warnings and the repair issue.

A room with such a problem is kept and loses only that part (see ``mapping_errors``). Two kinds of
warning meet here: those found when the file was parsed, which change only with the file, and
unknown areas, which change with HA's area registry while the file stays the same. The second
kind is re-checked on every area registry change, so deleting an area in HA's UI shows up at
once, and re-creating it clears the warning, without re-reading the file.

The ``mapping_rooms`` repair issue names the rooms with warnings and is deleted as soon as there
are none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import area_registry as ar, issue_registry as ir

from ..const import DOMAIN, ISSUE_MAPPING_ROOMS
from ..log import get_logger
from ..repairs import async_raise_issue
from .mapping import AreaMapping
from .mapping_errors import MappingWarning
from .mapping_parse import area_warnings

_LOGGER = get_logger(__name__)

ISSUE_MAX_ROOMS: Final = 10
ISSUE_MAX_PROBLEMS: Final = 3
HEALTH_MAX_WARNINGS: Final = 20


class RoomProblems:
    """Warnings of the mapping in force, kept current with HA's area registry."""

    def __init__(self, hass: HomeAssistant, path: Path) -> None:
        """Start with no warnings (nothing is in force yet)."""
        self.hass = hass
        self.path = path
        self._file_warnings: tuple[MappingWarning, ...] = ()
        self._area_warnings: tuple[MappingWarning, ...] = ()
        # None until the first update, which always writes the issue registry: an issue left by
        # an earlier load of the entry must be replaced or deleted even when nothing changed.
        self._reported: tuple[MappingWarning, ...] | None = None

    @property
    def warnings(self) -> tuple[MappingWarning, ...]:
        """Every warning, in file order."""
        return tuple(
            sorted(
                self._file_warnings + self._area_warnings,
                key=lambda w: (-1 if w.line is None else w.line, w.room_id or ""),
            )
        )

    @property
    def rooms(self) -> list[str]:
        """Ids of the rooms with a warning, sorted."""
        return sorted({w.room_id for w in self.warnings if w.room_id is not None})

    @callback
    def async_set(self, mapping: AreaMapping, file_warnings: tuple[MappingWarning, ...]) -> None:
        """A new mapping is in force with these parse warnings; check its areas."""
        self._file_warnings = file_warnings
        self.async_check_areas(mapping)

    @callback
    def async_check_areas(self, mapping: AreaMapping) -> None:
        """Re-check ``mapping``'s areas against HA's area registry and update the issue."""
        known = {area.id: area.name for area in ar.async_get(self.hass).async_list_areas()}
        self._area_warnings = area_warnings(mapping, known)
        self._update_issue()

    @callback
    def _update_issue(self) -> None:
        warnings = self.warnings
        if warnings == self._reported:
            return
        self._reported = warnings
        if not warnings:
            _LOGGER.debug("Area mapping %s: every room is fully usable", self.path)
            ir.async_delete_issue(self.hass, DOMAIN, ISSUE_MAPPING_ROOMS)
            return
        rooms = self.rooms
        shown = ", ".join(rooms[:ISSUE_MAX_ROOMS])
        if len(rooms) > ISSUE_MAX_ROOMS:
            shown += f" (+{len(rooms) - ISSUE_MAX_ROOMS})"
        problems = "; ".join(str(w) for w in warnings[:ISSUE_MAX_PROBLEMS])
        _LOGGER.warning(
            "Area mapping %s: %s room(s) kept with problems (%s): %s",
            self.path,
            len(rooms),
            shown,
            problems,
        )
        async_raise_issue(
            self.hass,
            ISSUE_MAPPING_ROOMS,
            {
                "path": str(self.path),
                "count": str(len(rooms)),
                "rooms": shown,
                "problems": problems,
            },
        )

    def health(self) -> dict[str, Any]:
        """The warning part of the mapping health: first warnings, count, affected rooms."""
        warnings = self.warnings
        return {
            "warnings": [w.as_dict() for w in warnings[:HEALTH_MAX_WARNINGS]],
            "warning_count": len(warnings),
            "limited_rooms": self.rooms,
        }
