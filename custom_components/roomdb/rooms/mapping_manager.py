"""The area mapping in force: loaded from the file, re-read on change, last good kept.

* Setup reads the file (in the executor). A missing file is the empty mapping: setup works
  before the user has written one.
* The file is polled every 10 s (``stat`` in the executor; a change of mtime, size or inode triggers
  a re-read) and re-read on ``reload_mapping``.
* A file with errors (or one deleted after it was loaded) never replaces a good mapping: the last
  good one stays in force and the ``mapping_invalid`` repair issue lists the first errors; it
  clears itself as soon as a valid file is read. The last good mapping is also kept in a
  ``Store``, so a restart with a broken file keeps admitting what was admitted before.
* A file with only warnings is in force: its rooms are kept with what they cannot do removed.
  :class:`RoomProblems` holds those warnings, re-checks areas on every area registry change and
  keeps the ``mapping_rooms`` repair issue current.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
import logging
from pathlib import Path
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import area_registry as ar, issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, ISSUE_MAPPING_INVALID
from ..log import get_logger
from ..repairs import async_raise_issue
from ..timestamps import utc_now_iso
from .mapping import AreaMapping, empty_mapping
from .mapping_diff import MappingDiff, diff
from .mapping_errors import ErrorCode, MappingError, MappingResult, MappingWarning
from .mapping_parse import parse_mapping, read_mapping_file
from .mapping_problems import RoomProblems
from .mapping_render import render_mapping

_LOGGER = get_logger(__name__)

POLL_INTERVAL: Final = timedelta(seconds=10)
ISSUE_MAX_ERRORS: Final = 3
STORAGE_VERSION: Final = 1
STORAGE_KEY: Final = f"{DOMAIN}.area_mapping"

type FileSignature = tuple[int, int, int] | None
"""``(mtime_ns, size, inode)`` of the mapping file, ``None`` when it does not exist."""


class MappingStatus(StrEnum):
    """State of the mapping file as last read."""

    VALID = "valid"
    INVALID = "invalid"
    MISSING = "missing"


class MappingSource(StrEnum):
    """Where the mapping in force came from."""

    FILE = "file"
    LAST_GOOD = "last_good"
    EMPTY = "empty"


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """Outcome of one read of the file."""

    rooms: int
    diff: MappingDiff
    status: MappingStatus
    errors: tuple[MappingError, ...]
    applied: bool
    warnings: tuple[MappingWarning, ...] = ()

    def as_response(self) -> dict[str, Any]:
        """The ``reload_mapping`` response: ``{rooms, added, removed, changed}`` plus status."""
        return {
            "rooms": self.rooms,
            **self.diff.as_dict(),
            "status": self.status.value,
            "errors": [error.as_dict() for error in self.errors],
            "warnings": [warning.as_dict() for warning in self.warnings],
        }


def file_signature(path: Path) -> FileSignature:
    """Stat the file (blocking)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def _read(path: Path) -> tuple[FileSignature, MappingResult]:
    """Stat, then read and parse (blocking). Stat first: a change after it is seen next poll.

    Areas are not checked here: they change without the file changing (see RoomProblems).
    """
    signature = file_signature(path)
    return signature, read_mapping_file(path)


type MappingListener = Callable[[AreaMapping, MappingDiff], None]


