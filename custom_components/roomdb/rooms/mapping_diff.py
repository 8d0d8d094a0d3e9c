"""How two mappings differ: rooms added, removed and changed (pure Python)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from .mapping import AreaMapping


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
