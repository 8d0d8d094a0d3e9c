"""Migration 2 (device config entry and parent, `vw_entity_areas`) from a version 1 file."""

from __future__ import annotations

from pathlib import Path

from custom_components.roomdb.db.database import Database
from custom_components.roomdb.db.schema import SCHEMA_VERSION
from tests.db.migrations import write_database_at_version


async def test_version_1_file_gains_columns_and_view(tmp_path: Path) -> None:
    path = tmp_path / "roomdb.db"
    await write_database_at_version(
        path,
        1,
        [
            (
                (
                    "INSERT INTO devices (id, name, area_id, config_entries) "
                    "VALUES ('d1', 'Lamp', 'den', ?)"
                ),
                ('["e1"]',),
            )
        ],
    )

    database = Database(path)
    await database.open()
    try:
        assert await database.get_metadata("schema_version") == str(SCHEMA_VERSION)
        (device,) = await database.fetchall("SELECT * FROM devices")
        assert dict(device) | {"created_at": None, "modified_at": None} == {
            "id": "d1",
            "name": "Lamp",
            "name_by_user": None,
            "manufacturer": None,
            "model": None,
            "area_id": "den",
            "via_device_id": None,
            "disabled_by": None,
            "config_entries": '["e1"]',
            "created_at": None,
            "modified_at": None,
            "config_entry_id": None,
            "parent_device_id": None,
        }
        async with database.transaction() as conn:
            await conn.execute(
                "INSERT INTO areas (area_id, name, floor_id) VALUES ('den', 'Den', 'up')"
            )
            await conn.execute(
                "INSERT INTO devices (id, parent_device_id) VALUES ('child', 'd1'), ('own', 'd1')"
            )
            await conn.execute("UPDATE devices SET area_id = 'attic' WHERE id = 'own'")
            await conn.executemany(
                "INSERT INTO entities (id, entity_id, platform, device_id, area_id) "
                "VALUES (?, ?, 'x', ?, ?)",
                [
                    ("1", "light.own_area", "d1", "porch"),
                    ("2", "light.device_area", "d1", None),
                    ("3", "light.parent_area", "child", None),
                    ("4", "light.child_area", "own", None),
                    ("5", "light.nowhere", None, None),
                ],
            )
        found = await database.fetchall(
            "SELECT entity_id, area_id, floor_id FROM vw_entity_areas ORDER BY id"
        )
        assert [tuple(row) for row in found] == [
            ("light.own_area", "porch", None),
            ("light.device_area", "den", "up"),
            ("light.parent_area", "den", "up"),
            ("light.child_area", "attic", None),
            ("light.nowhere", None, None),
        ]
    finally:
        await database.close()
