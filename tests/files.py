"""A config folder full of things RoomDB must never touch, and a snapshot to prove it did not.

`plant_dangers` fills a config folder with Home Assistant's own files and folders, user files,
special files (FIFO, socket, folders named like files), links to RoomDB's database and to
`configuration.yaml`, and a few files RoomDB itself wrote (which it may replace). `snapshot`
records every entry (kind, inode and content hash) without opening anything that could hurt:
FIFOs, sockets and files this process holds open (the live database) are never opened, because
closing any descriptor of a file drops this process's SQLite locks on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, suppress
from dataclasses import dataclass
import hashlib
import os
from pathlib import Path
import socket
import sqlite3
import stat

ROOMDB_APPLICATION_ID = 0x526D4442

LEGACY_EXPORT = (
    '{\n  "status": "ok",\n  "schema_version": 1,\n  "generated_at": "2026-01-01T00:00:00+00:00",\n'
    '  "counts": {},\n  "by_domain": {}\n}\n'
)
GENERATED_MAPPING = (
    '# RoomDB area mapping, format version 3.1.\n\nversion: "3.1"\nrooms:\n'
    "  den: {name: Den, capabilities: [activity]}\n"
)
USER_FILES = {
    "configuration.yaml": "homeassistant:\n  name: Home\ndefault_config:\n",
    "secrets.yaml": "api_key: hunter2\n",
    "automations.yaml": "[]\n",
    ".HA_VERSION": "2026.10.4",
    ".storage/core.config_entries": '{"version": 1, "data": {"entries": []}}',
    ".storage/roomdb.area_mapping": '{"version": 1, "data": {}}',
    ".cloud/prefs": "{}",
    "custom_components/roomdb/manifest.json": '{"domain": "roomdb"}',
    "custom_components/other/__init__.py": "",
    "deps/lib.py": "",
    "backups/abc.tar": "tar",
    "blueprints/automation/x.yaml": "blueprint: {}\n",
    "tts/hello.mp3": "mp3",
    "www/index.html": "<html></html>",
    "home-assistant.log": "log line\n",
    "notes.txt": "my notes\n",
    "mine.json": '{"mine": true}\n',
    "mine.yaml": "shopping: [milk]\n",
    "mine.yml": "a: 1\n",
    "exports/keep.json": '{"keep": 1}\n',
    "unicode/küche ☃.yaml": "x: 1\n",
}
ROOMDB_FILES = {
    "old_export.json": LEGACY_EXPORT,
    "roomdb/generated.yaml": GENERATED_MAPPING,
}
SQLITE_FILES = ("home-assistant_v2.db", "zigbee.db", "mine.db", "mine.sqlite")


def _sqlite_file(path: Path, application_id: int = 0) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
        conn.execute(f"PRAGMA application_id = {application_id}")
        conn.commit()


def plant_dangers(config_dir: Path) -> set[str]:
    """Create the dangerous neighbourhood (idempotent); return the files RoomDB wrote."""
    for name, text in {**USER_FILES, **ROOMDB_FILES}.items():
        path = config_dir / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for name in SQLITE_FILES:
        if not (config_dir / name).exists():
            _sqlite_file(config_dir / name)
    if not (config_dir / "own_backup.db").exists():
        _sqlite_file(config_dir / "own_backup.db", ROOMDB_APPLICATION_ID)
    for name in ("folder.yaml", "folder.json", "folder.db", "roomdb_backups"):
        (config_dir / name).mkdir(exist_ok=True)
    for name in ("fifo.yaml", "fifo.json", "fifo.db"):
        if not (config_dir / name).exists():
            os.mkfifo(config_dir / name)
    sock_path = config_dir / "sock.yaml"
    if not sock_path.exists():
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(sock_path))
    database = config_dir / "roomdb.db"
    links = {
        "link_db.json": database,
        "link_db.yaml": database,
        "link_db.db": database,
        "link_cfg.yaml": config_dir / "configuration.yaml",
        "link_storage": config_dir / ".storage",
        "link_out.yaml": Path("/etc/hostname"),
    }
    for name, target in links.items():
        if not (config_dir / name).is_symlink():
            (config_dir / name).symlink_to(target)
    hardlinks = {
        "hard_db.yaml": database,
        "hard_db.json": database,
        "hard_db.db": database,
        "hard_cfg.yaml": config_dir / "configuration.yaml",
        "hard_cfg.json": config_dir / "configuration.yaml",
        "hard_recorder.yaml": config_dir / "home-assistant_v2.db",
        "hard_recorder.db": config_dir / "home-assistant_v2.db",
        "hard_zigbee.yaml": config_dir / "zigbee.db",
        "hard_zigbee.json": config_dir / "zigbee.db",
    }
    for name, target in hardlinks.items():
        if target.exists() and not (config_dir / name).exists():
            os.link(target, config_dir / name)
    return {"old_export.json", "roomdb/generated.yaml", "own_backup.db"}


@dataclass(frozen=True, slots=True)
class Entry:
    """What a snapshot knows of one path: its kind, inode and content (where safe to read)."""

    kind: str
    inode: int
    digest: str


def _open_inodes() -> set[tuple[int, int]]:
    found: set[tuple[int, int]] = set()
    with suppress(OSError):
        for link in Path("/proc/self/fd").iterdir():
            with suppress(OSError):
                info = link.stat()
                found.add((info.st_dev, info.st_ino))
    return found


def _walk(root: Path) -> Iterator[Path]:
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            yield Path(directory) / name


def snapshot(config_dir: Path) -> dict[str, Entry]:
    """Every path below `config_dir` with kind, inode and a content hash for safe regular files.

    RoomDB's live database files change on their own (HA writes to them), so only their inode is
    recorded: a replaced or deleted database shows, ordinary writes do not.
    """
    open_now = _open_inodes()
    database = {
        (info.st_dev, info.st_ino)
        for suffix in ("", "-wal", "-shm", "-journal")
        if (info := _lstat(config_dir / f"roomdb.db{suffix}")) is not None
    }
    result: dict[str, Entry] = {}
    for path in _walk(config_dir):
        info = _lstat(path)
        if info is None:
            continue
        key = str(path.relative_to(config_dir))
        mode = info.st_mode
        identity = (info.st_dev, info.st_ino)
        if stat.S_ISLNK(mode):
            result[key] = Entry("link", info.st_ino, str(path.readlink()))
        elif stat.S_ISDIR(mode):
            result[key] = Entry("dir", info.st_ino, "")
        elif not stat.S_ISREG(mode):
            result[key] = Entry("special", info.st_ino, "")
        elif identity in database:
            result[key] = Entry("database", info.st_ino, "")
        elif identity in open_now:
            result[key] = Entry("open", info.st_ino, str(info.st_size))
        else:
            result[key] = Entry("file", info.st_ino, hashlib.sha256(path.read_bytes()).hexdigest())
    return result


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return path.lstat()
    except OSError:
        return None


def changed(before: dict[str, Entry], after: dict[str, Entry]) -> set[str]:
    """Paths added, removed or changed between two snapshots."""
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
