"""Retention trims raw events and feature windows, keeps models and labels, leaves views valid."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
import time
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.db.database import Database
from custom_components.roomdb.ml import retention, store
from custom_components.roomdb.ml.contracts import ML_CONTRACT_VIEWS, async_check_contracts
from custom_components.roomdb.ml.features import FEATURE_NAMES, FeatureRow, RawEvent
from custom_components.roomdb.ml.ingest import RawEventWriter
from custom_components.roomdb.ml.options import CONF_FEATURE_RETENTION_DAYS, CONF_RAW_RETENTION_DAYS
from custom_components.roomdb.ml.retention import DAY_SECONDS, async_trim, async_vacuum

from .conftest import db, run_pipeline, store_events, store_labels, table_counts
from .household import household, utc

HOME = household()


NOW = utc("2026-03-27T11:00:00")  # 25 days in


@pytest.mark.parametrize("now_ts", [NOW])
@pytest.mark.parametrize(
    "entry_options", [{CONF_RAW_RETENTION_DAYS: 10, CONF_FEATURE_RETENTION_DAYS: 23}]
)
async def test_retention_keeps_contracts_labels_and_models(
    hass: HomeAssistant, ml_entry: MockConfigEntry
) -> None:
    database = db(ml_entry)
    await store_events(database, HOME.events)
    await store_labels(database, HOME.labels())
    first = await run_pipeline(hass, ["features", "train", "bocpd"])
    assert first["bocpd"]["status"] == "ok"
    before = await table_counts(database)

    result = await run_pipeline(hass, ["retention"])
    trim = result["retention"]
    assert trim["status"] == "ok"
    assert trim["raw_cutoff"] == NOW - 10 * 86400
    assert trim["feature_cutoff"] == NOW - 23 * 86400
    after = await table_counts(database)
    assert (
        after["raw_events"]
        == before["raw_events"] - trim["raw_events_deleted"]
        < before["raw_events"]
    )
    # Windows were only ever computed for the last 23 days; five days on, five days go.
    assert trim["features_deleted"] == 0
    later = await async_trim(database, now=NOW + 5 * 86400, raw_days=10, feature_days=23)
    after = await table_counts(database)
    assert (
        after["features"]
        == before["features"] - later.features
        == before["features"] - 5 * 96 * 6 * len(FEATURE_NAMES)
    )
    for table in ("labels", "clr_training_runs", "clr_model_artifacts", "bocpd_model_state"):
        assert after[table] == before[table], table
    oldest = await database.fetchone("SELECT MIN(ts) FROM raw_events")
    assert oldest is not None
    assert oldest[0] >= trim["raw_cutoff"]
    oldest = await database.fetchone("SELECT MIN(window_start) FROM features")
    assert oldest is not None
    assert oldest[0] >= later.feature_cutoff

    # Every contract view still answers with its pinned columns, over fewer rows.
    assert (await async_check_contracts(database)).ok
    for view in ML_CONTRACT_VIEWS:
        await database.fetchall(f"SELECT * FROM {view} LIMIT 5")
    paired = await database.fetchone(
        "SELECT COUNT(DISTINCT night_date) FROM vw_clr_training_dataset"
    )
    assert paired is not None
    assert 0 < paired[0] < len(HOME.labels())
    # The pipeline carries on after the trim: nothing to add, the model still answers.
    again = await run_pipeline(hass, ["features", "bocpd", "inference"])
    assert again["bocpd"]["status"] == "skipped"
    assert again["inference"]["status"] == "ok"


async def test_retention_must_keep_a_day(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    with pytest.raises(ValueError, match="at least one day"):
        await async_trim(db(loaded_entry), now=0.0, raw_days=0, feature_days=10)


async def _store_lights(database: Database, start: float, step: float, count: int) -> None:
    """Seven lights in the hall switching in turn, one event every `step` seconds."""
    writer = RawEventWriter(database)
    for i in range(count):
        state = ("on", "off")[i % 2]
        writer.write(
            RawEvent(f"light.l{i % 7}", "light", None, "hall", state, None, start + i * step)
        )
    await database.flush()


async def test_a_trim_deletes_in_bounded_slices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "FIRST_SLICE_ROWS", 250)
    monkeypatch.setattr(retention, "MAX_SLICE_ROWS", 250)
    database = Database(tmp_path / "roomdb.db", batch_size=100_000)
    await database.open()
    try:
        start = 1_772_409_600.0  # midnight UTC
        await _store_lights(database, start, 36.0, 5 * 2400)  # five days, one event every 36 s
        result = await async_trim(database, now=start + 6 * DAY_SECONDS, raw_days=4, feature_days=4)
        assert result.raw_events == 2 * 2400
        # 4,800 rows at most 250 (one bound's ties) a slice, and the last slice finds none left.
        assert result.slices >= 4800 // 250 + 1
        assert result.longest_slice_seconds < 0.1
        assert result.as_dict()["longest_slice_ms"] < 100
        left = await database.fetchone("SELECT COUNT(*), MIN(ts) FROM raw_events")
        assert left is not None
        assert left[0] == 3 * 2400
        assert left[1] >= start + 2 * DAY_SECONDS
        # A trim with nothing to delete takes one slice per table.
        again = await async_trim(database, now=start + 6 * DAY_SECONDS, raw_days=4, feature_days=4)
        assert (again.raw_events, again.features, again.slices) == (0, 0, 2)
    finally:
        await database.close()


async def test_no_slice_holds_the_writer_beyond_the_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each table's slices are sized from the writer's real hold, apart from the other table's.

    A trigger on the real connection makes deleting a feature value cost 0.2 ms of work, a
    hundred times a raw event: sized from the raw events' slices (thousands of rows) a feature
    slice would hold the writer for half a second; sized on its own, no slice does more than a
    fraction of the 100 ms bound's work. (The work is counted, not timed: on a loaded machine a
    slice's wall time also holds the waits for a CPU.)
    """
    database = Database(tmp_path / "roomdb.db", batch_size=100_000)
    await database.open()
    try:
        start = 1_772_409_600.0  # midnight UTC
        await _store_lights(database, start, 10.0, 5 * 8640)  # five days, one event every 10 s
        windows = [start + w * 900.0 for w in range(3 * 96)]  # three days, 13 values a window
        await store.async_write_features(
            database,
            [FeatureRow("hall", w, w + 900, (0.5,) * len(FEATURE_NAMES)) for w in windows],
        )

        paused: list[int] = []

        def pause() -> None:
            # Busy, not asleep: a sleeping thread on a loaded machine may wake up much later.
            paused[-1] += 1
            until = time.perf_counter() + 0.0002
            while time.perf_counter() < until:
                pass

        await database.connection.create_function("roomdb_test_pause", 0, pause)
        await database.execute_write(
            "CREATE TEMP TRIGGER slow_feature_delete AFTER DELETE ON ml_features "
            "BEGIN SELECT roomdb_test_pause(); END"
        )
        write = database.execute_write

        async def one_slice(sql: str, params: Sequence[Any] = ()) -> int:
            paused.append(0)
            return await write(sql, params)

        monkeypatch.setattr(database, "execute_write", one_slice)
        result = await async_trim(database, now=start + 4 * DAY_SECONDS, raw_days=2, feature_days=2)
        assert result.raw_events == 2 * 8640
        assert result.features == 2 * 96 * len(FEATURE_NAMES)
        # Every slice's feature values, at 0.2 ms each, are far from the bound's 100 ms.
        assert sum(paused) == result.features
        assert max(paused) * 0.0002 < 0.05
        # The first feature slice deletes 100+ values: the hold reported is the real one.
        assert result.longest_slice_seconds >= 0.02
        assert result.as_dict()["longest_slice_ms"] == round(result.longest_slice_seconds * 1000, 1)
        left = await database.fetchone("SELECT COUNT(*) FROM features")
        assert left is not None
        assert left[0] == 96 * len(FEATURE_NAMES)
    finally:
        await database.close()


