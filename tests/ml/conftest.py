"""Fixtures for the ML glue: Berlin time, the clock at a household moment, a loaded entry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.const import DOMAIN
from custom_components.roomdb.db.database import Database
from custom_components.roomdb.ml import store
from custom_components.roomdb.ml.features import RawEvent
from custom_components.roomdb.ml.ingest import RawEventWriter
from custom_components.roomdb.ml.labels import SleepLabel
from custom_components.roomdb.ml.runtime import MlRuntime

from .household import TZ, household

ML_TABLES = (
    "raw_events",
    "features",
    "labels",
    "clr_training_runs",
    "clr_model_artifacts",
    "bocpd_training_runs",
    "bocpd_model_state",
    "metadata",
)


def at(ts: float) -> datetime:
    """An aware UTC datetime for freezer.move_to."""
    return datetime.fromtimestamp(ts, UTC)


@pytest.fixture
async def berlin(hass: HomeAssistant) -> None:
    """The household lives in Europe/Berlin."""
    await hass.config.async_set_time_zone(TZ)


@pytest.fixture
def now_ts() -> float:
    """Where the clock stands when the entry loads (tests override it): the household's end."""
    return household().end_utc


@pytest.fixture
def frozen(freezer: FrozenDateTimeFactory, now_ts: float) -> FrozenDateTimeFactory:
    """Freeze the clock at `now_ts`."""
    freezer.move_to(at(now_ts))
    return freezer


@pytest.fixture
async def ml_entry(
    hass: HomeAssistant,
    berlin: None,
    frozen: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
) -> MockConfigEntry:
    """A loaded entry in Berlin with the clock frozen (in this order), first refresh done."""
    await hass.async_block_till_done(wait_background_tasks=True)
    return loaded_entry


def ml(entry: MockConfigEntry) -> MlRuntime:
    """The entry's ML runtime."""
    runtime: MlRuntime = entry.runtime_data.ml
    return runtime


def db(entry: MockConfigEntry) -> Database:
    """The entry's database."""
    database: Database = entry.runtime_data.database
    return database


async def store_events(database: Database, events: Iterable[RawEvent]) -> int:
    """Write events through the ingest path's rows (the batching writer), flushed."""
    writer = RawEventWriter(database)
    for event in events:
        writer.write(event)
    await database.flush()
    return writer.queued


async def store_labels(database: Database, labels: Iterable[SleepLabel]) -> None:
    """Store labels as the label source does."""
    for label in labels:
        await store.async_upsert_label(database, label, "test")


async def label_rows(entry: MockConfigEntry) -> list[tuple[str, float, float, str]]:
    """The stored labels: night, start, end, source (by night)."""
    rows = await db(entry).fetchall(
        "SELECT night_date, start_utc, end_utc, source FROM labels ORDER BY night_date"
    )
    return [(str(r[0]), float(r[1]), float(r[2]), str(r[3])) for r in rows]


async def run_pipeline(hass: HomeAssistant, stages: list[str] | None = None) -> dict[str, Any]:
    """Call the run_pipeline action and return its response."""
    data = {} if stages is None else {"stages": stages}
    response = await hass.services.async_call(
        DOMAIN, "run_pipeline", data, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    return response


async def table_counts(database: Database) -> dict[str, int]:
    """Row counts of the ML tables (and metadata)."""
    counts = {}
    for table in ML_TABLES:
        row = await database.fetchone(f"SELECT COUNT(*) FROM {table}")
        assert row is not None
        counts[table] = int(row[0])
    return counts
