"""Room-database services: schemas and thin handlers over :class:`RoomsRuntime`.

All are admin services: they change rows or files (``export`` rewrites the export file) or read
files in the config folder (``validate_mapping``). Reading the export over HTTP needs no admin
(``GET /api/roomdb/export``). Errors follow
the taxonomy: ``admission_denied`` / ``invalid_input`` are ``ServiceValidationError``;
``write_rate_limit``, ``mapping_reload_failed``, ``export_failed`` and ``database_unavailable`` are
``HomeAssistantError``. ``bulk_update`` never raises for an item: each item gets its own status.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, cast

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import area_registry as ar, config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
import probatio as vol

from ..const import DEFAULT_MAPPING_PATH, DOMAIN
from ..paths import PathPurpose
from ..service_support import async_get_loaded_entry, async_resolve_user_path, loaded_entry
from .admission import ADMISSION_DENIED, allowed_matrix
from .export import ExportError
from .mapping_manager import MappingStatus
from .mapping_parse import read_mapping_file
from .runtime import RoomsRuntime
from .store import INVALID_INPUT, WRITE_RATE_LIMIT, WriteRequest, WriteResult, WriteStatus

SERVICE_UPDATE_CONFIG: Final = "update_config"
SERVICE_DELETE_CONFIG: Final = "delete_config"
SERVICE_BULK_UPDATE: Final = "bulk_update"
SERVICE_RELOAD_MAPPING: Final = "reload_mapping"
SERVICE_VALIDATE_MAPPING: Final = "validate_mapping"
SERVICE_SEED_FROM_MAPPING: Final = "seed_from_mapping"
SERVICE_EXPORT: Final = "export"

ATTR_DOMAIN: Final = "domain"
ATTR_ROOM_ID: Final = "room_id"
ATTR_CONFIG_DATA: Final = "config_data"
ATTR_ITEMS: Final = "items"
ATTR_PATH: Final = "path"
ATTR_ROOMS: Final = "rooms"
ATTR_DRY_RUN: Final = "dry_run"

MAX_BULK_ITEMS: Final = 10_000
MAX_ERRORS_IN_MESSAGE: Final = 3

_KEY = vol.All(cv.string, vol.Length(min=1, max=128))

UPDATE_CONFIG_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_DOMAIN): _KEY,
        vol.Required(ATTR_ROOM_ID): _KEY,
        vol.Required(ATTR_CONFIG_DATA): dict,
    }
)
DELETE_CONFIG_SCHEMA: Final = vol.Schema(
    {vol.Required(ATTR_DOMAIN): _KEY, vol.Required(ATTR_ROOM_ID): _KEY}
)
# Items are checked one by one in the handler, so one malformed item cannot fail the call.
BULK_UPDATE_SCHEMA: Final = vol.Schema(
    {vol.Required(ATTR_ITEMS): vol.All(list, vol.Length(max=MAX_BULK_ITEMS))}
)
RELOAD_MAPPING_SCHEMA: Final = vol.Schema({})
VALIDATE_MAPPING_SCHEMA: Final = vol.Schema(
    {vol.Optional(ATTR_PATH): vol.All(cv.string, vol.Length(min=1, max=255))}
)
SEED_SCHEMA: Final = vol.Schema(
    {
        vol.Optional(ATTR_DOMAIN): vol.All(cv.ensure_list, [_KEY]),
        vol.Optional(ATTR_ROOMS): vol.All(cv.ensure_list, [_KEY]),
        vol.Optional(ATTR_DRY_RUN, default=False): cv.boolean,
    }
)
EXPORT_SCHEMA: Final = vol.Schema({})


@callback
def async_setup_room_services(hass: HomeAssistant) -> None:
    """Register the room-database services (once, from ``async_setup``)."""
    admin = (
        (SERVICE_UPDATE_CONFIG, _async_update_config, UPDATE_CONFIG_SCHEMA),
        (SERVICE_DELETE_CONFIG, _async_delete_config, DELETE_CONFIG_SCHEMA),
        (SERVICE_BULK_UPDATE, _async_bulk_update, BULK_UPDATE_SCHEMA),
        (SERVICE_RELOAD_MAPPING, _async_reload_mapping, RELOAD_MAPPING_SCHEMA),
        (SERVICE_VALIDATE_MAPPING, _async_validate_mapping, VALIDATE_MAPPING_SCHEMA),
        (SERVICE_SEED_FROM_MAPPING, _async_seed_from_mapping, SEED_SCHEMA),
        (SERVICE_EXPORT, _async_export, EXPORT_SCHEMA),
    )
    for name, handler, schema in admin:
        async_register_admin_service(
            hass,
            DOMAIN,
            name,
            handler,
            schema=schema,
            supports_response=SupportsResponse.OPTIONAL,
        )


def _rooms(hass: HomeAssistant) -> RoomsRuntime:
    return async_get_loaded_entry(hass).runtime_data.rooms


def raise_for_result(result: WriteResult) -> None:
    """Turn a refused single write into the service error users can act on."""
    if result.status is WriteStatus.OK:
        return
    if result.status is WriteStatus.DENIED and result.denial is not None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=ADMISSION_DENIED,
            translation_placeholders=result.denial.placeholders,
        )
    if result.error == WRITE_RATE_LIMIT:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key=WRITE_RATE_LIMIT,
            translation_placeholders={
                "domain": result.domain,
                "room_id": result.room_id,
                "retry_after": f"{result.retry_after or 0:.1f}",
            },
        )
    if result.error == INVALID_INPUT:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=INVALID_INPUT,
            translation_placeholders={"error": result.message or ""},
        )
    raise HomeAssistantError(translation_domain=DOMAIN, translation_key="database_unavailable")


def update_response(result: WriteResult) -> dict[str, Any]:
    """The answer to one accepted write (`update_config`, the panel's `roomdb/config/update`)."""
    raise_for_result(result)
    return {
        "status": "ok",
        "domain": result.domain,
        "room_id": result.room_id,
        "version": result.version,
        "action": result.action.value if result.action else None,
    }


def delete_response(result: WriteResult) -> dict[str, Any]:
    """The answer to one accepted delete (`delete_config`, the panel's `roomdb/config/delete`)."""
    raise_for_result(result)
    return {
        "status": "ok",
        "domain": result.domain,
        "room_id": result.room_id,
        "deleted": result.action is not None and result.action.value == "deleted",
        "version": result.version,
    }


async def _async_update_config(call: ServiceCall) -> ServiceResponse:
    rooms = _rooms(call.hass)
    result = await rooms.store.upsert(
        call.data[ATTR_DOMAIN],
        call.data[ATTR_ROOM_ID],
        call.data[ATTR_CONFIG_DATA],
        source="service",
        context=call.context,
    )
    return update_response(result)


async def _async_delete_config(call: ServiceCall) -> ServiceResponse:
    rooms = _rooms(call.hass)
    result = await rooms.store.delete(
        call.data[ATTR_DOMAIN], call.data[ATTR_ROOM_ID], context=call.context
    )
    return delete_response(result)


async def _async_bulk_update(call: ServiceCall) -> ServiceResponse:
    rooms = _rooms(call.hass)
    raw_items: list[Any] = call.data[ATTR_ITEMS]
    results: list[WriteResult | None] = [None] * len(raw_items)
    requests: list[WriteRequest] = []
    positions: list[int] = []
    for position, item in enumerate(raw_items):
        if isinstance(item, dict):
            positions.append(position)
            requests.append(
                # Unchecked on purpose: the store validates each item and reports it.
                WriteRequest(
                    cast("str", item.get(ATTR_DOMAIN)),
                    cast("str", item.get(ATTR_ROOM_ID)),
                    cast("dict[str, Any]", item.get(ATTR_CONFIG_DATA)),
                )
            )
        else:
            results[position] = rooms.store.reject(
                WriteResult(
                    "",
                    "",
                    WriteStatus.ERROR,
                    error=INVALID_INPUT,
                    message=f"item {position} is not an object with domain, room_id, config_data",
                ),
                source="bulk",
            )
    written = await rooms.store.bulk_upsert(requests, source="bulk", context=call.context)
    for position, result in zip(positions, written, strict=True):
        results[position] = result
    final = [result for result in results if result is not None]
    counts = {status.value: 0 for status in WriteStatus}
    for result in final:
        counts[result.status.value] += 1
    return {
        "status": "ok" if counts["ok"] == len(final) else "partial",
        "counts": dict(counts),
        "results": [result.as_item() for result in final],
    }


async def _async_reload_mapping(call: ServiceCall) -> ServiceResponse:
    rooms = _rooms(call.hass)
    result = await rooms.mapping.async_reload()
    if result.status is MappingStatus.INVALID:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="mapping_reload_failed",
            translation_placeholders={
                "path": str(rooms.mapping.path),
                "count": str(len(result.errors)),
                "errors": "; ".join(str(e) for e in result.errors[:MAX_ERRORS_IN_MESSAGE]),
            },
        )
    return result.as_response()


