"""What can be wrong with a mapping file: error codes, errors, warnings and the parse result.

Problems come in two severities. An *error* means the file cannot be read as a mapping (bad YAML,
wrong version, no ``rooms``, limits exceeded): the whole file is rejected and the caller keeps what
it had. A *warning* concerns one part of one room the file can otherwise describe
(``vacuum_control`` without a ``segment_id``, an ``area_id`` that is not in HA's area registry, an
unusable ``segment_id`` or ``area_id`` value, an unknown or repeated capability): the room is kept
and loses only that part, listed in the warning's ``loses``. One broken detail must not take a
whole home's rooms offline. Pure Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .mapping import AreaMapping


class ErrorCode(StrEnum):
    """Kinds of mapping validation errors (``MappingError.code``)."""

    YAML_SYNTAX = "yaml_syntax"
    FILE_MISSING = "file_missing"
    FILE_UNREADABLE = "file_unreadable"
    EMPTY_DOCUMENT = "empty_document"
    WRONG_TYPE = "wrong_type"
    UNKNOWN_KEY = "unknown_key"
    DUPLICATE_KEY = "duplicate_key"
    DUPLICATE_ROOM = "duplicate_room"
    MISSING_FIELD = "missing_field"
    WRONG_VERSION = "wrong_version"
    INVALID_ROOM_ID = "invalid_room_id"
    UNKNOWN_CAPABILITY = "unknown_capability"
    DUPLICATE_CAPABILITY = "duplicate_capability"
    SEGMENT_MISSING = "segment_missing"
    UNKNOWN_AREA = "unknown_area"
    FILE_TOO_LARGE = "file_too_large"
    TOO_MANY_ROOMS = "too_many_rooms"
    TOO_COMPLEX = "too_complex"


@dataclass(frozen=True, slots=True)
class MappingError:
    """One validation problem.

    ``key`` is the YAML key the problem concerns (``"segment_id"``, ``"rooms"``, a room id, …; empty
    for whole-document problems) and ``code`` the kind of problem (an :class:`ErrorCode` value).
    """

    room_id: str | None
    line: int | None
    message: str
    key: str
    code: str = "invalid"

    def __str__(self) -> str:
        """Render as ``line 7, room 'kitchen': message``."""
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.room_id is not None:
            where.append(f"room '{self.room_id}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form for service responses and diagnostics."""
        return {
            "room_id": self.room_id,
            "line": self.line,
            "key": self.key,
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class MappingWarning(MappingError):  # noqa: N818 - a record of a problem, not an exception
    """A problem confined to one room, which is kept; ``loses`` says what it cannot do.

    ``loses`` names config domains it is refused (``"vacuum_control"``), capabilities it listed
    that do not exist, or ``mapping.AREA_FEATURES`` for a room without a usable area.
    """

    loses: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form: the error fields plus ``loses``."""
        return {**MappingError.as_dict(self), "loses": list(self.loses)}


@dataclass(frozen=True, slots=True)
class MappingResult:
    """Outcome of parsing: a mapping when there are no errors, else ``None``.

    ``warnings`` are only given with a mapping: a rejected file keeps no room.
    """

    mapping: AreaMapping | None
    errors: tuple[MappingError, ...] = ()
    warnings: tuple[MappingWarning, ...] = ()
    passing: bool = False
    """The file could not be read for a reason that may pass while it stays as it is (held open
    in Home Assistant, a permission, an I/O error): worth reading again without an edit."""

    @property
    def ok(self) -> bool:
        """True when the text was a valid mapping."""
        return self.mapping is not None
