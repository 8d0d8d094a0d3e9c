"""Registry entries as rows of the mirror tables: columns, statements and the mapping (no I/O).

Each table names its columns once, with how each is read from a registry entry; its first column
is its key. Sets (aliases, labels) become sorted JSON lists so a row does not change when HA
reorders a set; times are ISO 8601 UTC text like every other `*_at` column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
import json
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Final

from homeassistant.helpers.device_registry import ChildDeviceEntry

from ..timestamps import utc_iso

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry
    from homeassistant.helpers.area_registry import AreaEntry
    from homeassistant.helpers.device_registry import AnyDeviceEntry
    from homeassistant.helpers.entity_registry import RegistryEntry
    from homeassistant.helpers.floor_registry import FloorEntry

type Value = str | int | None
type Row = tuple[Value, ...]
type Column = str | tuple[str, Callable[[Any], Value]]
"""A column read from the entry's attribute of the same name, or a name and how to read it."""


@dataclass(frozen=True, slots=True)
class MirrorTable[T]:
    """One mirror table, how its rows are read from entries ``T``, and the mirror's statements."""

    name: str
    columns: tuple[str, ...]
    readers: tuple[Callable[[T], Value], ...]
    upsert_sql: str
    delete_sql: str
    prune_sql: str
    """Delete every row whose key is not in a JSON array of keys (the rest of a full sync)."""

    def row(self, entry: T) -> Row:
        """Return the table's row of ``entry``."""
        return tuple(read(entry) for read in self.readers)


def _table[T](name: str, *spec: Column) -> MirrorTable[T]:
    pairs = [(column, attrgetter(column)) if isinstance(column, str) else column for column in spec]
    columns = tuple(column for column, _read in pairs)
    key = columns[0]
    updates = ", ".join(f"{column} = excluded.{column}" for column in columns[1:])
    return MirrorTable(
        name=name,
        columns=columns,
        readers=tuple(read for _column, read in pairs),
        upsert_sql=(
            f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "  # noqa: S608
            f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
        ),
        delete_sql=f"DELETE FROM {name} WHERE {key} = ?",  # noqa: S608
        prune_sql=f"DELETE FROM {name} WHERE {key} NOT IN (SELECT value FROM json_each(?))",  # noqa: S608
    )


def _listed(name: str) -> Column:
    return name, lambda entry: json.dumps(sorted(getattr(entry, name)))


def _text(name: str) -> Column:
    def read(entry: Any) -> str | None:
        value: StrEnum | None = getattr(entry, name)
        return None if value is None else str(value)

    return name, read


def _stamp(name: str) -> Column:
    return name, lambda entry: utc_iso(getattr(entry, name))


def _unless_child(name: str) -> Column:
    """A child device has no maker, model or via device of its own."""

    def read(device: Any) -> Value:
        return None if isinstance(device, ChildDeviceEntry) else getattr(device, name)

    return name, read


_STAMPS: Final = (_stamp("created_at"), _stamp("modified_at"))

FLOORS: Final[MirrorTable[FloorEntry]] = _table(
    "floors", "floor_id", "name", "level", "icon", _listed("aliases"), *_STAMPS
)
AREAS: Final[MirrorTable[AreaEntry]] = _table(
    "areas",
    ("area_id", attrgetter("id")),
    "name",
    "floor_id",
    "icon",
    _listed("aliases"),
    _listed("labels"),
    *_STAMPS,
)
DEVICES: Final[MirrorTable[AnyDeviceEntry]] = _table(
    "devices",
    "id",
    "name",
    "name_by_user",
    _unless_child("manufacturer"),
    _unless_child("model"),
    "area_id",
    _unless_child("via_device_id"),
    _text("disabled_by"),
    ("config_entries", lambda device: json.dumps([device.config_entry_id])),
    *_STAMPS,
    "config_entry_id",
    (
        "parent_device_id",
        lambda device: device.parent_device_id if isinstance(device, ChildDeviceEntry) else None,
    ),
)
ENTITIES: Final[MirrorTable[RegistryEntry]] = _table(
    "entities",
    "id",
    "entity_id",
    "unique_id",
    "platform",
    "device_id",
    "area_id",
    "config_entry_id",
    "name",
    "original_name",
    "device_class",
    "original_device_class",
    _text("disabled_by"),
    _text("hidden_by"),
    *_STAMPS,
)
CONFIG_ENTRIES: Final[MirrorTable[ConfigEntry]] = _table(
    "config_entries",
    "entry_id",
    "domain",
    "title",
    "source",
    ("state", lambda entry: entry.state.value),
    _text("disabled_by"),
)

TABLES: Final[tuple[MirrorTable[Any], ...]] = (FLOORS, AREAS, DEVICES, ENTITIES, CONFIG_ENTRIES)

ENTITY_STALE_SQL: Final = "DELETE FROM entities WHERE entity_id IN (?, ?) AND id IS NOT ?"
"""Drop rows holding an entity_id (or a rename's old one) under another registry id, or any id."""
