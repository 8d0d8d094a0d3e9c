"""Read and parse a mapping file; check its rooms' areas against HA's (pure Python).

Parsing never raises for bad input: :func:`parse_mapping` returns a ``MappingResult`` whose
``errors`` and ``warnings`` name the room, the 1-based YAML line and the key each problem concerns.
A file over 1 MiB is refused from its ``fstat`` before a byte is read (``file_too_large``), and
YAML nesting deeper than 32 levels is refused while streaming the parser's events, before any
tree is built.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
import difflib
from pathlib import Path
import re

import yaml  # type: ignore[import-untyped]

from ..paths import MAPPING_MAX_BYTES, FileTooLargeError, UnsafePathError, read_regular_file
from .mapping import AREA_FEATURES, AreaMapping
from .mapping_errors import ErrorCode, MappingError, MappingResult, MappingWarning
from .mapping_nodes import LOADER, too_deep
from .mapping_validator import GaveUpError, Validator


def parse_mapping(text: str, known_area_ids: Collection[str] | None = None) -> MappingResult:
    """Parse and validate mapping YAML text; never raises for bad input.

    ``known_area_ids`` are HA's area registry ids (a mapping of id to name also lets warnings
    suggest an area by its name); pass ``None`` to skip that check (the mapping manager checks
    areas itself, live, with :func:`area_warnings`).
    """
    try:
        too_deep_error = too_deep(text)
        root = None if too_deep_error is not None else yaml.compose(text, Loader=LOADER)
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
    if too_deep_error is not None:
        return _failed(too_deep_error)
    validator = Validator()
    try:
        mapping = validator.document(root)
    except RecursionError:
        validator.errors.append(
            MappingError(
                None, None, "the document nests merges too deeply", "", ErrorCode.WRONG_TYPE
            )
        )
        mapping = None
    except GaveUpError as err:
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
        error = MappingError(
            None, None, f"cannot read mapping file {path}: {reason}", "", ErrorCode.FILE_UNREADABLE
        )
        # Held open, or a permission or I/O error, may end while the file stays as it is; a
        # folder, a FIFO or bytes that are not UTF-8 must change, and the poll sees that change.
        passing = isinstance(err, OSError) or (
            isinstance(err, UnsafePathError) and err.translation_key == "path_in_use"
        )
        return _failed(error, passing=passing)
    return parse_mapping(text, known_area_ids)


def _failed(error: MappingError, *, passing: bool = False) -> MappingResult:
    return MappingResult(None, (error,), passing=passing)


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
