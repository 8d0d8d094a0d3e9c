"""History import from Home Assistant's real recorder, filled with 4 days of a simulated home.

Setup imports the recorder's history of the tracked entities (the rows equal the simulated
changes), a second import adds nothing, an import cut short by a restart resumes at its cursor
(no row twice, none missing), the event loop stays responsive throughout (lag printed), and a
recorder that is missing or excludes the entities gets a clear, translated answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import math
import sqlite3
import statistics
import time
from typing import Any, Self

from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.roomdb.const import DOMAIN
from custom_components.roomdb.ml import history
from custom_components.roomdb.ml.history import META_IMPORT, HistoryImporter, ImportPlan
from custom_components.roomdb.ml.status import IMPORT_DONE

from .simulated_home import Home, recent_home, set_states

KEEP_DAYS = 14
HOME_DAYS = 4
"""18 slices of 6 h with rows, at 40 % of the fill time of ten days (`bench/bench_nights.py` imports
those)."""
IMPORT = "import_history"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """The recorder's database must be chosen before `hass` starts (the shared fixture needs it)."""


@pytest.fixture
def recorder_config() -> dict[str, Any]:
    """Keep two weeks, so the simulated days (and the morning after) are all there."""
    return {"purge_keep_days": KEEP_DAYS, "auto_purge": False}


