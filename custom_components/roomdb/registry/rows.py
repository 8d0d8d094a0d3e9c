"""Registry entries as rows of the mirror tables: columns, statements and the mapping (no I/O).

Each table's first column is its key. Sets (aliases, labels) become sorted JSON lists so a row does
not change when HA reorders a set; times are ISO 8601 UTC text like every other `*_at` column.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
import json
from typing import TYPE_CHECKING, Final

from homeassistant.helpers.device_registry import ChildDeviceEntry

from ..timestamps import utc_iso

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry
    from homeassistant.helpers.area_registry import AreaEntry
    from homeassistant.helpers.device_registry import AnyDeviceEntry
    from homeassistant.helpers.entity_registry import RegistryEntry
    from homeassistant.helpers.floor_registry import FloorEntry

type Row = tuple[str | int | None, ...]


@dataclass(frozen=True, slots=True)
class MirrorTable:
    """One mirror table and the three statements the mirror runs against it."""

    name: str
    columns: tuple[str, ...]
    upsert_sql: str
    delete_sql: str
    prune_sql: str
    """Delete every row whose key is not in a JSON array of keys (the rest of a full sync)."""


def _table(name: str, *columns: str) -> MirrorTable:
    key = columns[0]
    updates = ", ".join(f"{column} = excluded.{column}" for column in columns[1:])
    return MirrorTable(
        name=name,
        columns=columns,
        upsert_sql=(
            f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "  # noqa: S608
            f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
        ),
        delete_sql=f"DELETE FROM {name} WHERE {key} = ?",  # noqa: S608
        prune_sql=f"DELETE FROM {name} WHERE {key} NOT IN (SELECT value FROM json_each(?))",  # noqa: S608
    )


FLOORS: Final = _table(
    "floors", "floor_id", "name", "level", "icon", "aliases", "created_at", "modified_at"
)
AREAS: Final = _table(
    "areas",
    "area_id",
    "name",
    "floor_id",
    "icon",
    "aliases",
    "labels",
    "created_at",
    "modified_at",
)
DEVICES: Final = _table(
    "devices",
    "id",
    "name",
    "name_by_user",
    "manufacturer",
    "model",
    "area_id",
    "via_device_id",
    "disabled_by",
    "config_entries",
    "created_at",
    "modified_at",
    "config_entry_id",
    "parent_device_id",
)
ENTITIES: Final = _table(
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
    "disabled_by",
    "hidden_by",
    "created_at",
    "modified_at",
)
CONFIG_ENTRIES: Final = _table(
    "config_entries", "entry_id", "domain", "title", "source", "state", "disabled_by"
)

TABLES: Final = (FLOORS, AREAS, DEVICES, ENTITIES, CONFIG_ENTRIES)

ENTITY_STALE_SQL: Final = "DELETE FROM entities WHERE entity_id IN (?, ?) AND id IS NOT ?"
"""Drop rows holding an entity_id (or a rename's old one) under another registry id, or any id."""


def _json_list(values: set[str]) -> str:
    return json.dumps(sorted(values))


def _text(value: StrEnum | None) -> str | None:
    return None if value is None else str(value)


def floor_row(floor: FloorEntry) -> Row:
    """Return the `floors` row of a floor."""
    return (
        floor.floor_id,
        floor.name,
        floor.level,
        floor.icon,
        _json_list(floor.aliases),
        utc_iso(floor.created_at),
        utc_iso(floor.modified_at),
    )


def area_row(area: AreaEntry) -> Row:
    """Return the `areas` row of an area."""
    return (
        area.id,
        area.name,
        area.floor_id,
        area.icon,
        _json_list(area.aliases),
        _json_list(area.labels),
        utc_iso(area.created_at),
        utc_iso(area.modified_at),
    )


def device_row(device: AnyDeviceEntry) -> Row:
    """Return the `devices` row of a device; a child device has no maker, model or via device."""
    if isinstance(device, ChildDeviceEntry):
        manufacturer = model = via_device_id = None
        parent_device_id: str | None = device.parent_device_id
    else:
        manufacturer, model = device.manufacturer, device.model
        via_device_id, parent_device_id = device.via_device_id, None
    return (
        device.id,
        device.name,
        device.name_by_user,
        manufacturer,
        model,
        device.area_id,
        via_device_id,
        _text(device.disabled_by),
        json.dumps([device.config_entry_id]),
        utc_iso(device.created_at),
        utc_iso(device.modified_at),
        device.config_entry_id,
        parent_device_id,
    )


def entity_row(entity: RegistryEntry) -> Row:
    """Return the `entities` row of an entity registry entry (keyed on its registry id)."""
    return (
        entity.id,
        entity.entity_id,
        entity.unique_id,
        entity.platform,
        entity.device_id,
        entity.area_id,
        entity.config_entry_id,
        entity.name,
        entity.original_name,
        entity.device_class,
        entity.original_device_class,
        _text(entity.disabled_by),
        _text(entity.hidden_by),
        utc_iso(entity.created_at),
        utc_iso(entity.modified_at),
    )


def config_entry_row(entry: ConfigEntry) -> Row:
    """Return the `config_entries` row of a config entry."""
    return (
        entry.entry_id,
        entry.domain,
        entry.title,
        entry.source,
        entry.state.value,
        _text(entry.disabled_by),
    )
