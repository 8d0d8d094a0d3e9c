"""Write a starter area mapping from Home Assistant's registries (the options flow's generator).

One room per area (room_id = area id, ``motion_lighting`` and ``activity``); where a vacuum's entity
registry options hold an ``area_mapping`` (``{area_id: [segment ids]}``, HA 2026.3+), the room also
gets ``vacuum_control`` and the area's first segment as ``segment_id``. An existing file is never
replaced unless the caller says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar, entity_registry as er

from .export_doc import write_bytes_atomic
from .mapping import AreaMapping
from .mapping_render import generate_from_areas, render_mapping

VACUUM = "vacuum"


class MappingExistsError(Exception):
    """The mapping file exists and overwriting was not asked for."""


@dataclass(frozen=True, slots=True)
class GeneratedMapping:
    """What was written."""

    path: Path
    mapping: AreaMapping

    @property
    def vacuum_rooms(self) -> int:
        """Rooms that got a segment_id."""
        return sum(1 for room in self.mapping.rooms.values() if room.segment_id)


def vacuum_area_mapping(hass: HomeAssistant) -> dict[str, list[str]]:
    """The merged ``area_mapping`` of every vacuum in the entity registry (first vacuum wins)."""
    merged: dict[str, list[str]] = {}
    for entry in er.async_get(hass).entities.values():
        if entry.domain != VACUUM:
            continue
        options: Mapping[str, Any] = entry.options.get(VACUUM) or {}
        area_mapping = options.get("area_mapping")
        if not isinstance(area_mapping, Mapping):
            continue
        for area_id, segments in area_mapping.items():
            if isinstance(segments, list | tuple) and segments:
                merged.setdefault(str(area_id), [str(s) for s in segments])
    return merged


def _write(path: Path, text: str, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise MappingExistsError(str(path))
    write_bytes_atomic(path, text.encode())


async def async_generate_mapping(
    hass: HomeAssistant, path: Path, *, overwrite: bool
) -> GeneratedMapping:
    """Generate the starter mapping and write it to ``path`` (atomically, in the executor)."""
    areas = [(area.id, area.name) for area in ar.async_get(hass).async_list_areas()]
    mapping = generate_from_areas(areas, vacuum_area_mapping(hass))
    await hass.async_add_executor_job(_write, path, render_mapping(mapping), overwrite)
    return GeneratedMapping(path, mapping)
