"""Area mapping v3.1: parse and validate the YAML file, answer "may room R hold domain D?".

The file looks like::

    version: "3.1"
    rooms:
      kitchen:
        name: Kitchen
        area_id: kitchen            # optional; an area in HA's registry (if missing: a warning)
        capabilities: [motion_lighting, vacuum_control, activity]
        segment_id: "16"            # a string; required for vacuum_control

Parsing never raises for bad input: :func:`parse_mapping` returns a :class:`MappingResult` whose
``errors`` and ``warnings`` name the room, the 1-based YAML line and the key each problem concerns.

Problems come in two severities. An *error* means the file cannot be read as a mapping (bad YAML,
wrong version, no ``rooms``, a room whose id, name or capability list cannot be read, limits
exceeded): the whole file is rejected and the caller keeps what it had. A *warning* concerns one
part of one room the file can otherwise describe (``vacuum_control`` without a ``segment_id``, an
``area_id`` that is not in HA's area registry, an unusable ``segment_id`` or ``area_id`` value, an
unknown or repeated capability): the room is kept and loses only that part, listed in the
warning's ``loses``. One broken detail must not take a whole home's rooms offline. The document is
walked as a YAML node tree (``yaml.compose``) rather than loaded, so duplicate keys (which a plain
loader silently overwrites) are reported and every value keeps its line number. Nothing here
imports Home Assistant.

Limits keep a hostile or mistaken file from stalling Home Assistant: a file over 1 MiB is refused
from its ``fstat`` before a byte is read (``file_too_large``), YAML nesting deeper than 32 levels
is refused while streaming the parser's events (before any tree is built), more than 500 rooms are
``too_many_rooms``, and the walk stops after 100 errors or when anchors and merges make it visit
more than 100,000 nodes (``too_complex``). PyYAML's C parser is used where it is installed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
import difflib
from enum import StrEnum
from pathlib import Path
import re
from types import MappingProxyType
from typing import Any, Final

import yaml  # type: ignore[import-untyped]

from ..paths import MAPPING_MAX_BYTES, FileTooLargeError, UnsafePathError, read_regular_file

MAPPING_VERSION: Final = "3.1"

MAX_ROOMS: Final = 500
MAX_YAML_DEPTH: Final = 32
"""A valid mapping nests 4 deep (rooms, room, capabilities); anything far deeper is not one."""
MAX_ERRORS: Final = 100
MAX_WARNINGS: Final = 2 * MAX_ROOMS
"""Every room may lose its segment and its area; more warnings than that is not a mapping."""
MAX_VISITS: Final = 100_000
"""Nodes the validator may visit: anchors let a small file make it walk one node many times."""

_LOADER: Final[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPENING_EVENTS: Final = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSING_EVENTS: Final = (yaml.MappingEndEvent, yaml.SequenceEndEvent)

KNOWN_DOMAINS: Final = ("motion_lighting", "vacuum_control", "activity", "climate_schedule", "ml")
"""Config domains a room can be granted, in display order."""

VACUUM_DOMAIN: Final = "vacuum_control"
AREA_FEATURES: Final = ("activity_sensors", "vacuum_clean_area", "ml_room_events")
"""What a room without a usable area loses: the activity pipeline finds sensors by area,
``vacuum.clean_area`` names areas, and recorded ML events get their room from the area."""
DEFAULT_CAPABILITIES: Final = ("motion_lighting", "activity")
"""Capabilities :func:`generate_from_areas` gives every generated room."""

TOP_LEVEL_KEYS: Final = ("version", "rooms")
ROOM_KEYS: Final = ("name", "area_id", "capabilities", "segment_id")

_ROOM_ID_RE: Final = re.compile(r"[a-z0-9_]+")

_TAG_PREFIX: Final = "tag:yaml.org,2002:"
_STR_TAG: Final = _TAG_PREFIX + "str"
_NULL_TAG: Final = _TAG_PREFIX + "null"
_MERGE_TAG: Final = _TAG_PREFIX + "merge"
_TAG_DESCRIPTIONS: Final = {
    _TAG_PREFIX + "int": "a number",
    _TAG_PREFIX + "float": "a number",
    _TAG_PREFIX + "bool": "a boolean",
    _NULL_TAG: "empty",
    _TAG_PREFIX + "timestamp": "a date",
    _TAG_PREFIX + "binary": "binary data",
    _STR_TAG: "a string",
}

# PyYAML ships no type information; nodes are handled as ``Any`` behind these helpers.
type _Node = Any


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


class DenialReason(StrEnum):
    """Why a (domain, room) pair is not allowed."""

    UNKNOWN_DOMAIN = "unknown_domain"
    UNKNOWN_ROOM = "unknown_room"
    CAPABILITY_MISSING = "capability_missing"
    SEGMENT_MISSING = "segment_missing"


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
    that do not exist, or :data:`AREA_FEATURES` for a room without a usable area.
    """

    loses: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form: the error fields plus ``loses``."""
        return {**MappingError.as_dict(self), "loses": list(self.loses)}


@dataclass(frozen=True, slots=True)
class Room:
    """One room of the mapping."""

    room_id: str
    name: str
    capabilities: tuple[str, ...] = ()
    area_id: str | None = None
    segment_id: str | None = None
    area_line: int | None = field(default=None, compare=False)
    """Line of ``area_id`` in the file, for warnings about the area found after parsing."""


@dataclass(frozen=True)
class AreaMapping:
    """A validated mapping. ``rooms`` keeps document order and is read-only."""

    version: str = MAPPING_VERSION
    rooms: Mapping[str, Room] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        """Freeze ``rooms`` so a shared mapping cannot be changed under its readers."""
        if not isinstance(self.rooms, MappingProxyType):
            object.__setattr__(self, "rooms", MappingProxyType(dict(self.rooms)))


@dataclass(frozen=True, slots=True)
class MappingResult:
    """Outcome of :func:`parse_mapping`: a mapping when there are no errors, else ``None``.

    ``warnings`` are only given with a mapping: a rejected file keeps no room.
    """

    mapping: AreaMapping | None
    errors: tuple[MappingError, ...] = ()
    warnings: tuple[MappingWarning, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the text was a valid mapping."""
        return self.mapping is not None


