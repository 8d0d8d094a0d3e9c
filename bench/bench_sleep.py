"""Sleep and routine learning in simulated homes, replayed through a real HA (the sleep harness).

Each home of `bench/households.py` runs for seven weeks through Home Assistant's state machine
with RoomDB loaded and its timers firing (`bench/sleep_replay.py`), and is scored on every
15-minute window of the day beside a plain logistic regression on the same labels
(`bench/sleep_score.py`). The replays run as the slow test `tests/ml/test_sleep_harness.py`
(they need pytest-homeassistant-custom-component's frozen clock), two homes at a time.

`--quick` runs two homes. The seed is fixed (`SEED`): the figures in the README come from it, and
the model was developed on other seeds.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
import subprocess
import sys
import tempfile
from typing import Final

from bench.households import ARCHETYPES

SEED: Final = 2026
QUICK_HOMES: Final = ("new_shift_work", "couple")
PARALLEL: Final = 2
REPO: Final = Path(__file__).resolve().parent.parent

# (figure, baseline figure, unit, goal sense, goal); the baseline has no detector.
FIGURES: Final = (
    ("accuracy", "baseline_accuracy", "", ">=", 0.97),
    ("ece", "baseline_ece", "", "<=", 0.025),
    ("bedtime_error_min", "baseline_bedtime_error_min", "min", "<=", 15.0),
    ("wake_error_min", "baseline_wake_error_min", "min", "<=", 15.0),
    ("accuracy_after", "baseline_accuracy_after", "", ">=", 0.95),
    ("delay_hours", None, "h", "<=", 48.0),
    ("false_alarms_per_6_weeks", None, "", "<=", 1.0),
)


def replay_homes(homes: list[str], seed: int, out: Path) -> None:
    """Run the harness test for `homes`, PARALLEL processes at a time, figures into `out`."""
    groups = [homes[i::PARALLEL] for i in range(PARALLEL)]
    processes = []
    for group in groups:
        if not group:
            continue
        env = {
            **os.environ,
            "ROOMDB_HARNESS_HOMES": ",".join(group),
            "ROOMDB_HARNESS_SEED": str(seed),
            "ROOMDB_HARNESS_OUT": str(out),
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
        }
        command = [
            sys.executable,
            "-m",
            "pytest",
            "tests/ml/test_sleep_harness.py",
            "-m",
            "slow",
            "-q",
            "-p",
            "no:logging",
            "--no-cov",
        ]
        processes.append(subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL))
    for process in processes:
        process.wait()


def _met(value: float | None, sense: str, goal: float) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return value >= goal if sense == ">=" else value <= goal


def rows_for(results: dict[str, dict[str, float | None]]) -> list[dict[str, object]]:
    """One row per home and figure, then the worst home per figure."""
    rows: list[dict[str, object]] = []
    for home, figures in results.items():
        for name, base, unit, sense, goal in FIGURES:
            value = figures.get(name)
            if name in ("accuracy_after", "delay_hours") and figures.get("accuracy_after") is None:
                continue  # no routine change in this home
            baseline = figures.get(base) if base else None
            rows.append(
                {
                    "benchmark": f"sleep {home}",
                    "metric": name,
                    "roomdb": value if value is not None else "not found",
                    "baseline": baseline if baseline is not None else "",
                    "unit": unit,
                    "ratio": "",
                    "target": f"{sense} {goal:g}",
                    "met": _met(value, sense, goal),
                }
            )
    for name, _, unit, sense, goal in FIGURES:
        values = [
            r["roomdb"] for r in rows if r["metric"] == name and isinstance(r["roomdb"], float)
        ]
        found = [r for r in rows if r["metric"] == name]
        if not found:
            continue
        worst = (min if sense == ">=" else max)(values) if values else "not found"
        rows.append(
            {
                "benchmark": "sleep, worst home",
                "metric": name,
                "roomdb": worst,
                "baseline": "",
                "unit": unit,
                "ratio": "",
                "target": f"{sense} {goal:g}",
                "met": all(bool(r["met"]) for r in found),
            }
        )
    return rows


def _cell(value: object, digits: int) -> str:
    if isinstance(value, float) and not math.isnan(value):
        return f"{value:.{digits}f}"
    return "—" if value is None else str(value)


def markdown(results: dict[str, dict[str, float | None]]) -> str:
    """The README table: RoomDB's figure per home, the baseline's in brackets."""
    header = "| home | " + " | ".join(name for name, *_ in FIGURES) + " |"
    lines = [header, "|" + "---|" * (len(FIGURES) + 1)]
    for home, figures in results.items():
        cells = []
        for name, base, unit, _, _ in FIGURES:
            digits = 3 if not unit else 1
            value = figures.get(name)
            changed = figures.get("accuracy_after") is not None
            cell = "not found" if value is None and changed else _cell(value, digits)
            if base and figures.get(base) is not None:
                cell += f" ({_cell(figures.get(base), digits)})"
            cells.append(cell)
        lines.append(f"| {home} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(quick: bool) -> list[dict[str, object]]:
    homes = list(QUICK_HOMES if quick else ARCHETYPES)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        replay_homes(homes, SEED, out)
        results = {}
        for home in homes:
            path = out / f"{home}-{SEED}.json"
            results[home] = json.loads(path.read_text()) if path.exists() else {}
    print(markdown(results), file=sys.stderr)
    return rows_for(results)
