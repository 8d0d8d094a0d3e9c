"""Area mapping v3.1, the model: which rooms exist and which config domains each may hold.

The file looks like::

    version: "3.1"
    rooms:
      kitchen:
        name: Kitchen
        area_id: kitchen            # optional; an area in HA's registry (if missing: a warning)
        capabilities: [motion_lighting, vacuum_control, activity]
        segment_id: "16"            # a string; required for vacuum_control

Reading the file is ``mapping_parse`` (with ``mapping_nodes`` and ``mapping_validator``), its
problems are ``mapping_errors``, comparing two mappings is ``mapping_diff``, writing one is
``mapping_render``, and "may room R hold domain D?" is ``admission``. Nothing here imports Home
Assistant (pure Python).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import re
from types import MappingProxyType
from typing import Final

MAPPING_VERSION: Final = "3.1"

KNOWN_DOMAINS: Final = ("motion_lighting", "vacuum_control", "activity", "climate_schedule", "ml")
"""Config domains a room can be granted, in display order."""

VACUUM_DOMAIN: Final = "vacuum_control"
AREA_FEATURES: Final = ("activity_sensors", "vacuum_clean_area", "ml_room_events")
"""What a room without a usable area loses: the activity pipeline finds sensors by area,
``vacuum.clean_area`` names areas, and recorded ML events get their room from the area."""
DEFAULT_CAPABILITIES: Final = ("motion_lighting", "activity")
"""Capabilities a generated room gets (``mapping_render.generate_from_areas``)."""

TOP_LEVEL_KEYS: Final = ("version", "rooms")
ROOM_KEYS: Final = ("name", "area_id", "capabilities", "segment_id")

ROOM_ID_RE: Final = re.compile(r"[a-z0-9_]+")


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


def empty_mapping() -> AreaMapping:
    """The mapping in force before any file exists: no rooms, so every write is denied."""
    return AreaMapping(version=MAPPING_VERSION, rooms={})