@dataclass(frozen=True, slots=True)
class Denial:
    """A refused (domain, room) pair with the placeholders for the ``admission_denied`` message."""

    domain: str
    room_id: str
    reason: DenialReason

    @property
    def placeholders(self) -> dict[str, str]:
        """Translation placeholders ``{room_id, domain, reason}``."""
        return {"room_id": self.room_id, "domain": self.domain, "reason": self.reason.value}

    @property
    def message(self) -> str:
        """An English explanation for logs."""
        match self.reason:
            case DenialReason.UNKNOWN_DOMAIN:
                return f"'{self.domain}' is not a known config domain"
            case DenialReason.UNKNOWN_ROOM:
                return f"room '{self.room_id}' is not in the area mapping"
            case DenialReason.CAPABILITY_MISSING:
                return f"room '{self.room_id}' does not have the '{self.domain}' capability"
            case DenialReason.SEGMENT_MISSING:
                return f"room '{self.room_id}' has no segment_id, which '{self.domain}' needs"


@dataclass(frozen=True, slots=True)
class RoomChange:
    """How one room differs between two mappings."""

    room_id: str
    capabilities_added: tuple[str, ...] = ()
    capabilities_removed: tuple[str, ...] = ()
    fields_changed: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "room_id": self.room_id,
            "capabilities_added": list(self.capabilities_added),
            "capabilities_removed": list(self.capabilities_removed),
            "fields_changed": list(self.fields_changed),
        }


@dataclass(frozen=True, slots=True)
class MappingDiff:
    """Rooms added, removed and changed between two mappings (room ids sorted)."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[RoomChange, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when the mappings grant exactly the same things."""
        return not (self.added or self.removed or self.changed)

    def as_dict(self) -> dict[str, Any]:
        """The ``added``/``removed``/``changed`` part of the ``reload_mapping`` response."""
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": [change.as_dict() for change in self.changed],
        }


# --------------------------------------------------------------------------------------------
# Parsing


