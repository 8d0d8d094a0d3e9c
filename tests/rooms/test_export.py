"""The export file: debounced after writes, atomic, equal to what SQLite holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import threading
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.roomdb.const import DOMAIN
from custom_components.roomdb.db.schema import SCHEMA_VERSION
from custom_components.roomdb.rooms import export as export_module
from custom_components.roomdb.rooms.store import WriteRequest

from .conftest import export_path, rooms_of, sql_by_domain


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


async def settle(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = 1) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def update(hass: HomeAssistant, domain: str, room_id: str, data: dict[str, Any]) -> None:
    await hass.services.async_call(
        DOMAIN,
        "update_config",
        {"domain": domain, "room_id": room_id, "config_data": data},
        blocking=True,
    )


async def test_rapid_writes_coalesce_into_one_export(
    hass: HomeAssistant, rooms_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    rooms = rooms_of(rooms_entry)
    real_write = export_module.write_bytes_atomic
    writes: list[Path] = []

    def counting_write(path: Path, data: bytes) -> None:
        writes.append(path)
        real_write(path, data)

    with patch.object(export_module, "write_bytes_atomic", counting_write):
        for i in range(25):
            await update(hass, "activity", ("kitchen", "hall", "office")[i % 3], {"n": i})
        await rooms.store.bulk_upsert(
            [WriteRequest("motion_lighting", r, {"t": 1}) for r in ("kitchen", "hall")]
        )
        assert rooms.exporter.pending
        assert writes == []
        await settle(hass, freezer)
        assert len(writes) == 1
        assert rooms.exporter.exports_written == 1
        assert not rooms.exporter.pending

        document = await hass.async_add_executor_job(read_json, export_path(hass))
        assert document["status"] == "ok"
        assert document["schema_version"] == SCHEMA_VERSION
        assert document["counts"] == {"activity": 3, "motion_lighting": 2}
        assert document["by_domain"] == await sql_by_domain(rooms_entry)

        # A later write arms the next export; an identical (unchanged) write does not.
        await update(hass, "activity", "hall", {"n": 100})
        await settle(hass, freezer)
        await update(hass, "activity", "hall", {"n": 100})
        await settle(hass, freezer)
        assert len(writes) == 2
    document = await hass.async_add_executor_job(read_json, export_path(hass))
    assert document["by_domain"] == await sql_by_domain(rooms_entry)


async def test_export_service_returns_the_document_and_writes_the_file(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    empty = await hass.services.async_call(
        DOMAIN, "export", {}, blocking=True, return_response=True
    )
    assert empty is not None
    assert (empty["counts"], empty["by_domain"]) == ({}, {})
    await update(hass, "motion_lighting", "kitchen", {"timeout": 300})
    document = await hass.services.async_call(
        DOMAIN, "export", {}, blocking=True, return_response=True
    )
    assert document is not None
    assert document["by_domain"] == await sql_by_domain(rooms_entry)
    on_disk = await hass.async_add_executor_job(read_json, export_path(hass))
    assert on_disk == document
    # The on-demand export replaced the pending debounced one.
    assert not rooms_of(rooms_entry).exporter.pending


async def test_pending_export_is_written_on_unload(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    await update(hass, "activity", "office", {"a": 1})
    assert rooms_of(rooms_entry).exporter.pending
    expected = await sql_by_domain(rooms_entry)
    await hass.config_entries.async_unload(rooms_entry.entry_id)
    document = await hass.async_add_executor_job(read_json, export_path(hass))
    assert document["by_domain"] == expected


def _reader(path: Path, stop: threading.Event, seen: list[int], bad: list[str]) -> None:
    while not stop.is_set():
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        try:
            seen.append(len(json.loads(text)["by_domain"].get("activity", {})))
        except ValueError as err:
            bad.append(f"{err}: {text[:80]!r}")


def _leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


async def test_no_partial_export_is_ever_observable(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    rooms = rooms_of(rooms_entry)
    rooms.mapping._mapping = rooms.mapping.mapping.__class__(
        rooms={
            f"r{i}": rooms.mapping.mapping.rooms["office"].__class__(f"r{i}", "R", ("activity",))
            for i in range(300)
        }
    )
    path = export_path(hass)
    stop = threading.Event()
    seen: list[int] = []
    bad: list[str] = []
    reader = threading.Thread(target=_reader, args=(path, stop, seen, bad))
    reader.start()
    try:
        for round_ in range(15):
            results = await rooms.store.bulk_upsert(
                [
                    WriteRequest("activity", f"r{i}", {"round": round_, "pad": "x" * 200})
                    for i in range(20 * (round_ + 1) % 300)
                ]
            )
            assert all(r.ok for r in results)
            await rooms.exporter.async_export()
    finally:
        stop.set()
        await hass.async_add_executor_job(reader.join)
    assert bad == []
    assert seen  # the reader really read the file while it was being replaced
    assert await hass.async_add_executor_job(_leftovers, path.parent) == []


async def test_export_failure(
    hass: HomeAssistant, rooms_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    rooms = rooms_of(rooms_entry)
    await hass.async_add_executor_job(export_path(hass).mkdir)  # a directory where the file goes
    with pytest.raises(HomeAssistantError) as info:
        await hass.services.async_call(DOMAIN, "export", {}, blocking=True, return_response=True)
    assert info.value.translation_key == "export_failed"
    assert rooms.exporter.health()["last_error"]

    # The debounced export logs the failure instead of raising.
    await update(hass, "activity", "hall", {"a": 1})
    await settle(hass, freezer)
    assert rooms.exporter.exports_written == 0


async def test_export_when_database_is_gone(
    hass: HomeAssistant, rooms_entry: MockConfigEntry
) -> None:
    rooms = rooms_of(rooms_entry)
    await rooms_entry.runtime_data.database.close()
    with pytest.raises(export_module.ExportError):
        await rooms.exporter.async_build_body()
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(DOMAIN, "export", {}, blocking=True, return_response=True)


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [("activity", "hall", '{"a":1}', 1, "2026-01-01T00:00:00+00:00")],
        [
            ("ml", "küche", '{"naïve":"ü","n":[1,2.5,null]}', 7, None),
            ("activity", "b", "{}", 2, datetime(2026, 1, 1, tzinfo=UTC)),
            ("activity", "a", '{"x":{"y":true}}', 3, "t"),
        ],
    ],
)
def test_streamed_file_equals_the_document(rows: list[Any]) -> None:
    generated = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
    text = export_module.render_document(rows, generated).decode()
    parsed = json.loads(text)
    assert parsed == export_module.build_document(rows, generated)
    assert list(parsed["by_domain"]) == sorted(parsed["by_domain"])
    assert text.endswith("}\n")


async def test_failed_final_export_is_logged(
    hass: HomeAssistant, rooms_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    await update(hass, "activity", "hall", {"a": 1})
    await hass.async_add_executor_job(export_path(hass).mkdir)
    await hass.config_entries.async_unload(rooms_entry.entry_id)
    assert "Final export" in caplog.text
