"""The sleep harness (slow): simulated homes replayed through HA and RoomDB, scored per home.

`ROOMDB_HARNESS_HOMES` (comma-separated archetypes), `ROOMDB_HARNESS_SEED` and
`ROOMDB_HARNESS_DAYS` choose the homes; with `ROOMDB_HARNESS_OUT` each home's figures are
written there as JSON (what `bench/bench_sleep.py` collects) before the goals are checked.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bench.households import ARCHETYPES, DEFAULT_DAYS, household
from bench.sleep_replay import replay
from bench.sleep_score import GOALS, misses, score

pytestmark = pytest.mark.slow

HOMES = os.environ.get("ROOMDB_HARNESS_HOMES", ",".join(ARCHETYPES)).split(",")
SEED = int(os.environ.get("ROOMDB_HARNESS_SEED", "2026"))
DAYS = int(os.environ.get("ROOMDB_HARNESS_DAYS", str(DEFAULT_DAYS)))


@pytest.mark.parametrize("name", HOMES)
async def test_home_meets_the_goals(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, mock_entry: MockConfigEntry, name: str
) -> None:
    home = household(name, SEED, DAYS)
    record = await replay(hass, freezer, home, mock_entry)
    figures = score(home, record)
    out = os.environ.get("ROOMDB_HARNESS_OUT")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        Path(out, f"{name}-{SEED}.json").write_text(json.dumps(figures.as_dict()))
    assert misses(figures) == [], (GOALS, figures)
