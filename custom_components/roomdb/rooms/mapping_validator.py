"""The walk over a mapping document's nodes that collects its errors and warnings (pure Python).

A room's problems are warnings (the room is kept and loses that part); only what makes the whole
file unreadable is an error. Limits keep a hostile or mistaken file from stalling Home Assistant:
more than 500 rooms are ``too_many_rooms``, and the walk stops after 100 errors or when anchors and
merges make it visit more than 100,000 nodes (``too_complex``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

import yaml  # type: ignore[import-untyped]

from .mapping import (
    AREA_FEATURES,
    KNOWN_DOMAINS,
    MAPPING_VERSION,
    ROOM_ID_RE,
    ROOM_KEYS,
    TOP_LEVEL_KEYS,
    VACUUM_DOMAIN,
    AreaMapping,
    Room,
)
from .mapping_errors import ErrorCode, MappingError, MappingWarning
from .mapping_nodes import (
    MERGE_TAG,
    Node,
    describe,
    is_mapping,
    is_null,
    line_of,
    string_value,
    suggest,
)

MAX_ROOMS: Final = 500
MAX_ERRORS: Final = 100
MAX_WARNINGS: Final = 2 * MAX_ROOMS
"""Every room may lose its segment and its area; more warnings than that is not a mapping."""
MAX_VISITS: Final = 100_000


class GaveUpError(Exception):
    """The validator stops: too many errors, or too much work for one file."""

    def __init__(self, error: MappingError) -> None:
        """Stop with ``error`` as the last one reported."""
        super().__init__(error.message)
        self.error = error


class Validator:
    """Walks the composed node tree, collecting errors and building the mapping."""

    def __init__(self) -> None:
        """Start with no problems and the whole visit budget."""
        self.errors: list[MappingError] = []
        self.warnings: list[MappingWarning] = []
        self.visits_left = MAX_VISITS

    def add(
        self, room_id: str | None, line: int | None, message: str, key: str, code: ErrorCode
    ) -> None:
        """Record an error; give up once there are too many."""
        self.errors.append(MappingError(room_id, line, message, key, code.value))
        if len(self.errors) >= MAX_ERRORS:
            raise GaveUpError(
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
        """Record a warning for a room that is kept; give up once there are too many."""
        self.warnings.append(MappingWarning(room_id, line, message, key, code.value, loses))
        if len(self.warnings) > MAX_WARNINGS:
            raise GaveUpError(
                MappingError(
                    None,
                    line,
                    f"more than {MAX_WARNINGS} room problems; this is not a usable mapping",
                    "",
                    ErrorCode.TOO_COMPLEX,
                )
            )

    def visit(self, node: Node) -> None:
        """Count the children of ``node`` against the work one file may cause."""
        self.visits_left -= len(node.value)
        if self.visits_left < 0:
            raise GaveUpError(
                MappingError(
                    None,
                    line_of(node),
                    f"anchors and merges make this file expand to more than {MAX_VISITS} "
                    "values; write the rooms out",
                    "",
                    ErrorCode.TOO_COMPLEX,
                )
            )

    # -- generic mapping walk ---------------------------------------------------------------

    def items(
        self,
        node: Node,
        room_id: str | None,
        where: str,
        *,
        rooms: bool = False,
        duplicates: list[tuple[str, Node, Node]] | None = None,
    ) -> dict[str, tuple[Node, Node]]:
        """String-keyed entries of a mapping node in document order, reporting duplicates.

        Merge keys (``<<: *anchor``) are honoured with YAML semantics: explicit keys win over merged
        ones, earlier merge sources over later ones.
        """
        self.visit(node)
        explicit: dict[str, tuple[Node, Node]] = {}
        merged: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == MERGE_TAG:
                self.merge(value_node, merged, room_id, where, {id(node)})
                continue
            key = string_value(key_node)
            if key is None:
                self.bad_key(key_node, room_id, where, rooms=rooms)
                continue
            if key in explicit:
                first = line_of(explicit[key][0])
                if rooms:
                    self.add(
                        key,
                        line_of(key_node),
                        f"room '{key}' is defined more than once (first on line {first})",
                        key,
                        ErrorCode.DUPLICATE_ROOM,
                    )
                else:
                    self.add(
                        room_id,
                        line_of(key_node),
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
        source: Node,
        into: dict[str, tuple[Node, Node]],
        room_id: str | None,
        where: str,
        seen: set[int],
    ) -> None:
        """Add the entries of a merge source (a mapping or a list of mappings) to ``into``."""
        sources = source.value if isinstance(source, yaml.SequenceNode) else [source]
        for item in sources:
            if not is_mapping(item):
                self.add(
                    room_id,
                    line_of(item),
                    f"a merge key ('<<') in {where} must refer to a mapping, not {describe(item)}",
                    "<<",
                    ErrorCode.WRONG_TYPE,
                )
                continue
            if id(item) in seen:
                continue
            seen.add(id(item))
            self.visit(item)
            own: dict[str, tuple[Node, Node]] = {}
            nested: dict[str, tuple[Node, Node]] = {}
            for key_node, value_node in item.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag == MERGE_TAG:
                    self.merge(value_node, nested, room_id, where, seen)
                    continue
                key = string_value(key_node)
                if key is not None:
                    own.setdefault(key, (key_node, value_node))
            for key, pair in (own | {k: v for k, v in nested.items() if k not in own}).items():
                into.setdefault(key, pair)

    def bad_key(self, key_node: Node, room_id: str | None, where: str, *, rooms: bool) -> None:
        """Report a key that is not a string (a room id, or a key inside ``where``)."""
        if rooms and isinstance(key_node, yaml.ScalarNode):
            self.add(
                None,
                line_of(key_node),
                f"room id {key_node.value!r} is {describe(key_node)}; room ids are strings "
                f"matching ^[a-z0-9_]+$ (quote it)",
                str(key_node.value),
                ErrorCode.INVALID_ROOM_ID,
            )
            return
        text = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else ""
        self.add(
            room_id,
            line_of(key_node),
            f"keys in {where} must be strings, not {describe(key_node)}",
            text,
            ErrorCode.WRONG_TYPE,
        )

    @staticmethod
    def unknown_keys(
        entries: dict[str, tuple[Node, Node]], allowed: Sequence[str], where: str
    ) -> Iterator[tuple[str, int | None, str]]:
        """``(key, line, message)`` for each key not in ``allowed``."""
        for key, (key_node, _value) in entries.items():
            if key not in allowed:
                message = (
                    f"unknown key '{key}' in {where}{suggest(key, allowed)}; "
                    f"allowed keys: {', '.join(allowed)}"
                )
                yield key, line_of(key_node), message

    # -- document ---------------------------------------------------------------------------

    def document(self, root: Node) -> AreaMapping | None:
        """The whole file: a mapping with version and rooms, or ``None`` on errors."""
        if root is None or is_null(root):
            self.add(
                None,
                line_of(root),
                'the mapping file is empty; expected version: "3.1" and rooms',
                "",
                ErrorCode.EMPTY_DOCUMENT,
            )
            return None
        if not is_mapping(root):
            self.add(
                None,
                line_of(root),
                f"the mapping file must be a mapping with version and rooms, not {describe(root)}",
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

    def version(self, entries: dict[str, tuple[Node, Node]], root: Node) -> str | None:
        """The ``version`` value, when it is the one this RoomDB reads."""
        if "version" not in entries:
            self.add(
                None,
                line_of(root),
                f'missing version (expected version: "{MAPPING_VERSION}")',
                "version",
                ErrorCode.MISSING_FIELD,
            )
            return None
        _key_node, node = entries["version"]
        value = string_value(node)
        if value == MAPPING_VERSION:
            return value
        if value is None and isinstance(node, yaml.ScalarNode) and node.value == MAPPING_VERSION:
            message = (
                f'version must be the string "{MAPPING_VERSION}", not {describe(node)}; '
                f'quote it: version: "{MAPPING_VERSION}"'
            )
        else:
            shown = value if value is not None else describe(node)
            message = (
                f'unsupported version {shown!r}; this RoomDB reads version "{MAPPING_VERSION}"'
            )
        self.add(None, line_of(node), message, "version", ErrorCode.WRONG_VERSION)
        return None

    def rooms(self, entries: dict[str, tuple[Node, Node]], root: Node) -> dict[str, Room] | None:
        """The rooms that can be kept, or ``None`` when ``rooms`` itself is unusable."""
        if "rooms" not in entries:
            self.add(
                None,
                line_of(root),
                "missing rooms (use rooms: {} for none)",
                "rooms",
                ErrorCode.MISSING_FIELD,
            )
            return None
        _key_node, node = entries["rooms"]
        if not is_mapping(node):
            self.add(
                None,
                line_of(node),
                f"rooms must be a mapping of room id to room, not {describe(node)}",
                "rooms",
                ErrorCode.WRONG_TYPE,
            )
            return None
        rooms: dict[str, Room] = {}
        duplicates: list[tuple[str, Node, Node]] = []
        entries = self.items(node, None, "rooms", rooms=True, duplicates=duplicates)
        if len(entries) > MAX_ROOMS:
            self.add(
                None,
                line_of(node),
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

    def room(self, room_id: str, key_node: Node, node: Node) -> Room | None:
        """One room, or ``None`` when it cannot be kept.

        Its problems are warnings, never errors: one unreadable room must not take every other
        room's admission with it.
        """
        if not ROOM_ID_RE.fullmatch(room_id):
            self.warn(
                room_id,
                line_of(key_node),
                f"room id '{room_id}' must match ^[a-z0-9_]+$ (lower-case letters, digits, _); "
                "the room is skipped",
                room_id,
                ErrorCode.INVALID_ROOM_ID,
                loses=KNOWN_DOMAINS,
            )
            return None
        if not is_mapping(node):
            self.warn(
                room_id,
                line_of(node) if not is_null(node) else line_of(key_node),
                f"a room must be a mapping with name and capabilities, not {describe(node)}; "
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
        if needs_segment and ("segment_id" not in entries or is_null(entries["segment_id"][1])):
            self.warn(
                room_id,
                line_of(entries["capabilities"][1]),
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
            area_line=line_of(entries["area_id"][1]) if area_id is not None else None,
        )

    def name(self, room_id: str, entries: dict[str, tuple[Node, Node]], key_node: Node) -> str:
        """The room's name; without a usable one the room is named after its id."""
        if "name" not in entries:
            self.warn(
                room_id,
                line_of(key_node),
                f"missing name; the room is named '{room_id}'",
                "name",
                ErrorCode.MISSING_FIELD,
                loses=(),
            )
            return room_id
        node = entries["name"][1]
        value = string_value(node)
        if value is None or not value.strip():
            self.warn(
                room_id,
                line_of(node),
                "name must be a non-empty string, not "
                + (describe(node) if value is None else "blank")
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
        entries: dict[str, tuple[Node, Node]],
        key: str,
        loses: tuple[str, ...],
    ) -> str | None:
        """area_id / segment_id: a non-empty string; absent or empty (null) means not set.

        Any other value is a warning: the room is kept as if the key were not set.
        """
        if key not in entries:
            return None
        node = entries[key][1]
        if is_null(node):
            return None
        value = string_value(node)
        if value is not None and value.strip():
            return value
        if value is not None:
            message = f"{key} must not be blank"
        elif isinstance(node, yaml.ScalarNode) and key == "segment_id":
            message = (
                f"segment_id must be a string, not {describe(node)}; "
                f'quote it: segment_id: "{node.value}"'
            )
        else:
            message = f"{key} must be a string, not {describe(node)}"
        self.warn(room_id, line_of(node), message, key, ErrorCode.WRONG_TYPE, loses=loses)
        return None

    def capabilities(
        self, room_id: str, entries: dict[str, tuple[Node, Node]], key_node: Node
    ) -> tuple[str, ...]:
        """The room's capabilities; an unreadable list keeps the room with none."""
        if "capabilities" not in entries:
            self.warn(
                room_id,
                line_of(key_node),
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
                line_of(node),
                f"capabilities must be a list of strings, not {describe(node)}; "
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
            value = string_value(item)
            if value is None:
                self.warn(
                    room_id,
                    line_of(item),
                    f"capabilities must be a list of strings; found {describe(item)}; ignored",
                    "capabilities",
                    ErrorCode.WRONG_TYPE,
                    loses=(),
                )
            elif value not in KNOWN_DOMAINS:
                self.warn(
                    room_id,
                    line_of(item),
                    f"unknown capability '{value}'{suggest(value, KNOWN_DOMAINS)}; "
                    f"known: {', '.join(KNOWN_DOMAINS)}; ignored",
                    "capabilities",
                    ErrorCode.UNKNOWN_CAPABILITY,
                    loses=(value,),
                )
            elif value in result:
                self.warn(
                    room_id,
                    line_of(item),
                    f"capability '{value}' is listed more than once",
                    "capabilities",
                    ErrorCode.DUPLICATE_CAPABILITY,
                    loses=(),
                )
            else:
                result.append(value)
        return tuple(result)
