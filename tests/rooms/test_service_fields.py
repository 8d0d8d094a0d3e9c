"""Service fields: each has a selector and translated text; room fields offer the mapped rooms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, selector
from homeassistant.helpers.service import async_get_all_descriptions
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from custom_components.roomdb.const import DOMAIN
from custom_components.roomdb.rooms.mapping import KNOWN_DOMAINS
from tests.rooms.conftest import write_mapping

PACKAGE = Path(__file__).parents[2] / "custom_components" / "roomdb"
ROOM_FIELDS = {
    "update_config": "room_id",
    "delete_config": "room_id",
    "seed_from_mapping": "rooms",
}
DOMAIN_FIELDS = dict.fromkeys(ROOM_FIELDS, "domain")


def _strings() -> dict[str, Any]:
    return dict(json.loads((PACKAGE / "strings.json").read_text(encoding="utf-8")))


def _services_yaml() -> dict[str, Any]:
    return dict(yaml.safe_load((PACKAGE / "services.yaml").read_text(encoding="utf-8")))


def _all_strings(node: object) -> list[str]:
    if isinstance(node, dict):
        return [text for value in node.values() for text in _all_strings(value)]
    if isinstance(node, list):
        return [text for value in node for text in _all_strings(value)]
    return [node] if isinstance(node, str) else []


def test_every_translation_string_is_plain_text() -> None:
    """hassfest's rule: no HTML (nor `<placeholder>`-style text) in any translated string."""
    texts = _all_strings(_strings())
    assert len(texts) > 100
    for text in texts:
        cv.string_with_no_html(text)


def test_every_service_field_has_a_valid_selector_and_translations() -> None:
    strings = _strings()
    for service, description in _services_yaml().items():
        fields = (description or {}).get("fields") or {}
        for name, field in fields.items():
            assert "selector" in field, f"{service}.{name} has no selector"
            selector.validate_selector(field["selector"])
            assert strings["services"][service]["fields"][name]["name"], f"{service}.{name}"
            select = field["selector"].get("select")
            if select and (key := select.get("translation_key")):
                labels = strings["selector"][key]["options"]
                assert set(select["options"]) <= set(labels), f"{service}.{name}: {key}"


def test_domain_fields_offer_exactly_the_config_domains() -> None:
    described = _services_yaml()
    for service, field in DOMAIN_FIELDS.items():
        select = described[service]["fields"][field]["selector"]["select"]
        assert select["options"] == list(KNOWN_DOMAINS), service
        assert select["translation_key"] == "config_domains"
        assert "custom_value" not in select  # an unknown domain can only be refused


async def _room_options(hass: HomeAssistant) -> dict[str, list[Any]]:
    descriptions = await async_get_all_descriptions(hass)
    return {
        service: descriptions[DOMAIN][service]["fields"][field]["selector"]["select"]["options"]
        for service, field in ROOM_FIELDS.items()
    }


async def test_room_fields_offer_the_mapped_rooms_and_follow_the_mapping(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    kitchen = {"value": "kitchen", "label": "Kitchen (kitchen)"}
    hall = {"value": "hall", "label": "Hall (hall)"}
    office = {"value": "office", "label": "Office (office)"}
    assert await _room_options(hass) == {s: [kitchen, hall, office] for s in ROOM_FIELDS}

    await write_mapping(
        hass, 'version: "3.1"\nrooms:\n  attic:\n    name: Attic\n    capabilities: [ml]\n'
    )
    await rooms_entry.runtime_data.rooms.mapping.async_reload()
    attic = {"value": "attic", "label": "Attic (attic)"}
    assert await _room_options(hass) == {s: [attic] for s in ROOM_FIELDS}

    await hass.config_entries.async_unload(rooms_entry.entry_id)
    await hass.async_block_till_done()
    assert await _room_options(hass) == {s: [] for s in ROOM_FIELDS}


@pytest.mark.parametrize("service", sorted(ROOM_FIELDS))
async def test_a_room_field_still_takes_a_typed_room_id(service: str) -> None:
    """Rows of a room no longer mapped must stay reachable (to delete them)."""
    select = _services_yaml()[service]["fields"][ROOM_FIELDS[service]]["selector"]["select"]
    assert select["custom_value"] is True
