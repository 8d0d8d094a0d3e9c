"""Every line RoomDB logs names its part: ``roomdb/<part>/<component>: …``."""

from __future__ import annotations

import logging
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.const import DOMAIN
from custom_components.roomdb.log import get_logger, log_prefix

PACKAGE_DIR = Path(__file__).parents[1] / "custom_components" / "roomdb"


@pytest.mark.parametrize(
    ("module", "prefix"),
    [
        ("custom_components.roomdb", "roomdb/core/setup"),
        ("custom_components.roomdb.services", "roomdb/core/services"),
        ("custom_components.roomdb.rooms.activity", "roomdb/rooms/activity"),
        ("custom_components.roomdb.alarm.sync", "roomdb/alarm/sync"),
        ("custom_components.roomdb.ml.label_source", "roomdb/ml/label_source"),
    ],
)
def test_prefix_names_part_and_component(module: str, prefix: str) -> None:
    assert log_prefix(module) == prefix


@pytest.mark.parametrize("module", ["homeassistant.core", "custom_components.roomdbx.a", ""])
def test_prefix_refuses_other_modules(module: str) -> None:
    with pytest.raises(ValueError, match="not a RoomDB module"):
        log_prefix(module)


def test_line_carries_prefix_and_keeps_lazy_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = get_logger("custom_components.roomdb.rooms.activity")
    with caplog.at_level(logging.DEBUG, logger="custom_components.roomdb.rooms"):
        logger.debug("room %s became %s", "kitchen", "active")
    record = caplog.records[-1]
    assert record.getMessage() == "roomdb/rooms/activity: room kitchen became active"
    # Home Assistant's `logger:` settings address the part by its dotted module name.
    assert record.name == "custom_components.roomdb.rooms.activity"


def test_every_module_logs_through_the_part_logger() -> None:
    """No module takes a bare logger: its lines would lack the prefix."""
    bare = [
        str(path.relative_to(PACKAGE_DIR))
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        if path.name != "log.py" and "logging.getLogger(" in path.read_text(encoding="utf-8")
    ]
    assert bare == []


async def test_setup_lines_carry_prefixes(
    hass: HomeAssistant, mock_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """A real setup at debug level: every RoomDB line starts with its part."""
    mock_entry.add_to_hass(hass)
    with caplog.at_level(logging.DEBUG, logger="custom_components.roomdb"):
        assert await async_setup_component(hass, DOMAIN, {})
        await hass.async_block_till_done()
    lines = [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("custom_components.roomdb")
    ]
    assert lines, "RoomDB logged nothing at debug level during setup"
    assert [line for line in lines if not line.startswith("roomdb/")] == []
    await hass.config_entries.async_unload(mock_entry.entry_id)
