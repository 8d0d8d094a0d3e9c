"""The export document, canonical JSON and atomic writes."""

from __future__ import annotations

from datetime import UTC, datetime
import json
import os
from pathlib import Path
import threading
import time

import pytest

from custom_components.roomdb.rooms.export_doc import (
    build_export,
    canonical_json,
    dumps_document,
    write_atomic,
    write_bytes_atomic,
)

GENERATED = "2026-01-02T03:04:05+00:00"


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """An empty directory of our own (HA's test plugin may put files into tmp_path)."""
    path = tmp_path / "out"
    path.mkdir()
    return path


def test_empty_export_is_valid() -> None:
    document = build_export([], 3, GENERATED)
    assert document == {
        "status": "ok",
        "schema_version": 3,
        "exported_by": "roomdb",
        "generated_at": GENERATED,
        "counts": {},
        "by_domain": {},
    }
    assert json.loads(json.dumps(document)) == document


def test_populated_export() -> None:
    rows = [
        ("motion_lighting", "kitchen", '{"timeout": 120}', 3, "2026-01-01T00:00:00+00:00"),
        ("activity", "kitchen", '{"last_active": null}', 1, "2026-01-01T00:01:00+00:00"),
        ("motion_lighting", "hall", '{"timeout": 60, "lux": [1, 2]}', 1, None),
        ("vacuum_control", "kitchen", "not json", 2, datetime(2026, 1, 1, tzinfo=UTC)),
    ]
    document = build_export(rows, 5, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert document["generated_at"] == GENERATED
    assert document["counts"] == {"activity": 1, "motion_lighting": 2, "vacuum_control": 1}
    assert list(document["by_domain"]) == ["activity", "motion_lighting", "vacuum_control"]
    assert list(document["by_domain"]["motion_lighting"]) == ["hall", "kitchen"]
    assert document["by_domain"]["motion_lighting"]["kitchen"] == {
        "config_data": {"timeout": 120},
        "version": 3,
        "updated_at": "2026-01-01T00:00:00+00:00",
    }
    assert document["by_domain"]["motion_lighting"]["hall"]["config_data"] == {
        "timeout": 60,
        "lux": [1, 2],
    }
    # Undecodable stored text is exported verbatim, not dropped.
    assert document["by_domain"]["vacuum_control"]["kitchen"] == {
        "config_data": "not json",
        "version": 2,
        "updated_at": "2026-01-01T00:00:00+00:00",
    }
    json.dumps(document)


def test_build_export_accepts_a_generator() -> None:
    rows = (("ml", f"r{i}", json.dumps({"i": i}), 1, "t") for i in range(3))
    assert build_export(rows, 1, GENERATED)["counts"] == {"ml": 3}


def test_canonical_json() -> None:
    assert (
        canonical_json({"b": 1, "a": [1, {"d": 2, "c": "é"}]}) == '{"a":[1,{"c":"é","d":2}],"b":1}'
    )
    assert canonical_json({"a": 1, "b": 2}) == canonical_json({"b": 2, "a": 1})
    assert canonical_json({"a": 1}) != canonical_json({"a": 2})
    with pytest.raises(ValueError):
        canonical_json({"a": float("nan")})
    with pytest.raises(TypeError):
        canonical_json({"a": object()})


def test_write_atomic_writes_and_replaces(out_dir: Path) -> None:
    target = out_dir / "sub" / "room_db_export.json"
    write_atomic(target, build_export([], 1, GENERATED))
    assert json.loads(target.read_text()) == build_export([], 1, GENERATED)
    assert target.read_bytes() == dumps_document(build_export([], 1, GENERATED))
    assert target.stat().st_mode & 0o777 == 0o644
    second = build_export([("ml", "a", "{}", 1, "t")], 1, GENERATED)
    write_atomic(target, second)
    assert json.loads(target.read_text()) == second
    assert sorted(p.name for p in target.parent.iterdir()) == ["room_db_export.json"]


def test_failed_write_leaves_old_file_and_no_temp(
    out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = out_dir / "export.json"
    write_atomic(target, {"old": True})

    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, {"new": True})
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in out_dir.iterdir()] == ["export.json"]
    with pytest.raises(TypeError):
        write_atomic(target, {"bad": object()})
    assert [p.name for p in out_dir.iterdir()] == ["export.json"]


def test_reader_never_sees_a_partial_file(out_dir: Path) -> None:
    target = out_dir / "room_db_export.json"
    big_rows = [
        ("activity", f"room_{i}", json.dumps({"payload": "x" * 200, "i": i}), i, "t")
        for i in range(300)
    ]
    write_atomic(target, build_export(big_rows, 1, GENERATED))
    stop = threading.Event()
    reads: list[int] = [0]
    bad: list[object] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                data = target.read_bytes()
            except FileNotFoundError:  # pragma: no cover - would itself be a failure
                bad.append("missing")
                continue
            try:
                document = json.loads(data)
            except ValueError:
                bad.append(data[-40:])
                continue
            if document["counts"] not in ({"activity": 300}, {"activity": 299}):
                bad.append(document["counts"])
            reads[0] += 1

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 1.5
    writes = 0
    while time.monotonic() < deadline or reads[0] < 50:
        write_atomic(target, build_export(big_rows[writes % 2 :], 1, GENERATED))
        writes += 1
    stop.set()
    for thread in threads:
        thread.join()
    assert bad == []
    assert reads[0] >= 50
    assert writes >= 10
    assert sorted(p.name for p in out_dir.iterdir()) == ["room_db_export.json"]


def test_non_atomic_write_would_be_caught(tmp_path: Path) -> None:
    """Control for the test above: a plain in-place write *is* observed half-written."""
    target = tmp_path / "plain.json"
    payload = dumps_document(
        build_export([("a", f"r{i}", "{}", 1, "t") for i in range(3000)], 1, "")
    )
    target.write_bytes(payload)
    stop = threading.Event()
    partial = [0]

    def reader() -> None:
        while not stop.is_set():
            try:
                json.loads(target.read_bytes())
            except ValueError:
                partial[0] += 1

    thread = threading.Thread(target=reader)
    thread.start()
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and partial[0] == 0:
        with target.open("wb") as handle:
            half = len(payload) // 2
            handle.write(payload[:half])
            handle.flush()
            time.sleep(0.001)
            handle.write(payload[half:])
    stop.set()
    thread.join()
    assert partial[0] > 0


def test_write_bytes_atomic_for_text_files(tmp_path: Path) -> None:
    target = tmp_path / "roomdb" / "area_mapping.yaml"
    write_bytes_atomic(target, b'version: "3.1"\nrooms: {}\n')
    assert target.read_text() == 'version: "3.1"\nrooms: {}\n'
    assert [p.name for p in target.parent.iterdir()] == ["area_mapping.yaml"]


def test_export_of_10k_rows_is_fast(tmp_path: Path) -> None:
    rows = [
        ("motion_lighting", f"room_{i}", json.dumps({"timeout": i, "lux": 40}), 1, "t")
        for i in range(10_000)
    ]
    start = time.perf_counter()
    document = build_export(rows, 1, GENERATED)
    write_atomic(tmp_path / "export.json", document)
    elapsed = time.perf_counter() - start
    assert document["counts"] == {"motion_lighting": 10_000}
    assert elapsed < 1.0  # budget is 250 ms; generous here for slow CI


def test_directory_fsync_failures_are_tolerated(
    out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custom_components.roomdb.rooms.export_doc import fsync_directory

    fsync_directory(out_dir / "missing")

    def broken_fsync(fd: int) -> None:
        raise OSError("not supported")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    fsync_directory(out_dir)
