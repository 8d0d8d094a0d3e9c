"""The demo dashboard's texts: menu names as the UI spells them, the room list one room a line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.template import Template
import pytest
import yaml

ROOT = Path(__file__).parent.parent
DASHBOARD = ROOT / "config" / "dashboards" / "roomdb.yaml"
STRINGS = ROOT / "custom_components" / "roomdb" / "strings.json"


def _cards() -> list[dict[str, Any]]:
    dashboard = yaml.safe_load(DASHBOARD.read_text(encoding="utf-8"))
    return [card for view in dashboard["views"] for card in view["cards"]]


def _room_list() -> str:
    card = next(c for c in _cards() if c.get("title") == "Rooms in the area mapping")
    return str(card["content"])


def test_the_hint_names_the_options_menu_item_as_the_ui_does() -> None:
    strings = json.loads(STRINGS.read_text(encoding="utf-8"))
    menu = strings["options"]["step"]["init"]["menu_options"]["generate_mapping"]
    assert f"Configure → {menu}*" in " ".join(_room_list().split())
    assert "[RoomDB panel](/roomdb)" in _room_list()


@pytest.mark.parametrize(
    ("room_ids", "expected"),
    [
        (["kitchen", "hallway"], ["- `kitchen`", "- `hallway`"]),
        ([], ["No rooms mapped yet"]),
    ],
)
async def test_the_room_list_renders_one_room_a_line(
    hass: HomeAssistant, room_ids: list[str], expected: list[str]
) -> None:
    hass.states.async_set(
        "sensor.roomdb_mapped_rooms",
        str(len(room_ids)),
        {"room_ids": room_ids, "mapping_status": "valid"},
    )
    rendered = Template(_room_list(), hass).async_render(parse_result=False)
    lines = [line.strip() for line in rendered.splitlines() if line.strip()]
    assert lines[0] == "Mapping: **valid**"
    for line in expected:
        assert any(rendered_line.startswith(line) for rendered_line in lines), rendered
    assert len([line for line in lines if line.startswith("- ")]) == len(room_ids)


async def test_the_routine_changes_card_lists_what_the_detector_found(
    hass: HomeAssistant,
) -> None:
    card = next(c for c in _cards() if c.get("title") == "Routine changes found")
    hass.states.async_set(
        "sensor.roomdb_changepoint_probability",
        "95.67",
        {
            "recent_changepoints": [
                {"stream": "living_room:light_on_fraction", "night": "2026-11-13"}
            ]
        },
    )
    hass.states.async_set("sensor.roomdb_run_length", "3")
    rendered = Template(str(card["content"]), hass).async_render(parse_result=False)
    assert "**95.67 %**" in rendered
    assert "for 3 nights" in " ".join(rendered.split())
    assert "- `living_room:light_on_fraction` changed from the night of 2026-11-13" in rendered


async def test_the_routine_changes_card_before_the_detector_ran(hass: HomeAssistant) -> None:
    card = next(c for c in _cards() if c.get("title") == "Routine changes found")
    hass.states.async_set("sensor.roomdb_changepoint_probability", "unknown")
    rendered = Template(str(card["content"]), hass).async_render(parse_result=False)
    assert "has not run yet" in rendered
    assert "No routine change found yet." in rendered
    assert "unknown" not in rendered
