"""Write a mapping as YAML, and a starter mapping from HA's areas (pure Python)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
import re
from typing import Any, Final

import yaml  # type: ignore[import-untyped]

from .mapping import (
    DEFAULT_CAPABILITIES,
    KNOWN_DOMAINS,
    MAPPING_VERSION,
    ROOM_ID_RE,
    VACUUM_DOMAIN,
    AreaMapping,
    Room,
)

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
    if ROOM_ID_RE.fullmatch(area_id) and area_id not in taken:
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
    reserved = {area_id for area_id, _name in area_list if ROOM_ID_RE.fullmatch(area_id)}
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