def parse_mapping(text: str, known_area_ids: Collection[str] | None = None) -> MappingResult:
    """Parse and validate mapping YAML text; never raises for bad input.

    ``known_area_ids`` are HA's area registry ids (a mapping of id to name also lets warnings
    suggest an area by its name); pass ``None`` to skip that check (the mapping manager checks
    areas itself, live, with :func:`area_warnings`).
    """
    try:
        too_deep = _too_deep(text)
        root = None if too_deep is not None else yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(part) for part in (err.context, err.problem) if part)
        return _failed(
            MappingError(None, line, f"invalid YAML: {problem}", "", ErrorCode.YAML_SYNTAX)
        )
    except (yaml.YAMLError, UnicodeEncodeError) as err:
        # UnicodeEncodeError: the C parser takes UTF-8, which a lone surrogate cannot become.
        return _failed(MappingError(None, None, f"invalid YAML: {err}", "", ErrorCode.YAML_SYNTAX))
    if too_deep is not None:
        return _failed(too_deep)
    validator = _Validator()
    try:
        mapping = validator.document(root)
    except RecursionError:
        validator.errors.append(
            MappingError(
                None, None, "the document nests merges too deeply", "", ErrorCode.WRONG_TYPE
            )
        )
        mapping = None
    except _GaveUpError as err:
        validator.errors.append(err.error)
        mapping = None
    errors = tuple(sorted(validator.errors, key=_by_line))
    if errors or mapping is None:
        return MappingResult(None, errors)
    warnings = validator.warnings
    if known_area_ids is not None:
        warnings.extend(area_warnings(mapping, known_area_ids))
    return MappingResult(mapping, (), tuple(sorted(warnings, key=_by_line)))


def _by_line(problem: MappingError) -> int:
    return -1 if problem.line is None else problem.line