class MappingManager:
    """Owns the mapping in force for one config entry."""

    def __init__(self, hass: HomeAssistant, path: Path) -> None:
        """Prepare the manager for the mapping file at ``path`` (nothing is read yet)."""
        self.hass = hass
        self.path = path
        self._mapping = empty_mapping()
        self.status = MappingStatus.MISSING
        self.source = MappingSource.EMPTY
        self.errors: tuple[MappingError, ...] = ()
        self.loaded_at: datetime | None = None
        self.last_checked_at: datetime | None = None
        self._signature: FileSignature = None
        self._read_again = False
        self._lock = asyncio.Lock()
        self._listeners: list[MappingListener] = []
        self._unsubscribers: list[CALLBACK_TYPE] = []
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, STORAGE_KEY)
        self.problems = RoomProblems(hass, path)
        self.on_read: Callable[[], None] | None = None
        """Called after every read of the file and area re-check (the status may have changed)."""

    @property
    def mapping(self) -> AreaMapping:
        """The mapping in force."""
        return self._mapping

    # -- lifecycle -----------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Read the file for the first time (falls back to the stored last good mapping)."""
        result = await self._async_read(initial=True)
        if result.status is MappingStatus.INVALID and not result.applied:
            await self._async_use_stored_last_good()
            self._raise_issue()

    @callback
    def async_start(self) -> None:
        """Watch the file (polling) and the area registry."""
        self._unsubscribers.append(
            async_track_time_interval(
                self.hass, self._async_poll, POLL_INTERVAL, name=f"{DOMAIN} mapping poll"
            )
        )
        self._unsubscribers.append(
            self.hass.bus.async_listen(ar.EVENT_AREA_REGISTRY_UPDATED, self._async_area_changed)
        )

    @callback
    def async_stop(self) -> None:
        """Stop watching."""
        while self._unsubscribers:
            self._unsubscribers.pop()()

    @callback
    def async_add_listener(self, listener: MappingListener) -> CALLBACK_TYPE:
        """Call ``listener(mapping, diff)`` whenever the mapping in force changes."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            self._listeners.remove(listener)

        return remove

    # -- reading -------------------------------------------------------------------------------

    async def async_reload(self) -> ReloadResult:
        """Re-read the file now (the ``reload_mapping`` service)."""
        result = await self._async_read(initial=False)
        if result.status is MappingStatus.INVALID:
            self._raise_issue()
        return result

    async def _async_poll(self, _now: datetime | None = None) -> None:
        signature = await self.hass.async_add_executor_job(file_signature, self.path)
        self.last_checked_at = dt_util.utcnow()
        if signature != self._signature:
            _LOGGER.debug("Mapping file %s changed; re-reading", self.path)
            await self.async_reload()
        elif self._read_again:
            _LOGGER.debug("Mapping file %s could not be read; trying again", self.path)
            await self.async_reload()

    @callback
    def _async_area_changed(self, _event: Event[Any]) -> None:
        # Only the warnings depend on areas: no file read, no change to what is admitted.
        self.problems.async_check_areas(self._mapping)
        if self.on_read is not None:
            self.on_read()

    async def _async_read(self, *, initial: bool) -> ReloadResult:
        result = await self._async_read_locked(initial=initial)
        if self.on_read is not None:
            self.on_read()
        return result

    async def _async_read_locked(self, *, initial: bool) -> ReloadResult:
        async with self._lock:
            signature, result = await self.hass.async_add_executor_job(_read, self.path)
            # The same problem in the same file was logged when it was first seen.
            repeated = signature == self._signature and result.errors == self.errors
            self._signature = signature
            # A writer holding the file open, a permission fixed without touching the file's
            # time: read it again at every poll until it can be.
            self._read_again = result.passing
            self.last_checked_at = dt_util.utcnow()
            if result.mapping is not None:
                return await self._async_apply(result.mapping, MappingSource.FILE, result.warnings)
            missing = len(result.errors) == 1 and result.errors[0].code == ErrorCode.FILE_MISSING
            if missing and (initial or self.source is MappingSource.EMPTY):
                # No file yet: the empty mapping, no error (the options offer to generate one).
                return await self._async_apply(empty_mapping(), MappingSource.EMPTY, ())
            # Broken (or deleted after it was loaded): keep what is in force.
            self.status = MappingStatus.INVALID
            self.errors = result.errors
            _LOGGER.log(
                logging.DEBUG if repeated else logging.WARNING,
                "Area mapping %s is invalid (%s error(s), first: %s); keeping the last good "
                "mapping with %s room(s)",
                self.path,
                len(result.errors),
                result.errors[0] if result.errors else "?",
                len(self._mapping.rooms),
            )
            return ReloadResult(
                rooms=len(self._mapping.rooms),
                diff=MappingDiff(),
                status=MappingStatus.INVALID,
                errors=result.errors,
                applied=False,
                warnings=self.problems.warnings,
            )

    async def _async_apply(
        self,
        mapping: AreaMapping,
        source: MappingSource,
        warnings: tuple[MappingWarning, ...],
    ) -> ReloadResult:
        change = diff(self._mapping, mapping)
        self._mapping = mapping
        self.source = source
        self.status = MappingStatus.VALID if source is MappingSource.FILE else MappingStatus.MISSING
        self.errors = ()
        self.loaded_at = dt_util.utcnow()
        ir.async_delete_issue(self.hass, DOMAIN, ISSUE_MAPPING_INVALID)
        self.problems.async_set(mapping, warnings)
        if source is MappingSource.FILE:
            await self._async_store_last_good(mapping)
        if not change.is_empty:
            _LOGGER.info(
                "Area mapping %s: %s room(s); added %s, removed %s, changed %s",
                self.path,
                len(mapping.rooms),
                list(change.added),
                list(change.removed),
                [c.room_id for c in change.changed],
            )
            for listener in list(self._listeners):
                listener(mapping, change)
        return ReloadResult(
            rooms=len(mapping.rooms),
            diff=change,
            status=self.status,
            errors=(),
            applied=True,
            warnings=self.problems.warnings,
        )

    # -- last good mapping ---------------------------------------------------------------------

    async def _async_store_last_good(self, mapping: AreaMapping) -> None:
        text = render_mapping(mapping)
        stored = await self._store.async_load()
        if stored is not None and stored.get("text") == text:
            return
        await self._store.async_save(
            {"path": str(self.path), "text": text, "saved_at": utc_now_iso()}
        )

    async def _async_use_stored_last_good(self) -> None:
        stored = await self._store.async_load()
        if not stored or not isinstance(stored.get("text"), str):
            return
        # Validated when it was saved; its areas are checked live like any mapping in force.
        result = parse_mapping(stored["text"])
        if result.mapping is None:
            return
        _LOGGER.warning(
            "Using the last good area mapping from %s (%s room(s)) until %s is fixed",
            stored.get("saved_at"),
            len(result.mapping.rooms),
            self.path,
        )
        self._mapping = result.mapping
        self.source = MappingSource.LAST_GOOD
        self.loaded_at = dt_util.utcnow()
        self.problems.async_set(result.mapping, result.warnings)

    # -- repair issue and health ---------------------------------------------------------------

    @callback
    def _raise_issue(self) -> None:
        shown = "; ".join(str(error) for error in self.errors[:ISSUE_MAX_ERRORS])
        async_raise_issue(
            self.hass,
            ISSUE_MAPPING_INVALID,
            {
                "path": str(self.path),
                "count": str(len(self.errors)),
                "errors": shown,
                "rooms": str(len(self._mapping.rooms)),
            },
        )

    def health(self) -> dict[str, Any]:
        """Mapping status for the health endpoint, sensors and diagnostics."""
        return {
            "status": self.status.value,
            "source": self.source.value,
            "path": str(self.path),
            "rooms": len(self._mapping.rooms),
            "errors": [error.as_dict() for error in self.errors[:10]],
            "error_count": len(self.errors),
            **self.problems.health(),
            "loaded_at": self.loaded_at.isoformat() if self.loaded_at else None,
            "last_checked_at": self.last_checked_at.isoformat() if self.last_checked_at else None,
        }
