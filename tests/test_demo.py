"""`scripts/demo` end to end: a real Home Assistant, the ingest peer, every stage passes."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.peers.home_assistant import REPO

STAGE_LINES = (
    "PASS   seed history",
    "PASS   start and config flow",
    "PASS   options flow",
    "PASS   room configs",
    "PASS   live states",
    "PASS   alarm sync",
    "PASS   pipeline",
    "PASS   history",
    "PASS   export",
    "PASS   event stream",
)


@pytest.mark.slow
def test_demo_passes_every_stage() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scripts.demo_run"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = result.stdout
    for line in STAGE_LINES:
        assert line in report
    assert "bulk vacuum_control/hallway    denied admission_denied" in report
    assert "sensor.roomdb_alarm_sync       in_sync" in report
    assert "peer: duplicates / conflicts   0 / 0" in report
    assert "unrecoverable                  0" in report
    assert "CLR vs naive Bayes" in report
    # The motion sensors sit in the mapped rooms' areas, so the activity pipeline writes.
    assert "activity/kitchen               v" in report
    assert "last_entity=binary_sensor.kitchen_motion" in report
    # The helpers hold last night, so the labels stage stores a label instead of skipping.
    assert "labels                         ok       label stored" in report
    assert "sleep probability recorded" in report
    # Nothing in the report reads like a failure when everything worked.
    stages = report.split("== result ==")[0].splitlines()
    alarming = [line for line in stages if re.search(r"\bretry\b|\bskipped\b", line)]
    assert not alarming, alarming
    assert "RoomDB demo PASSED" in report