def _too_deep(text: str) -> MappingError | None:
    """Stream the parser's events (no tree, no recursion) and stop at the first nesting too deep.

    Composing a deeply nested document recurses once per level, in C: far too deep and it
    overflows a thread's stack, merely deep and it takes seconds.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, _OPENING_EVENTS):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                return MappingError(
                    None,
                    _line(event),
                    f"invalid YAML: nested deeper than {MAX_YAML_DEPTH} levels",
                    "",
                    ErrorCode.YAML_SYNTAX,
                )
        elif isinstance(event, _CLOSING_EVENTS):
            depth -= 1
    return None


def read_mapping_file(path: Path, known_area_ids: Collection[str] | None = None) -> MappingResult:
    """Read and parse a mapping file (blocking: run it in the executor).

    A missing file gives one error with code ``file_missing`` (the caller may treat that as the
    empty mapping); a file over 1 MiB gives ``file_too_large`` (checked before it is read); a
    folder, FIFO or other special file, a file Home Assistant holds open, an unreadable or
    non-UTF-8 file give ``file_unreadable`` — without ever opening a file this process has open.
    """
    try:
        text = read_regular_file(path, MAPPING_MAX_BYTES).decode("utf-8")
    except FileNotFoundError:
        return _failed(
            MappingError(
                None, None, f"mapping file {path} does not exist", "", ErrorCode.FILE_MISSING
            )
        )
    except FileTooLargeError as err:
        return _failed(
            MappingError(
                None,
                None,
                f"mapping file {path} has {err.size} bytes; RoomDB reads at most "
                f"{err.limit} bytes (1 MiB)",
                "",
                ErrorCode.FILE_TOO_LARGE,
            )
        )
    except (OSError, UnicodeDecodeError, UnsafePathError) as err:
        reason = f"it {err.reason}" if isinstance(err, UnsafePathError) else str(err)
        return _failed(
            MappingError(
                None,
                None,
                f"cannot read mapping file {path}: {reason}",
                "",
                ErrorCode.FILE_UNREADABLE,
            )
        )
    return parse_mapping(text, known_area_ids)


def _failed(error: MappingError) -> MappingResult:
    return MappingResult(None, (error,))


def _line(node: _Node) -> int | None:
    mark = getattr(node, "start_mark", None)
    return None if mark is None else int(mark.line) + 1


def _is_mapping(node: _Node) -> bool:
    return isinstance(node, yaml.MappingNode)


def _string(node: _Node) -> str | None:
    """The value of a plain or quoted string scalar, else None."""
    if isinstance(node, yaml.ScalarNode) and node.tag == _STR_TAG:
        return str(node.value)
    return None


def _is_null(node: _Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


def _describe(node: _Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    tag = str(getattr(node, "tag", ""))
    return _TAG_DESCRIPTIONS.get(tag, f"a value tagged {tag}")


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _GaveUpError(Exception):
    """The validator stops: too many errors, or too much work for one file."""

    def __init__(self, error: MappingError) -> None:
        super().__init__(error.message)
        self.error = error


class _Validator:
    """Walks the composed node tree, collecting errors and building the mapping."""

    def __init__(self) -> None:
        self.errors: list[MappingError] = []
        self.warnings: list[MappingWarning] = []
        self.visits_left = MAX_VISITS

    def add(
        self, room_id: str | None, line: int | None, message: str, key: str, code: ErrorCode
    ) -> None:
        self.errors.append(MappingError(room_id, line, message, key, code.value))
        if len(self.errors) >= MAX_ERRORS:
            raise _GaveUpError(
                MappingError(
                    None,
                    None,
                    f"more than {MAX_ERRORS} errors; fix these first",
                    "",
                    ErrorCode.TOO_COMPLEX,
                )
            )

    def warn(
        self,
        room_id: str,
        line: int | None,
        message: str,
        key: str,
        code: ErrorCode,
        *,
        loses: tuple[str, ...],
    ) -> None:
        self.warnings.append(MappingWarning(room_id, line, message, key, code.value, loses))
        if len(self.warnings) > MAX_WARNINGS:
            raise _GaveUpError(
                MappingError(
                    None,
                    line,
                    f"more than {MAX_WARNINGS} room problems; this is not a usable mapping",
                    "",
                    ErrorCode.TOO_COMPLEX,
                )
            )

    def visit(self, node: _Node) -> None:
        """Count the children of ``node`` against the work one file may cause."""
        self.visits_left -= len(node.value)
        if self.visits_left < 0:
            raise _GaveUpError(
                MappingError(
                    None,
                    _line(node),
                    f"anchors and merges make this file expand to more than {MAX_VISITS} "
                    "values; write the rooms out",
                    "",
                    ErrorCode.TOO_COMPLEX,
                )
            )

    # -- generic mapping walk ---------------------------------------------------------------

    def items(
        self,
        node: _Node,
        room_id: str | None,
        where: str,
        *,
        rooms: bool = False,
        duplicates: list[tuple[str, _Node, _Node]] | None = None,
    ) -> dict[str, tuple[_Node, _Node]]:
        """String-keyed entries of a mapping node in document order, reporting duplicates.

        Merge keys (``<<: *anchor``) are honoured with YAML semantics: explicit keys win over merged
        ones, earlier merge sources over later ones.
        """
        self.visit(node)
        explicit: dict[str, tuple[_Node, _Node]] = {}
        merged: dict[str, tuple[_Node, _Node]] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE_TAG:
                self.merge(value_node, merged, room_id, where, {id(node)})
                continue
            key = _string(key_node)
            if key is None:
                self.bad_key(key_node, room_id, where, rooms=rooms)
                continue
            if key in explicit:
                first = _line(explicit[key][0])
                if rooms:
                    self.add(
                        key,
                        _line(key_node),
                        f"room '{key}' is defined more than once (first on line {first})",
                        key,
                        ErrorCode.DUPLICATE_ROOM,
                    )
                else:
                    self.add(
                        room_id,
                        _line(key_node),
                        f"key '{key}' appears more than once in {where} (first on line {first})",
                        key,
                        ErrorCode.DUPLICATE_KEY,
                    )
                if duplicates is not None:
                    duplicates.append((key, key_node, value_node))
                continue
            explicit[key] = (key_node, value_node)
        for key, pair in merged.items():
            explicit.setdefault(key, pair)
        return explicit

    def merge(
        self,
        source: _Node,
        into: dict[str, tuple[_Node, _Node]],
        room_id: str | None,
        where: str,
        seen: set[int],
    ) -> None:
        """Add the entries of a merge source (a mapping or a list of mappings) to ``into``."""
        sources = source.value if isinstance(source, yaml.SequenceNode) else [source]
        for item in sources:
            if not _is_mapping(item):
                self.add(
                    room_id,
                    _line(item),
                    f"a merge key ('<<') in {where} must refer to a mapping, not {_describe(item)}",
                    "<<",
                    ErrorCode.WRONG_TYPE,
                )
                continue
            if id(item) in seen:
                continue
            seen.add(id(item))
            self.visit(item)
            own: dict[str, tuple[_Node, _Node]] = {}
            nested: dict[str, tuple[_Node, _Node]] = {}
            for key_node, value_node in item.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE_TAG:
                    self.merge(value_node, nested, room_id, where, seen)
                    continue
                key = _string(key_node)
                if key is not None:
                    own.setdefault(key, (key_node, value_node))
            for key, pair in (own | {k: v for k, v in nested.items() if k not in own}).items():
                into.setdefault(key, pair)

    def bad_key(self, key_node: _Node, room_id: str | None, where: str, *, rooms: bool) -> None:
        if rooms and isinstance(key_node, yaml.ScalarNode):
            self.add(
                None,
                _line(key_node),
                f"room id {key_node.value!r} is {_describe(key_node)}; room ids are strings "
                f"matching ^[a-z0-9_]+$ (quote it)",
                str(key_node.value),
                ErrorCode.INVALID_ROOM_ID,
            )
            return
        text = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else ""
        self.add(
            room_id,
            _line(key_node),
            f"keys in {where} must be strings, not {_describe(key_node)}",
            text,
            ErrorCode.WRONG_TYPE,
        )

    @staticmethod
    def unknown_keys(
        entries: dict[str, tuple[_Node, _Node]], allowed: Sequence[str], where: str
    ) -> Iterator[tuple[str, int | None, str]]:
        """``(key, line, message)`` for each key not in ``allowed``."""
        for key, (key_node, _value) in entries.items():
            if key not in allowed:
                message = (
                    f"unknown key '{key}' in {where}{_suggest(key, allowed)}; "
                    f"allowed keys: {', '.join(allowed)}"
                )
                yield key, _line(key_node), message

    # -- document ---------------------------------------------------------------------------

    def document(self, root: _Node) -> AreaMapping | None:
        if root is None or _is_null(root):
            self.add(
                None,
                _line(root),
                'the mapping file is empty; expected version: "3.1" and rooms',
                "",
                ErrorCode.EMPTY_DOCUMENT,
            )
            return None
        if not _is_mapping(root):
            self.add(
                None,
                _line(root),
                f"the mapping file must be a mapping with version and rooms, not {_describe(root)}",
                "",
                ErrorCode.WRONG_TYPE,
            )
            return None
        entries = self.items(root, None, "the top level")
        for key, line, message in self.unknown_keys(entries, TOP_LEVEL_KEYS, "the top level"):
            self.add(None, line, message, key, ErrorCode.UNKNOWN_KEY)
        version = self.version(entries, root)
        rooms = self.rooms(entries, root)
        if version is None or rooms is None:
            return None
        return AreaMapping(version=version, rooms=rooms)

    def version(self, entries: dict[str, tuple[_Node, _Node]], root: _Node) -> str | None:
        if "version" not in entries:
            self.add(
                None,
                _line(root),
                f'missing version (expected version: "{MAPPING_VERSION}")',
                "version",
                ErrorCode.MISSING_FIELD,
            )
            return None
        _key_node, node = entries["version"]
        value = _string(node)
        if value == MAPPING_VERSION:
            return value
        if value is None and isinstance(node, yaml.ScalarNode) and node.value == MAPPING_VERSION:
            message = (
                f'version must be the string "{MAPPING_VERSION}", not {_describe(node)}; '
                f'quote it: version: "{MAPPING_VERSION}"'
            )
        else:
            shown = value if value is not None else _describe(node)
            message = (
                f'unsupported version {shown!r}; this RoomDB reads version "{MAPPING_VERSION}"'
            )
        self.add(None, _line(node), message, "version", ErrorCode.WRONG_VERSION)
        return None

    def rooms(self, entries: dict[str, tuple[_Node, _Node]], root: _Node) -> dict[str, Room] | None:
        if "rooms" not in entries:
            self.add(
                None,
                _line(root),
                "missing rooms (use rooms: {} for none)",
                "rooms",
                ErrorCode.MISSING_FIELD,
            )
            return None
        _key_node, node = entries["rooms"]
        if not _is_mapping(node):
            self.add(
                None,
                _line(node),
                f"rooms must be a mapping of room id to room, not {_describe(node)}",
                "rooms",
                ErrorCode.WRONG_TYPE,
            )
            return None
        rooms: dict[str, Room] = {}
        duplicates: list[tuple[str, _Node, _Node]] = []
        entries = self.items(node, None, "rooms", rooms=True, duplicates=duplicates)
        if len(entries) > MAX_ROOMS:
            self.add(
                None,
                _line(node),
                f"{len(entries)} rooms; RoomDB takes at most {MAX_ROOMS}",
                "rooms",
                ErrorCode.TOO_MANY_ROOMS,
            )
            return None
        for room_id, (key_node, value_node) in entries.items():
            room = self.room(room_id, key_node, value_node)
            if room is not None:
                rooms[room_id] = room
        for room_id, key_node, value_node in duplicates:
            # Validated for their own errors; a duplicated room is never part of a mapping.
            self.room(room_id, key_node, value_node)
        return rooms

    # -- one room ---------------------------------------------------------------------------

    def room(self, room_id: str, key_node: _Node, node: _Node) -> Room | None:
        """One room, or ``None`` when it cannot be kept.

        Its problems are warnings, never errors: one unreadable room must not take every other
        room's admission with it.
        """
        if not _ROOM_ID_RE.fullmatch(room_id):
            self.warn(
                room_id,
                _line(key_node),
                f"room id '{room_id}' must match ^[a-z0-9_]+$ (lower-case letters, digits, _); "
                "the room is skipped",
                room_id,
                ErrorCode.INVALID_ROOM_ID,
                loses=KNOWN_DOMAINS,
            )
            return None
        if not _is_mapping(node):
            self.warn(
                room_id,
                _line(node) if not _is_null(node) else _line(key_node),
                f"a room must be a mapping with name and capabilities, not {_describe(node)}; "
                "the room is skipped",
                room_id,
                ErrorCode.WRONG_TYPE,
                loses=KNOWN_DOMAINS,
            )
            return None
        where = f"room '{room_id}'"
        entries = self.items(node, room_id, where)
        errors_before = len(self.errors)
        for key, line, message in self.unknown_keys(entries, ROOM_KEYS, where):
            self.warn(room_id, line, f"{message}; ignored", key, ErrorCode.UNKNOWN_KEY, loses=())
        name = self.name(room_id, entries, key_node)
        capabilities = self.capabilities(room_id, entries, key_node)
        needs_segment = VACUUM_DOMAIN in capabilities
        area_id = self.optional_string(room_id, entries, "area_id", AREA_FEATURES)
        segment_id = self.optional_string(
            room_id, entries, "segment_id", (VACUUM_DOMAIN,) if needs_segment else ()
        )
        if needs_segment and ("segment_id" not in entries or _is_null(entries["segment_id"][1])):
            self.warn(
                room_id,
                _line(entries["capabilities"][1]),
                f"capability '{VACUUM_DOMAIN}' needs a segment_id (the vacuum's segment, as a "
                f'string, e.g. segment_id: "16"); the room is kept without {VACUUM_DOMAIN}',
                "segment_id",
                ErrorCode.SEGMENT_MISSING,
                loses=(VACUUM_DOMAIN,),
            )
        if len(self.errors) != errors_before:
            return None
        return Room(
            room_id=room_id,
            name=name,
            capabilities=capabilities,
            area_id=area_id,
            segment_id=segment_id,
            area_line=_line(entries["area_id"][1]) if area_id is not None else None,
        )

    def name(self, room_id: str, entries: dict[str, tuple[_Node, _Node]], key_node: _Node) -> str:
        """The room's name; without a usable one the room is named after its id."""
        if "name" not in entries:
            self.warn(
                room_id,
                _line(key_node),
                f"missing name; the room is named '{room_id}'",
                "name",
                ErrorCode.MISSING_FIELD,
                loses=(),
            )
            return room_id
        node = entries["name"][1]
        value = _string(node)
        if value is None or not value.strip():
            self.warn(
                room_id,
                _line(node),
                "name must be a non-empty string, not "
                + (_describe(node) if value is None else "blank")
                + f"; the room is named '{room_id}'",
                "name",
                ErrorCode.WRONG_TYPE,
                loses=(),
            )
            return room_id
        return value

    def optional_string(
        self,
        room_id: str,
        entries: dict[str, tuple[_Node, _Node]],
        key: str,
        loses: tuple[str, ...],
    ) -> str | None:
        """area_id / segment_id: a non-empty string; absent or empty (null) means not set.

        Any other value is a warning: the room is kept as if the key were not set.
        """
        if key not in entries:
            return None
        node = entries[key][1]
        if _is_null(node):
            return None
        value = _string(node)
        if value is not None and value.strip():
            return value
        if value is not None:
            message = f"{key} must not be blank"
        elif isinstance(node, yaml.ScalarNode) and key == "segment_id":
            message = (
                f"segment_id must be a string, not {_describe(node)}; "
                f'quote it: segment_id: "{node.value}"'
            )
        else:
            message = f"{key} must be a string, not {_describe(node)}"
        self.warn(room_id, _line(node), message, key, ErrorCode.WRONG_TYPE, loses=loses)
        return None

    def capabilities(
        self, room_id: str, entries: dict[str, tuple[_Node, _Node]], key_node: _Node
    ) -> tuple[str, ...]:
        """The room's capabilities; an unreadable list keeps the room with none."""
        if "capabilities" not in entries:
            self.warn(
                room_id,
                _line(key_node),
                "missing capabilities (a list; use [] for none); the room is kept with none",
                "capabilities",
                ErrorCode.MISSING_FIELD,
                loses=KNOWN_DOMAINS,
            )
            return ()
        node = entries["capabilities"][1]
        if not isinstance(node, yaml.SequenceNode):
            self.warn(
                room_id,
                _line(node),
                f"capabilities must be a list of strings, not {_describe(node)}; "
                "the room is kept with none",
                "capabilities",
                ErrorCode.WRONG_TYPE,
                loses=KNOWN_DOMAINS,
            )
            return ()
        self.visit(node)
        # A bad item costs the room that item only; the list itself is readable.
        result: list[str] = []
        for item in node.value:
            value = _string(item)
            if value is None:
                self.warn(
                    room_id,
                    _line(item),
                    f"capabilities must be a list of strings; found {_describe(item)}; ignored",
                    "capabilities",
                    ErrorCode.WRONG_TYPE,
                    loses=(),
                )
            elif value not in KNOWN_DOMAINS:
                self.warn(
                    room_id,
                    _line(item),
                    f"unknown capability '{value}'{_suggest(value, KNOWN_DOMAINS)}; "
                    f"known: {', '.join(KNOWN_DOMAINS)}; ignored",
                    "capabilities",
                    ErrorCode.UNKNOWN_CAPABILITY,
                    loses=(value,),
                )
            elif value in result:
                self.warn(
                    room_id,
                    _line(item),
                    f"capability '{value}' is listed more than once",
                    "capabilities",
                    ErrorCode.DUPLICATE_CAPABILITY,
                    loses=(),
                )
            else:
                result.append(value)
        return tuple(result)