@pytest.fixture
async def home(recorder_mock: Recorder, hass: HomeAssistant) -> Home:
    """The recorder filled with the simulated home, in the home's time zone."""
    simulated = recent_home(dt_util.utcnow().timestamp() - 3600.0, days=HOME_DAYS)
    await hass.config.async_set_time_zone(simulated.tz)
    started = time.perf_counter()
    set_states(hass, simulated)
    await async_wait_recording_done(hass)
    print(  # noqa: T201 - the figures are part of what the test shows
        f"recorder filled with {len(simulated.changes)} state changes "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return simulated


def expected_rows(home: Home) -> set[tuple[str, float, str]]:
    """What the import must give: every simulated change (all entities are tracked kinds)."""
    return {(c.entity_id, round(c.ts, 3), c.state) for c in home.changes}


async def imported_rows(entry: MockConfigEntry) -> list[tuple[str, float, str]]:
    database = entry.runtime_data.database
    await database.flush()
    rows = await database.fetchall("SELECT entity_id, ts, state FROM raw_events")
    return [(str(r[0]), round(float(r[1]), 3), str(r[2])) for r in rows]


class LoopLag:
    """Measures how late a 10 ms timer fires while something else runs."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + 0.01
            await asyncio.sleep(0.01)
            self.lags.append(max(0.0, loop.time() - due))

    def __enter__(self) -> Self:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    def report(self) -> str:
        ordered = sorted(self.lags)
        p99 = ordered[int(0.99 * (len(ordered) - 1))]
        median = statistics.median(ordered)
        return (
            f"loop lag over {len(ordered)} ticks: median {median * 1000:.1f} ms,"
            f" p99 {p99 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms"
        )


async def wait_for_import(entry: MockConfigEntry, timeout: float = 120.0) -> None:
    async with asyncio.timeout(timeout):
        while entry.runtime_data.ml.status.history_import_state != IMPORT_DONE:
            await asyncio.sleep(0.02)


@pytest.fixture
async def setup_roomdb(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    mock_entry.add_to_hass(hass)
    yield mock_entry
    if mock_entry.state.recoverable:
        await hass.config_entries.async_unload(mock_entry.entry_id)
        await hass.async_block_till_done()


async def test_setup_imports_the_recorder_history_once(
    hass: HomeAssistant, home: Home, setup_roomdb: MockConfigEntry
) -> None:
    started = time.perf_counter()
    with LoopLag() as lag:
        assert await async_setup_component(hass, DOMAIN, {})
        await wait_for_import(setup_roomdb)
    took = time.perf_counter() - started
    print(f"imported {len(home.changes)} changes in {took:.1f} s; {lag.report()}")  # noqa: T201
    assert max(lag.lags) < 0.25, lag.report()

    rows = await imported_rows(setup_roomdb)
    assert len(rows) == len(set(rows))
    assert set(rows) == expected_rows(home)
    sensor = hass.states.get("sensor.roomdb_history_import")
    assert sensor is not None
    assert sensor.state == "done"
    assert sensor.attributes["rows_added"] == len(rows)
    assert sensor.attributes["progress"] == 100.0

    again = await hass.services.async_call(DOMAIN, IMPORT, {}, blocking=True, return_response=True)
    assert again is not None
    assert again["rows_added"] == 0
    assert len(await imported_rows(setup_roomdb)) == len(rows)

    # A restart after a finished import imports nothing again.
    assert await hass.config_entries.async_reload(setup_roomdb.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    sensor = hass.states.get("sensor.roomdb_history_import")
    assert sensor is not None
    assert sensor.state == "done"
    assert len(await imported_rows(setup_roomdb)) == len(rows)


async def test_an_import_cut_short_by_a_restart_resumes(
    hass: HomeAssistant,
    home: Home,
    setup_roomdb: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write = HistoryImporter._async_write
    written = 0
    with_rows = 0
    cut = asyncio.Event()

    async def cut_after_three_with_rows(self: HistoryImporter, rows: list[Any]) -> int:
        # The plan starts where the retention does, before the home's first day: count the
        # slices that bring rows, so the cut lands inside the home's history.
        nonlocal written, with_rows
        if with_rows == 3:
            cut.set()
            await asyncio.Event().wait()  # Home Assistant stops while this slice is read
        written += 1
        with_rows += bool(rows)
        return await write(self, rows)

    monkeypatch.setattr(HistoryImporter, "_async_write", cut_after_three_with_rows)
    assert await async_setup_component(hass, DOMAIN, {})
    await asyncio.wait_for(cut.wait(), 60)
    database = setup_roomdb.runtime_data.database
    text = await database.get_metadata(META_IMPORT)
    assert text is not None
    plan = ImportPlan.from_json(text)
    partial = await imported_rows(setup_roomdb)
    assert plan.slices == written
    assert not plan.finished
    assert 0 < len(partial) < len(home.changes)
    assert await hass.config_entries.async_unload(setup_roomdb.entry_id)
    await hass.async_block_till_done()

    monkeypatch.setattr(HistoryImporter, "_async_write", write)
    assert await hass.config_entries.async_setup(setup_roomdb.entry_id)
    await wait_for_import(setup_roomdb)
    rows = await imported_rows(setup_roomdb)
    assert len(rows) == len(set(rows))
    assert set(rows) == expected_rows(home)
    database = setup_roomdb.runtime_data.database
    resumed = ImportPlan.from_json(str(await database.get_metadata(META_IMPORT)))
    assert resumed.start == plan.start
    assert resumed.end == plan.end
    assert resumed.slices == math.ceil((plan.end - plan.start) / history.SLICE_SECONDS)
    assert resumed.rows_added == len(rows)


async def _import(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, IMPORT, data, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    return response


async def _raw_count(entry: MockConfigEntry) -> int:
    await entry.runtime_data.database.flush()
    row = await entry.runtime_data.database.fetchone("SELECT COUNT(*) FROM raw_events")
    assert row is not None
    return int(row[0])


async def test_without_the_recorder_the_import_says_so(
    hass: HomeAssistant, setup_roomdb: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done(wait_background_tasks=True)
    sensor = hass.states.get("sensor.roomdb_history_import")
    assert sensor is not None
    assert sensor.state == "recorder_unavailable"
    with pytest.raises(ServiceValidationError) as err:
        await _import(hass)
    assert err.value.translation_key == "recorder_unavailable"
    assert await _raw_count(setup_roomdb) == 0

    # A stored import state that cannot be read is dropped, not trusted.
    await setup_roomdb.runtime_data.database.set_metadata({META_IMPORT: "{not json"})
    assert await hass.config_entries.async_reload(setup_roomdb.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert "Stored history import state is unusable" in caplog.text
    sensor = hass.states.get("sensor.roomdb_history_import")
    assert sensor is not None
    assert sensor.state == "recorder_unavailable"


TRACKED = {
    "light.bedroom": ("on", {}),
    "binary_sensor.hall_motion": ("on", {"device_class": "motion"}),
}


@pytest.mark.parametrize(
    "recorder_config", [{"exclude": {"domains": ["light", "binary_sensor"]}, "auto_purge": False}]
)
async def test_a_recorder_excluding_every_tracked_entity_gets_a_clear_answer(
    recorder_mock: Recorder, hass: HomeAssistant, setup_roomdb: MockConfigEntry
) -> None:
    for entity_id, (state, attributes) in TRACKED.items():
        hass.states.async_set(entity_id, state, attributes)
    await async_wait_recording_done(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done(wait_background_tasks=True)
    sensor = hass.states.get("sensor.roomdb_history_import")
    assert sensor is not None
    assert sensor.state == "entities_excluded"
    assert sensor.attributes["excluded_entities"] == sorted(TRACKED)
    with pytest.raises(ServiceValidationError) as err:
        await _import(hass)
    assert err.value.translation_key == "recorder_excludes_entities"
    assert "light.bedroom" in str(err.value.translation_placeholders)
    rows = await setup_roomdb.runtime_data.database.fetchall(
        "SELECT entity_id FROM raw_events WHERE ts < ?", (dt_util.utcnow().timestamp() - 60,)
    )
    assert rows == []


@pytest.mark.parametrize(
    "recorder_config", [{"exclude": {"domains": ["light"]}, "auto_purge": False}]
)
async def test_entities_the_recorder_excludes_are_listed_the_others_imported(
    recorder_mock: Recorder, hass: HomeAssistant, setup_roomdb: MockConfigEntry
) -> None:
    past = dt_util.utcnow().timestamp() - 3 * 3600.0
    for entity_id, (state, attributes) in TRACKED.items():
        hass.states.async_set(entity_id, "off", attributes, timestamp=past)
        hass.states.async_set(entity_id, state, attributes, timestamp=past + 60.0)
        # An attribute-only update is recorded by the recorder, but is no state change.
        hass.states.async_set(
            entity_id, state, {**attributes, "brightness": 9}, timestamp=past + 120.0
        )
    await async_wait_recording_done(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await wait_for_import(setup_roomdb)
    rows = await imported_rows(setup_roomdb)
    assert sorted(rows) == [
        ("binary_sensor.hall_motion", round(past, 3), "off"),
        ("binary_sensor.hall_motion", round(past + 60.0, 3), "on"),
    ]
    sensor = hass.states.get("sensor.roomdb_history_import")
    assert sensor is not None
    assert sensor.attributes["excluded_entities"] == ["light.bedroom"]


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"start": "last week"}, "invalid_input"),
        ({"end": 12}, "invalid_input"),
        ({"start": "2026-01-02 00:00:00", "end": "2026-01-01 00:00:00"}, "invalid_input"),
        ({"start": "2999-01-01 00:00:00"}, "invalid_input"),
    ],
)
async def test_bad_import_requests_are_refused_and_write_nothing(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    setup_roomdb: MockConfigEntry,
    data: dict[str, Any],
    key: str,
) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    await wait_for_import(setup_roomdb)
    hass.states.async_set("light.bedroom", "on", timestamp=dt_util.utcnow().timestamp() - 600)
    await async_wait_recording_done(hass)
    before = await _raw_count(setup_roomdb)
    with pytest.raises(ServiceValidationError) as err:
        await _import(hass, **data)
    assert err.value.translation_key == key
    assert await _raw_count(setup_roomdb) == before


async def test_a_failing_slice_is_reported_and_the_cursor_kept(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    setup_roomdb: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hass.states.async_set("light.bedroom", "on", timestamp=dt_util.utcnow().timestamp() - 600)
    await async_wait_recording_done(hass)

    async def broken(self: HistoryImporter, rows: list[Any]) -> int:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(HistoryImporter, "_async_write", broken)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert "History import failed" in caplog.text
    sensor = hass.states.get("sensor.roomdb_history_import")
    assert sensor is not None
    assert sensor.state == "failed"
    plan = ImportPlan.from_json(
        str(await setup_roomdb.runtime_data.database.get_metadata(META_IMPORT))
    )
    assert plan.slices == 0
    assert not plan.finished


async def test_one_import_at_a_time(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    setup_roomdb: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    await wait_for_import(setup_roomdb)
    hass.states.async_set("light.bedroom", "on")
    gate = asyncio.Event()
    write = HistoryImporter._async_write

    async def held(self: HistoryImporter, rows: list[Any]) -> int:
        await gate.wait()
        return await write(self, rows)

    monkeypatch.setattr(HistoryImporter, "_async_write", held)
    first = hass.async_create_task(_import(hass))
    await asyncio.sleep(0.1)
    with pytest.raises(ServiceValidationError) as err:
        await _import(hass)
    assert err.value.translation_key == "import_running"
    gate.set()
    assert (await first)["status"] == "ok"
