"""Service fields that name a room offer the rooms of the mapping in force as choices.

`services.yaml` can only list fixed options, so it declares these fields as selects without
options (any room id may still be typed: an unmapped room's leftover row can be deleted). While an
entry is loaded, the fields' descriptions are replaced with the mapped rooms ("Kitchen
(kitchen)") and refreshed whenever the mapping changes; on unload they return to the empty list.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.service import async_set_service_schema
from homeassistant.util.yaml import load_yaml_dict

from .const import DOMAIN
from .rooms.mapping import AreaMapping, empty_mapping
from .rooms.mapping_diff import MappingDiff
from .rooms.mapping_manager import MappingManager

ROOM_FIELDS: Final = {
    "update_config": "room_id",
    "delete_config": "room_id",
    "seed_from_mapping": "rooms",
}
SERVICES_YAML: Final = Path(__file__).with_name("services.yaml")


def _load_descriptions() -> dict[str, Any]:
    return load_yaml_dict(str(SERVICES_YAML))


@callback
def _describe(hass: HomeAssistant, descriptions: dict[str, Any], mapping: AreaMapping) -> None:
    options = [
        {"value": room.room_id, "label": f"{room.name} ({room.room_id})"}
        for room in mapping.rooms.values()
    ]
    for service, field in ROOM_FIELDS.items():
        description = copy.deepcopy(descriptions[service])
        description["fields"][field]["selector"]["select"]["options"] = options
        async_set_service_schema(hass, DOMAIN, service, description)


async def async_offer_mapped_rooms(hass: HomeAssistant, mapping: MappingManager) -> CALLBACK_TYPE:
    """Describe the room fields with the mapped rooms until the returned callback is called."""
    descriptions = await hass.async_add_executor_job(_load_descriptions)
    _describe(hass, descriptions, mapping.mapping)

    @callback
    def changed(new: AreaMapping, _diff: MappingDiff) -> None:
        _describe(hass, descriptions, new)

    unsubscribe = mapping.async_add_listener(changed)

    @callback
    def stop() -> None:
        unsubscribe()
        _describe(hass, descriptions, empty_mapping())

    return stop