# --------------------------------------------------------------------------------------------
# Questions about a mapping


def area_warnings(
    mapping: AreaMapping, known_area_ids: Collection[str]
) -> tuple[MappingWarning, ...]:
    """A warning for each room whose ``area_id`` is not (or no longer) in ``known_area_ids``.

    Kept apart from parsing because areas change while the file does not: the caller re-checks
    on every area registry change without re-reading the file. When ``known_area_ids`` maps ids
    to names, an area is also suggested by its name, so renaming an area in HA can change the
    suggestion (area ids stay the same when an area is renamed).
    """
    return tuple(
        MappingWarning(
            room.room_id,
            room.area_line,
            f"area_id '{room.area_id}' is not in Home Assistant's area registry"
            f"{_suggest_area(room.area_id, known_area_ids)}; the room is kept, but no sensor "
            "or vacuum area reaches it until the area exists",
            "area_id",
            ErrorCode.UNKNOWN_AREA.value,
            AREA_FEATURES,
        )
        for room in mapping.rooms.values()
        if room.area_id is not None and room.area_id not in known_area_ids
    )


def _suggest_area(area_id: str, areas: Collection[str]) -> str:
    """`` (did you mean 'study', named 'Den'?)`` by id, else by name; empty if nothing is close."""
    close = difflib.get_close_matches(area_id, list(areas), n=1)
    if not isinstance(areas, Mapping):
        return f" (did you mean '{close[0]}'?)" if close else ""
    if not close:
        by_name = {
            re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_"): a for a, name in areas.items()
        }
        names = difflib.get_close_matches(area_id, list(by_name), n=1)
        close = [by_name[names[0]]] if names else []
    return f" (did you mean '{close[0]}', named '{areas[close[0]]}'?)" if close else ""