def test_slices_grow_at_most_twofold_towards_the_target() -> None:
    target = retention.SLICE_TARGET_SECONDS
    assert retention.next_slice_rows(1000, target / 10) == 2000
    assert retention.next_slice_rows(1000, target * 4) == 250
    assert retention.next_slice_rows(1000, 10.0) == retention.MIN_SLICE_ROWS
    assert retention.next_slice_rows(retention.MAX_SLICE_ROWS, 0.0) == retention.MAX_SLICE_ROWS


async def test_vacuum_modes_give_freed_space_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(tmp_path / "roomdb.db", batch_size=100_000)
    await database.open()
    try:
        writer = RawEventWriter(database)
        start = 1_772_409_600.0

        async def fill_and_trim(offset: float) -> None:
            for i in range(20_000):
                state = f"s{i % 50}"
                writer.write(
                    RawEvent(f"sensor.s{i % 9}", "sensor", None, None, state, None, offset + i)
                )
            await database.flush()
            await async_trim(
                database, now=offset + 20_000 + 1.5 * DAY_SECONDS, raw_days=1, feature_days=1
            )
            assert (await database.stats()).free_bytes > 0

        await fill_and_trim(start)
        assert await async_vacuum(database, "off", 6) == {"vacuum": "skipped"}
        assert await async_vacuum(database, "weekly", 2) == {"vacuum": "skipped"}  # a Wednesday
        weekly = await async_vacuum(database, "weekly", 6)
        assert weekly["vacuum"] == "weekly"
        assert weekly["freed_bytes"] > 0
        assert (await database.stats()).free_bytes == 0

        # Incremental: the first run switches the file over (one full VACUUM) ...
        await fill_and_trim(start + 10 * DAY_SECONDS)
        first = await async_vacuum(database, "incremental", 0)
        assert first["freed_bytes"] > 0
        mode = await database.fetchone("PRAGMA auto_vacuum")
        assert mode is not None
        assert mode[0] == 2
        # ... later runs give the free pages back in steps.
        monkeypatch.setattr("custom_components.roomdb.db.database.VACUUM_STEP_PAGES", 5)
        await fill_and_trim(start + 20 * DAY_SECONDS)
        free = (await database.stats()).free_bytes
        later = await async_vacuum(database, "incremental", 0)
        assert later == {"vacuum": "incremental", "freed_bytes": free}
        assert (await database.stats()).free_bytes == 0
    finally:
        await database.close()
