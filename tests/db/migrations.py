"""Databases as an earlier release left them, for migration tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from custom_components.roomdb.db.database import Database
from custom_components.roomdb.db.schema import MIGRATIONS


async def write_database_at_version(
    path: Path, version: int, rows: list[tuple[str, tuple[Any, ...]]]
) -> None:
    """Create ``path`` at schema ``version`` (only the migrations up to it) holding ``rows``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("custom_components.roomdb.db.database.MIGRATIONS", MIGRATIONS[:version])
        patch.setattr("custom_components.roomdb.db.database.SCHEMA_VERSION", version)
        database = Database(path)
        await database.open()
        for sql, params in rows:
            await database.execute_write(sql, params)
        await database.close()