def empty_mapping() -> AreaMapping:
    """The mapping in force before any file exists: no rooms, so every write is denied."""
    return AreaMapping(version=MAPPING_VERSION, rooms={})


def is_allowed(mapping: AreaMapping, domain: str, room_id: str) -> Denial | None:
    """``None`` when ``room_id`` may hold ``domain``, else the reason it may not."""
    if domain not in KNOWN_DOMAINS:
        return Denial(domain, room_id, DenialReason.UNKNOWN_DOMAIN)
    room = mapping.rooms.get(room_id)
    if room is None:
        return Denial(domain, room_id, DenialReason.UNKNOWN_ROOM)
    if domain not in room.capabilities:
        return Denial(domain, room_id, DenialReason.CAPABILITY_MISSING)
    if domain == VACUUM_DOMAIN and not room.segment_id:
        return Denial(domain, room_id, DenialReason.SEGMENT_MISSING)
    return None


def allowed_matrix(mapping: AreaMapping) -> dict[str, dict[str, bool]]:
    """``{domain: {room_id: allowed}}`` for every known domain and every room."""
    return {
        domain: {room_id: is_allowed(mapping, domain, room_id) is None for room_id in mapping.rooms}
        for domain in KNOWN_DOMAINS
    }


_COMPARED_FIELDS: Final = ("name", "area_id", "segment_id")


