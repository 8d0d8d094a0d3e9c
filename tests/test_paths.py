"""The path policy as a pure module: recognisers, safe reads, the fallback without /proc."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
import json
import os
from pathlib import Path
import sqlite3
import threading
import time

import pytest

from custom_components.roomdb import paths
from custom_components.roomdb.paths import (
    FileTooLargeError,
    PathPurpose,
    UnsafePathError,
    ensure_replaceable,
    read_regular_file,
    resolve_config_path,
    resolve_target,
)
from custom_components.roomdb.rooms.export_doc import dumps_document, write_bytes_atomic

from .files import LEGACY_EXPORT, ROOMDB_APPLICATION_ID


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "config"
    path.mkdir()
    return path


def _key(call: object, *args: object) -> str:
    with pytest.raises(UnsafePathError) as info:
        call(*args)  # type: ignore[operator]
    return info.value.translation_key


@pytest.mark.parametrize(
    ("content", "replaceable"),
    [
        (LEGACY_EXPORT, True),
        ('{"status":"ok","schema_version":3,"exported_by":"roomdb","counts":{}}', True),
        (dumps_document({"status": "ok", "schema_version": 1, "exported_by": "roomdb"}), True),
        ('{"mine": true, "exported_by": "roomdb"}', False),
        ('{"note": "exported_by roomdb"}', False),
        ("", False),
        ("[]", False),
    ],
)
def test_export_files_are_recognised_by_their_marker(
    root: Path, content: str | bytes, replaceable: bool
) -> None:
    target = root / "export.json"
    target.write_bytes(content if isinstance(content, bytes) else content.encode())
    if replaceable:
        resolve_target(root, "export.json", PathPurpose.EXPORT)
    else:
        assert _key(resolve_target, root, "export.json", PathPurpose.EXPORT) == "path_not_roomdb"


@pytest.mark.parametrize(
    ("content", "replaceable"),
    [
        ("# RoomDB area mapping, format version 3.1.\n", True),
        ('version: "3.1"\nrooms: {}\n', True),
        ("# comment\n'rooms':\n  a: {}\n---\n", True),
        ('version: "3.1"\n', False),
        ("homeassistant:\n  name: Home\nrooms: {}\n", False),
        ("{version: '3.1', rooms: {}}\n", False),
        ("\xff\xfe", False),
    ],
)
def test_mappings_are_recognised_by_their_top_level(
    root: Path, content: str, replaceable: bool
) -> None:
    (root / "m.yaml").write_bytes(content.encode("latin-1"))
    if replaceable:
        resolve_target(root, "m.yaml", PathPurpose.MAPPING)
    else:
        assert _key(resolve_target, root, "m.yaml", PathPurpose.MAPPING) == "path_not_roomdb"


def test_backups_are_recognised_by_their_application_id(root: Path) -> None:
    for name, application_id in (("ours.db", ROOMDB_APPLICATION_ID), ("theirs.db", 7)):
        with closing(sqlite3.connect(root / name)) as conn:
            conn.execute(f"PRAGMA application_id = {application_id}")
            conn.execute("CREATE TABLE t (x)")
            conn.commit()
    resolve_target(root, "ours.db", PathPurpose.BACKUP)
    assert _key(resolve_target, root, "theirs.db", PathPurpose.BACKUP) == "path_not_roomdb"
    # Some SQLite program has our backup open: its journal is there.
    (root / "ours.db-wal").write_bytes(b"")
    assert _key(resolve_target, root, "ours.db", PathPurpose.BACKUP) == "path_in_use"


def test_a_huge_file_is_never_recognised_as_a_mapping(root: Path) -> None:
    (root / "m.yaml").write_text("rooms: {}\n" + "#" * paths.MAPPING_MAX_BYTES)
    assert _key(resolve_target, root, "m.yaml", PathPurpose.MAPPING) == "path_not_roomdb"


def test_the_file_roomdb_wrote_last_is_not_opened_again(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = root / "export.json"
    written = write_bytes_atomic(target, b"not an export at all")

    def no_open(*_: object, **__: object) -> None:
        raise AssertionError("opened")

    monkeypatch.setattr(paths.os, "open", no_open)
    ensure_replaceable(target, PathPurpose.EXPORT, written=written)
    # A different file at the same place is examined (and here refused without opening).
    target.unlink()
    target.write_bytes(b"x" * 10)
    with pytest.raises(AssertionError, match="opened"):
        ensure_replaceable(target, PathPurpose.EXPORT, written=written)


def test_reading_a_fifo_never_blocks(root: Path) -> None:
    os.mkfifo(root / "fifo.yaml")
    started = time.monotonic()
    with pytest.raises(UnsafePathError) as info:
        read_regular_file(root / "fifo.yaml", 100)
    assert info.value.translation_key == "path_not_file"
    assert time.monotonic() - started < 1


def test_size_is_checked_before_reading(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (root / "big.yaml").write_bytes(b"x" * 101)

    def no_read(*_: object) -> bytes:
        raise AssertionError("read")

    monkeypatch.setattr(paths.os, "read", no_read)
    with pytest.raises(FileTooLargeError) as info:
        read_regular_file(root / "big.yaml", 100)
    assert (info.value.size, info.value.limit) == (101, 100)


def test_a_file_this_process_holds_open_is_never_opened(root: Path) -> None:
    database = root / "zigbee.db"
    with closing(sqlite3.connect(database)) as conn:
        conn.execute("CREATE TABLE t (x)")
        os.link(database, root / "z.yaml")
        assert _key(read_regular_file, root / "z.yaml", 10_000) == "path_in_use"
        assert _key(resolve_config_path, root, "z.yaml", PathPurpose.MAPPING) == "path_in_use"


def test_roomdb_never_refuses_a_file_because_it_is_reading_it_itself(root: Path) -> None:
    # A poll, validate_mapping and the options form may look at the same file at once.
    path = root / "rooms.yaml"
    path.write_text("version: 1\nrooms: {}\n" * 2_000)
    start = threading.Barrier(4)

    def look(kind: int) -> list[str]:
        start.wait()
        refusals: list[str] = []
        for _ in range(200):
            try:
                if kind == 0:
                    resolve_config_path(root, "rooms.yaml", PathPurpose.MAPPING)
                else:
                    read_regular_file(path, 1 << 20)
            except UnsafePathError as err:
                refusals.append(err.translation_key)
        return refusals

    with ThreadPoolExecutor(4) as pool:
        refusals = [key for keys in pool.map(look, range(4)) for key in keys]
    assert refusals == []
    # A descriptor held by anything else in the process is still seen.
    with path.open("rb"):
        assert _key(read_regular_file, path, 1 << 20) == "path_in_use"


def test_without_proc_a_hardlinked_file_is_refused(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paths, "_FD_DIRS", (str(root / "missing"),))
    (root / "single.yaml").write_text("rooms: {}\n")
    assert read_regular_file(root / "single.yaml", 100) == b"rooms: {}\n"
    os.link(root / "single.yaml", root / "double.yaml")
    assert _key(read_regular_file, root / "double.yaml", 100) == "path_in_use"


def test_a_file_swapped_after_the_checks_is_refused(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / "a.yaml").write_text("a")
    (root / "b.yaml").write_text("b")
    real_open = os.open

    def swapping_open(path: str | Path, flags: int, *args: int) -> int:
        return real_open(root / "b.yaml", flags, *args)

    monkeypatch.setattr(paths.os, "open", swapping_open)
    assert _key(read_regular_file, root / "a.yaml", 100) == "path_not_file"


def test_an_unreadable_file_is_refused_not_raised(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / "e.json").write_text("{}")

    def denied(*_: object, **__: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(paths.os, "open", denied)
    with pytest.raises(UnsafePathError) as info:
        resolve_target(root, "e.json", PathPurpose.EXPORT)
    assert info.value.translation_key == "path_unreadable"
    assert info.value.placeholders == {"path": "e.json", "error": "[Errno 13] Permission denied"}


def test_wrong_suffix_names_the_suffixes(root: Path) -> None:
    with pytest.raises(UnsafePathError) as info:
        resolve_config_path(root, "backup.txt", PathPurpose.BACKUP)
    assert info.value.placeholders == {
        "path": "backup.txt",
        "suffixes": ".db or .sqlite or .sqlite3",
    }
    assert str(info.value) == '"backup.txt" must end in .db or .sqlite or .sqlite3'


def test_every_refusal_is_translated_for_services_and_forms() -> None:
    strings = json.loads((Path(paths.__file__).parent / "strings.json").read_text())
    for key in paths.REASONS:
        assert "{path}" in strings["exceptions"][key]["message"], key
        assert "{path}" in strings["config"]["error"][key], key
        assert "{path}" in strings["options"]["error"][key], key
