"""The entry's data and options that concern the room database, read once at setup."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError

from ..const import (
    CONF_ACTIVITY_ENABLED,
    CONF_EXPORT_PATH,
    CONF_MAPPING_PATH,
    CONF_VACUUM_DRY_RUN,
    CONF_VACUUM_ENABLED,
    CONF_VACUUM_OPTIMISTIC_WRITEBACK,
    CONF_WRITE_INTERVAL,
    CONF_WRITE_JITTER,
    DEFAULT_ACTIVITY_ENABLED,
    DEFAULT_EXPORT_PATH,
    DEFAULT_MAPPING_PATH,
    DEFAULT_VACUUM_DRY_RUN,
    DEFAULT_VACUUM_ENABLED,
    DEFAULT_VACUUM_OPTIMISTIC_WRITEBACK,
    DEFAULT_WRITE_INTERVAL,
    DEFAULT_WRITE_JITTER,
    DOMAIN,
)
from ..paths import PathPurpose, UnsafePathError, resolve_config_path

ROOM_OPTION_DEFAULTS: Final[Mapping[str, Any]] = MappingProxyType(
    {
        CONF_MAPPING_PATH: DEFAULT_MAPPING_PATH,
        CONF_EXPORT_PATH: DEFAULT_EXPORT_PATH,
        CONF_WRITE_INTERVAL: DEFAULT_WRITE_INTERVAL,
        CONF_WRITE_JITTER: DEFAULT_WRITE_JITTER,
        CONF_ACTIVITY_ENABLED: DEFAULT_ACTIVITY_ENABLED,
        CONF_VACUUM_ENABLED: DEFAULT_VACUUM_ENABLED,
        CONF_VACUUM_DRY_RUN: DEFAULT_VACUUM_DRY_RUN,
        CONF_VACUUM_OPTIMISTIC_WRITEBACK: DEFAULT_VACUUM_OPTIMISTIC_WRITEBACK,
    }
)


def room_option(values: Mapping[str, Any], key: str) -> Any:
    """The stored value of one of the room database's settings, or its default."""
    return values.get(key, ROOM_OPTION_DEFAULTS[key])


@dataclass(frozen=True, slots=True)
class RoomsSettings:
    """The entry's data and options that concern the room database (defaults: `room_option`)."""

    mapping_path: Path
    export_path: Path
    write_interval: float
    write_jitter: float
    activity_enabled: bool
    vacuum_enabled: bool
    vacuum_dry_run: bool
    vacuum_optimistic_writeback: bool


def _resolve_paths(config_dir: Path, data: dict[str, Any]) -> tuple[Path, Path]:
    """The entry's file paths under the path policy.

    The export file's content is checked before each write instead (see `write_document`): a
    file a user puts there later must stop the export, not RoomDB's setup.
    """
    return (
        resolve_config_path(config_dir, room_option(data, CONF_MAPPING_PATH), PathPurpose.MAPPING),
        resolve_config_path(config_dir, room_option(data, CONF_EXPORT_PATH), PathPurpose.EXPORT),
    )


async def async_settings(
    hass: HomeAssistant, config_dir: Path, data: dict[str, Any], options: dict[str, Any]
) -> RoomsSettings:
    """Resolve the entry's file paths (in the executor) and read the options."""
    try:
        mapping_path, export_path = await hass.async_add_executor_job(
            _resolve_paths, config_dir, data
        )
    except UnsafePathError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key=err.translation_key,
            translation_placeholders=err.placeholders,
        ) from err
    return RoomsSettings(
        mapping_path=mapping_path,
        export_path=export_path,
        write_interval=float(room_option(options, CONF_WRITE_INTERVAL)),
        write_jitter=float(room_option(options, CONF_WRITE_JITTER)),
        activity_enabled=bool(room_option(options, CONF_ACTIVITY_ENABLED)),
        vacuum_enabled=bool(room_option(options, CONF_VACUUM_ENABLED)),
        vacuum_dry_run=bool(room_option(options, CONF_VACUUM_DRY_RUN)),
        vacuum_optimistic_writeback=bool(room_option(options, CONF_VACUUM_OPTIMISTIC_WRITEBACK)),
    )