def diff(old: AreaMapping, new: AreaMapping) -> MappingDiff:
    """Rooms added, removed and changed (capabilities gained/lost, other fields changed)."""
    added = tuple(sorted(set(new.rooms) - set(old.rooms)))
    removed = tuple(sorted(set(old.rooms) - set(new.rooms)))
    changed: list[RoomChange] = []
    for room_id in sorted(set(old.rooms) & set(new.rooms)):
        before, after = old.rooms[room_id], new.rooms[room_id]
        gained = tuple(d for d in after.capabilities if d not in before.capabilities)
        lost = tuple(d for d in before.capabilities if d not in after.capabilities)
        fields = tuple(f for f in _COMPARED_FIELDS if getattr(before, f) != getattr(after, f))
        if gained or lost or fields:
            changed.append(RoomChange(room_id, gained, lost, fields))
    return MappingDiff(added, removed, tuple(changed))


# --------------------------------------------------------------------------------------------
# Writing mappings

_HEADER: Final = f"""\
# RoomDB area mapping, format version {MAPPING_VERSION}.
#
# rooms:
#   <room_id>:                 lower-case letters, digits and _
#     name: Kitchen
#     area_id: kitchen         optional; an area id from Home Assistant's area registry
#     capabilities: [...]      the config domains this room may hold:
#                              {", ".join(KNOWN_DOMAINS)}
#     segment_id: "16"         the vacuum's segment id, quoted; required for vacuum_control
#
# RoomDB re-reads this file when it changes. A broken file keeps the last good mapping in force.
"""


