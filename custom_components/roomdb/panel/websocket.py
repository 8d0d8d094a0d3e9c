"""RoomDB's WebSocket API: everything the panel does, as `roomdb/<noun>/<verb>` commands.

Every command is admin only (`require_admin`) and schema-validated; refusals are Home Assistant
errors with RoomDB's translation keys, which the WebSocket layer sends with the translated message
(the panel shows that message). Writes take the services' own path: `RoomConfigStore.upsert` and
`delete` (validation, admission, write limiter, events, export) and the same error mapping
(`raise_for_result`), so the panel can do nothing a service could not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from functools import wraps
from typing import Any, Final

from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import (
    ERR_HOME_ASSISTANT_ERROR,
    ERR_SERVICE_VALIDATION_ERROR,
    WebSocketCommandHandler,
)
from homeassistant.components.websocket_api.decorators import (
    async_response,
    require_admin,
    websocket_command,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import area_registry as ar, config_validation as cv
import probatio as vol

from ..const import CONF_MAPPING_PATH, DEFAULT_MAPPING_PATH, DOMAIN
from ..data import RoomDbData
from ..log import get_logger
from ..ml.suggestions import async_confirm_night
from ..paths import PathPurpose
from ..rooms.admission import is_allowed
from ..rooms.generate import MappingExistsError, async_generate_mapping
from ..rooms.mapping import KNOWN_DOMAINS
from ..rooms.services import (
    DELETE_CONFIG_SCHEMA,
    UPDATE_CONFIG_SCHEMA,
    delete_response,
    update_response,
)
from ..service_support import async_get_loaded_entry, async_resolve_user_path
from .sleep import async_set_label, async_sleep_nights

_LOGGER = get_logger(__name__)

MAX_NIGHTS: Final = 62
DEFAULT_NIGHTS: Final = 14
MAPPING_EXISTS: Final = "mapping_exists"
MAPPING_WRITE_FAILED: Final = "mapping_write_failed"

type Handler = Callable[[HomeAssistant, RoomDbData, dict[str, Any]], Awaitable[Any]]


def _command(schema: dict[Any, Any]) -> Callable[[Handler], WebSocketCommandHandler]:
    """Make `handler(hass, runtime, msg) -> result` an admin-only, validated async command.

    One place for what every command needs: the loaded entry (else the translated `not_loaded`),
    the result message, and refusals sent with their translated message and translation key
    (`service_validation_error` for what the user can correct, `home_assistant_error` for the
    rest, such as a write that came too soon).
    """

    def decorate(handler: Handler) -> WebSocketCommandHandler:
        @require_admin
        @websocket_command(schema)
        @async_response
        @wraps(handler)
        async def command(
            hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
        ) -> None:
            try:
                runtime = async_get_loaded_entry(hass).runtime_data
                result = await handler(hass, runtime, msg)
            except HomeAssistantError as err:
                # A refusal is an answer for the panel to show, not a fault of Home Assistant:
                # HA's generic handling would log every refused write as an error.
                _LOGGER.debug("%s refused: %s", msg["type"], err)
                connection.send_error(
                    msg["id"],
                    ERR_SERVICE_VALIDATION_ERROR
                    if isinstance(err, ServiceValidationError)
                    else ERR_HOME_ASSISTANT_ERROR,
                    str(err),
                    translation_key=err.translation_key,
                    translation_domain=err.translation_domain,
                    translation_placeholders=err.translation_placeholders,
                )
                return
            connection.send_result(msg["id"], result)

        return command

    return decorate


def _reason(runtime: RoomDbData, domain: str, room_id: str) -> str | None:
    denial = is_allowed(runtime.rooms.mapping.mapping, domain, room_id)
    return None if denial is None else denial.reason.value


@_command({vol.Required("type"): "roomdb/rooms/list"})
async def ws_rooms_list(hass: HomeAssistant, runtime: RoomDbData, _msg: dict[str, Any]) -> Any:
    """Rooms by config domains: what the mapping allows (or why not) and the stored configs."""
    mapping = runtime.rooms.mapping.mapping
    areas = ar.async_get(hass)
    stored: dict[str, dict[str, Any]] = {}
    for domain in KNOWN_DOMAINS:
        for room_id, row in (await runtime.rooms.store.get_domain(domain)).items():
            stored.setdefault(room_id, {})[domain] = {
                "config_data": row.config_data,
                "version": row.version,
                "created_at": row.created_at,
                "updated_at": row.updated_at,
            }
    rooms = []
    for room in mapping.rooms.values():
        area = areas.async_get_area(room.area_id) if room.area_id else None
        rooms.append(
            {
                "room_id": room.room_id,
                "name": room.name,
                "area_id": room.area_id,
                "area_name": area.name if area else None,
                "capabilities": list(room.capabilities),
                "segment_id": room.segment_id,
                "domains": {
                    domain: {"reason": _reason(runtime, domain, room.room_id)}
                    for domain in KNOWN_DOMAINS
                },
                "configs": stored.pop(room.room_id, {}),
            }
        )
    # Rows of rooms the mapping no longer has: shown so they can be looked at and deleted.
    unmapped = [
        {"room_id": room_id, "configs": configs} for room_id, configs in sorted(stored.items())
    ]
    return {"domains": list(KNOWN_DOMAINS), "rooms": rooms, "unmapped": unmapped}


@_command({vol.Required("type"): "roomdb/config/update", **UPDATE_CONFIG_SCHEMA.schema})
async def ws_config_update(hass: HomeAssistant, runtime: RoomDbData, msg: dict[str, Any]) -> Any:
    """Write one room config through the store (admission, limiter) like `update_config`."""
    result = await runtime.rooms.store.upsert(
        msg["domain"], msg["room_id"], msg["config_data"], source="panel"
    )
    return update_response(result)


@_command({vol.Required("type"): "roomdb/config/delete", **DELETE_CONFIG_SCHEMA.schema})
async def ws_config_delete(hass: HomeAssistant, runtime: RoomDbData, msg: dict[str, Any]) -> Any:
    """Delete one room config through the store like `delete_config`."""
    result = await runtime.rooms.store.delete(msg["domain"], msg["room_id"], source="panel")
    return delete_response(result)


@_command({vol.Required("type"): "roomdb/mapping/status"})
async def ws_mapping_status(hass: HomeAssistant, runtime: RoomDbData, _msg: dict[str, Any]) -> Any:
    """The mapping in force: status, source, file, rooms and its problems with their lines."""
    return runtime.rooms.mapping.health()


@_command(
    {
        vol.Required("type"): "roomdb/mapping/generate",
        vol.Optional("overwrite", default=False): cv.boolean,
    }
)
async def ws_mapping_generate(hass: HomeAssistant, runtime: RoomDbData, msg: dict[str, Any]) -> Any:
    """Write a starter mapping from the areas (as the options flow does) and put it in force."""
    entry = async_get_loaded_entry(hass)
    user_path: str = entry.data.get(CONF_MAPPING_PATH, DEFAULT_MAPPING_PATH)
    # Replacing needs an existing file to be a RoomDB mapping, not just a safe path.
    path = await async_resolve_user_path(
        hass, runtime.config_dir, user_path, PathPurpose.MAPPING, replace=msg["overwrite"]
    )
    try:
        generated = await async_generate_mapping(hass, path, overwrite=msg["overwrite"])
    except MappingExistsError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=MAPPING_EXISTS,
            translation_placeholders={"path": user_path},
        ) from err
    except OSError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key=MAPPING_WRITE_FAILED,
            translation_placeholders={"path": user_path, "error": str(err)},
        ) from err
    reload = await runtime.rooms.mapping.async_reload()
    return {
        "path": user_path,
        "rooms": len(generated.mapping.rooms),
        "vacuum_rooms": generated.vacuum_rooms,
        **reload.as_response(),
    }


@_command(
    {
        vol.Required("type"): "roomdb/sleep/nights",
        vol.Optional("nights", default=DEFAULT_NIGHTS): vol.All(
            vol.Coerce(int), vol.Range(min=1, max=MAX_NIGHTS)
        ),
    }
)
async def ws_sleep_nights(hass: HomeAssistant, runtime: RoomDbData, msg: dict[str, Any]) -> Any:
    """The sleep timeline: per night the model's probabilities, the label and an estimate."""
    return await async_sleep_nights(hass, runtime.ml, msg["nights"])