async def _async_validate_mapping(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    entry = loaded_entry(hass)
    user_path: str | None = call.data.get(ATTR_PATH)
    path: Path
    if user_path is None and entry is not None:
        path = entry.runtime_data.rooms.mapping.path
    else:
        path = await async_resolve_user_path(
            hass,
            Path(hass.config.config_dir),
            user_path or DEFAULT_MAPPING_PATH,
            PathPurpose.MAPPING,
        )
    areas = {area.id: area.name for area in ar.async_get(hass).async_list_areas()}
    result = await hass.async_add_executor_job(read_mapping_file, path, areas)
    matrix: dict[str, Any] = allowed_matrix(result.mapping) if result.mapping is not None else {}
    return {
        "valid": result.ok,
        "path": str(path),
        "rooms": len(result.mapping.rooms) if result.mapping is not None else 0,
        "errors": [error.as_dict() for error in result.errors],
        "warnings": [warning.as_dict() for warning in result.warnings],
        "matrix": matrix,
    }


async def _async_seed_from_mapping(call: ServiceCall) -> ServiceResponse:
    rooms = _rooms(call.hass)
    return await rooms.async_seed(
        call.data.get(ATTR_DOMAIN),
        call.data.get(ATTR_ROOMS),
        dry_run=call.data[ATTR_DRY_RUN],
        context=call.context,
    )


async def _async_export(call: ServiceCall) -> ServiceResponse:
    rooms = _rooms(call.hass)
    try:
        return await rooms.exporter.async_export()
    except ExportError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="export_failed",
            translation_placeholders={"path": str(rooms.exporter.path), "error": str(err)},
        ) from err