def render_mapping(mapping: AreaMapping) -> str:
    """YAML text for ``mapping`` with an explanatory header; parses back to an equal mapping."""
    rooms: dict[str, dict[str, Any]] = {}
    for room_id, room in mapping.rooms.items():
        entry: dict[str, Any] = {"name": room.name}
        if room.area_id is not None:
            entry["area_id"] = room.area_id
        entry["capabilities"] = list(room.capabilities)
        if room.segment_id is not None:
            entry["segment_id"] = room.segment_id
        rooms[room_id] = entry
    body = yaml.safe_dump(
        {"version": mapping.version, "rooms": rooms},
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=None,
        width=4096,
    )
    return _HEADER + "\n" + str(body)


def _room_id_for(area_id: str, taken: set[str], reserved: Collection[str]) -> str:
    """``area_id`` when it is a valid room id, else a slug of it that no other area claims."""
    if _ROOM_ID_RE.fullmatch(area_id) and area_id not in taken:
        taken.add(area_id)
        return area_id
    base = re.sub(r"[^a-z0-9_]+", "_", area_id.lower()).strip("_") or "room"
    candidate, n = base, 2
    while candidate in taken or candidate in reserved:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def generate_from_areas(
    areas: Iterable[tuple[str, str]],
    vacuum_area_mapping: Mapping[str, Sequence[str | int]] | None = None,
) -> AreaMapping:
    """A starter mapping with one room per HA area.

    ``areas`` are ``(area_id, name)`` pairs from the area registry; ``vacuum_area_mapping`` is a
    vacuum's registry ``area_mapping`` option (``{area_id: [segment ids]}``, merged by the caller
    when there are several vacuums). room_id is the area id; every room gets
    ``motion_lighting`` and ``activity``, and rooms whose area has a segment also get
    ``vacuum_control`` with the first segment (as a string) as ``segment_id``.
    """
    segments = vacuum_area_mapping or {}
    area_list = list(areas)
    reserved = {area_id for area_id, _name in area_list if _ROOM_ID_RE.fullmatch(area_id)}
    rooms: dict[str, Room] = {}
    taken: set[str] = set()
    for area_id, name in area_list:
        room_id = _room_id_for(area_id, taken, reserved)
        capabilities = list(DEFAULT_CAPABILITIES)
        segment_id: str | None = None
        area_segments = [str(s) for s in segments.get(area_id, ()) if str(s).strip()]
        if area_segments:
            segment_id = area_segments[0]
            capabilities.insert(1, VACUUM_DOMAIN)
        rooms[room_id] = Room(
            room_id=room_id,
            name=name.strip() or area_id,
            capabilities=tuple(capabilities),
            area_id=area_id,
            segment_id=segment_id,
        )
    return AreaMapping(version=MAPPING_VERSION, rooms=rooms)