@_command(
    {
        vol.Required("type"): "roomdb/sleep/label_set",
        vol.Required("night_date"): cv.date,
        vol.Required("bedtime"): cv.datetime,
        vol.Required("wake"): cv.datetime,
    }
)
async def ws_sleep_label_set(hass: HomeAssistant, runtime: RoomDbData, msg: dict[str, Any]) -> Any:
    """Enter or correct one ended night's label (times without offset are local)."""
    night: date = msg["night_date"]
    bedtime: datetime = msg["bedtime"]
    wake: datetime = msg["wake"]
    return await async_set_label(hass, runtime.ml, night, bedtime, wake)


@_command(
    {
        vol.Required("type"): "roomdb/sleep/suggestion_confirm",
        vol.Required("night_date"): cv.date,
        vol.Optional("bedtime"): cv.datetime,
        vol.Optional("wake"): cv.datetime,
    }
)
async def ws_sleep_suggestion_confirm(
    hass: HomeAssistant, runtime: RoomDbData, msg: dict[str, Any]
) -> Any:
    """Make a night's suggestion its label, as suggested or corrected (like `confirm_night`)."""
    return await async_confirm_night(
        runtime.ml, msg["night_date"], msg.get("bedtime"), msg.get("wake")
    )


@_command({vol.Required("type"): "roomdb/status/get"})
async def ws_status_get(hass: HomeAssistant, runtime: RoomDbData, _msg: dict[str, Any]) -> Any:
    """Health of the room database, the event stream, the alarm sync and the ML layer."""
    ml_status = runtime.ml.status
    return {
        "rooms": runtime.rooms.health(),
        "event_stream": {
            "enabled": runtime.events.settings.enabled,
            **runtime.events.stats().as_dict(),
        },
        "alarm_sync": {"status": runtime.alarm_sync.status.value, **runtime.alarm_sync.attributes},
        "ml": {
            "readiness": ml_status.readiness,
            "sleep_probability": ml_status.sleep_probability,
            "asleep": ml_status.asleep,
            "changepoint_probability": ml_status.changepoint_probability,
            **ml_status.readiness_attributes(),
        },
    }


COMMANDS: Final = (
    ws_rooms_list,
    ws_config_update,
    ws_config_delete,
    ws_mapping_status,
    ws_mapping_generate,
    ws_sleep_nights,
    ws_sleep_label_set,
    ws_sleep_suggestion_confirm,
    ws_status_get,
)


@callback
def async_register_commands(hass: HomeAssistant) -> None:
    """Register the commands (once, from `async_setup`)."""
    for command in COMMANDS:
        async_register_command(hass, command)
