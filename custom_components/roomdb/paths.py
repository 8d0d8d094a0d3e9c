"""The one policy for every file path a user gives RoomDB (pure Python, no Home Assistant import).

Paths come from the setup and reconfigure forms (the area mapping and the export file), the options
flow's mapping generator, ``roomdb.backup`` and ``roomdb.validate_mapping``. All are untrusted.
:func:`resolve_config_path` accepts a path only when, after ``..`` and symlinks are resolved, it

* stays inside the config folder and is not the folder itself (``path_absolute``,
  ``path_outside_config``), not under ``www/``, which Home Assistant serves without login
  (``path_public``);
* is not RoomDB's database ``roomdb.db`` or a file beside it named ``roomdb.db…`` (``-wal``,
  ``-shm``, ``-journal``, kept corrupt copies), nor a hardlink or symlink to one
  (``path_is_database``);
* is not Home Assistant's: no hidden component (``.storage``, ``.cloud``, ``.HA_VERSION``), not in
  its folders (``custom_components``, ``deps``, ``backups``, ``blueprints``, ``tts``, ``image``),
  not its files at the top (``configuration.yaml``, ``secrets.yaml``, ``home-assistant*`` …), nor
  another name for one of those files (``path_protected``);
* ends in the suffix its purpose needs (``path_wrong_suffix``): a mapping ``.yaml``/``.yml``, an
  export ``.json``, a backup ``.db``/``.sqlite``/``.sqlite3`` — so no other SQLite database or
  ``-wal``/``-shm``/``-journal`` file is ever a target;
* if it exists, is a regular file (``path_not_file``: folders, FIFOs, sockets, devices) that this
  process does not hold open (``path_in_use``).

Names are compared case-insensitively, on the path as given and as resolved. A path that cannot
be examined (permissions, I/O errors) is refused too (``path_unreadable``).
:func:`ensure_replaceable` adds the rule for writers: an existing file is replaced only when its
content shows RoomDB wrote it (``path_not_roomdb``) — the export marker, RoomDB's SQLite
``application_id``, a RoomDB area mapping.

Opening a file and closing it again drops every POSIX lock this process holds on that file, which
is how SQLite databases get corrupted (and how a reader of a live ``-shm`` kills the process with
SIGBUS). So no file this process has open is ever opened here: it is compared by
``(st_dev, st_ino)`` with ``/proc/self/fd`` first. Files are opened with ``O_NONBLOCK`` (a FIFO
must never block a thread) and checked with ``fstat`` before a byte is read. RoomDB's own checks
and reads take turns (one process-wide lock), so a read never mistakes another of RoomDB's reads
of the same file for the file being in use. Everything here touches the file system: run it in
the executor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
import os
from pathlib import Path, PurePosixPath
import re
import stat
import threading
from typing import Final

from .const import DATABASE_FILENAME
from .db.schema import APPLICATION_ID

PUBLIC_DIRNAME: Final = "www"
PROTECTED_DIRNAMES: Final = frozenset(
    {"custom_components", "deps", "backups", "blueprints", "tts", "image"}
)
"""Home Assistant's own folders at the top of the config folder (lower case)."""
PROTECTED_FILENAMES: Final = frozenset(
    {
        "configuration.yaml",
        "secrets.yaml",
        "automations.yaml",
        "scripts.yaml",
        "scenes.yaml",
        "groups.yaml",
        "customize.yaml",
        "known_devices.yaml",
        "ip_bans.yaml",
        "ui-lovelace.yaml",
    }
)
"""Home Assistant's own files at the top of the config folder (lower case)."""
PROTECTED_PREFIX: Final = "home-assistant"
"""``home-assistant_v2.db`` (the recorder), ``home-assistant.log`` and their companions."""
STORAGE_DIRNAME: Final = ".storage"
SQLITE_COMPANIONS: Final = ("-wal", "-shm", "-journal")

MAX_COMPONENT_BYTES: Final = 255
MAX_PATH_BYTES: Final = 1024
MAPPING_MAX_BYTES: Final = 1 << 20
"""The largest area mapping file RoomDB reads (1 MiB; a real home needs a few KiB)."""
EXPORT_PROBE_BYTES: Final = 4096
SQLITE_HEADER_BYTES: Final = 100

LEGACY_EXPORT_PREFIX: Final = b'{\n  "status": "ok",\n  "schema_version": '
"""How every export file RoomDB has ever written starts."""
EXPORT_MARKER_KEY: Final = "exported_by"
EXPORT_MARKER_VALUE: Final = "roomdb"
_EXPORT_MARKER: Final = re.compile(
    rb'\A\s*\{(?:\s*"[a-z_]+"\s*:\s*(?:"[^"\\]*"|-?\d+)\s*,)*?'
    rb'\s*"' + EXPORT_MARKER_KEY.encode() + rb'"\s*:\s*"' + EXPORT_MARKER_VALUE.encode() + rb'"'
)
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
GENERATED_MAPPING_HEADER: Final = "# RoomDB area mapping"
_MAPPING_TOP_LEVEL: Final = re.compile(r"""["']?(version|rooms)["']?\s*:""")

_OPEN_FLAGS: Final = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_FD_DIRS: Final = ("/proc/self/fd", "/dev/fd")
"""Where this process's open descriptors are listed: Linux, then the BSDs and macOS."""
_OWN_OPENS: Final = threading.Lock()
"""Held from the open-files check until the descriptor opened after it is closed again."""

REASONS: Final[Mapping[str, str]] = {
    "path_invalid": "is not a valid file path",
    "path_absolute": "is absolute; use a path relative to the configuration folder",
    "path_outside_config": "leaves the configuration folder",
    "path_public": "is under www/, which is served without login",
    "path_is_database": "is RoomDB's live database (or one of its files)",
    "path_protected": "is one of Home Assistant's own (or hidden) files or folders",
    "path_wrong_suffix": "must end in {suffixes}",
    "path_not_file": "is a folder or a special file, not a regular file",
    "path_in_use": "is open in Home Assistant (a database or log in use)",
    "path_not_roomdb": "exists and was not written by RoomDB, which never replaces it",
    "path_unreadable": "cannot be checked ({error})",
}
"""English reasons for logs and mapping errors; the translations say the same."""


class UnsafePathError(ValueError):
    """A path the policy refuses; ``translation_key`` says why, ``placeholders`` fill the text."""

    def __init__(self, translation_key: str, path: str, **extra: str) -> None:
        """Keep the refused path (as the user gave it) and the reason."""
        self.translation_key = translation_key
        self.placeholders = {"path": path, **extra}
        self.reason = REASONS[translation_key].format(**extra)
        super().__init__(f'"{path}" {self.reason}')


class FileTooLargeError(OSError):
    """The file is larger than the caller reads."""

    def __init__(self, path: Path, size: int, limit: int) -> None:
        """Say how large the file is and what the limit is."""
        super().__init__(f"{path} has {size} bytes, more than the {limit} RoomDB reads")
        self.size = size
        self.limit = limit


def _is_export(head: bytes) -> bool:
    return head.startswith(LEGACY_EXPORT_PREFIX) or _EXPORT_MARKER.match(head) is not None


def _is_backup(head: bytes) -> bool:
    return (
        len(head) >= SQLITE_HEADER_BYTES
        and head.startswith(_SQLITE_MAGIC)
        and int.from_bytes(head[68:72], "big") == APPLICATION_ID
    )


def _is_mapping(content: bytes) -> bool:
    """RoomDB's generated mapping, or YAML whose top level holds only ``version`` and ``rooms``."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if text.startswith(GENERATED_MAPPING_HEADER):
        return True
    keys: set[str] = set()
    for line in text.splitlines():
        if not line.strip() or line[0] in " \t#" or line in ("---", "..."):
            continue
        match = _MAPPING_TOP_LEVEL.match(line)
        if match is None:
            return False
        keys.add(match.group(1))
    return "rooms" in keys


@dataclass(frozen=True, slots=True)
class _Purpose:
    suffixes: tuple[str, ...]
    probe_bytes: int
    recognise: Callable[[bytes], bool]


class PathPurpose(StrEnum):
    """What a path is for: it decides the suffix and how RoomDB's own files are recognised."""

    MAPPING = "mapping"
    EXPORT = "export"
    BACKUP = "backup"

    @property
    def rules(self) -> _Purpose:
        """Suffixes, and how much of an existing file shows that RoomDB wrote it."""
        return _PURPOSES[self]

    @property
    def suffixes(self) -> str:
        """The allowed suffixes, for messages (``.yaml or .yml``)."""
        return " or ".join(self.rules.suffixes)


_PURPOSES: Final = {
    PathPurpose.MAPPING: _Purpose((".yaml", ".yml"), MAPPING_MAX_BYTES, _is_mapping),
    PathPurpose.EXPORT: _Purpose((".json",), EXPORT_PROBE_BYTES, _is_export),
    PathPurpose.BACKUP: _Purpose((".db", ".sqlite", ".sqlite3"), SQLITE_HEADER_BYTES, _is_backup),
}


def resolve_config_path(config_dir: Path, user_path: str, purpose: PathPurpose) -> Path:
    """Return the absolute path for ``user_path`` inside ``config_dir``, or raise.

    Raises :class:`UnsafePathError`; an existing file is checked for its kind and for being open
    in this process, but not read (see :func:`ensure_replaceable` for writers).
    """
    pure = _parse(user_path)
    root = config_dir.resolve()
    try:
        resolved = (root / pure).resolve()
    except (OSError, RuntimeError) as err:
        raise UnsafePathError("path_invalid", user_path) from err
    if not resolved.is_relative_to(root) or resolved == root:
        raise UnsafePathError("path_outside_config", user_path)
    relative = PurePosixPath(resolved.relative_to(root).as_posix())
    for parts in (pure.parts, relative.parts):
        _check_names(parts, user_path)
    if user_path.rstrip().endswith(("/", "\\")):
        raise UnsafePathError("path_not_file", user_path)
    for name in (pure.name, relative.name):
        if not name.casefold().endswith(purpose.rules.suffixes):
            raise UnsafePathError("path_wrong_suffix", user_path, suffixes=purpose.suffixes)
    info = _stat(resolved, user_path)
    if info is not None:
        _check_existing(root, resolved, info, user_path)
    else:
        _check_parents(root, resolved, user_path)
    return resolved


def _check_parents(root: Path, path: Path, user_path: str) -> None:
    """A new file's nearest existing parent must be a folder: nothing lives inside a file."""
    parent = path.parent
    while parent != root and _stat(parent, user_path) is None:
        parent = parent.parent
    info = _stat(parent, user_path)
    if info is not None and not stat.S_ISDIR(info.st_mode):
        raise UnsafePathError("path_invalid", user_path)


def _parse(user_path: str) -> PurePosixPath:
    text = user_path.strip()
    if not text or any(ord(char) < 32 or ord(char) == 127 for char in text) or not _encodable(text):
        raise UnsafePathError("path_invalid", user_path)
    pure = PurePosixPath(text.replace("\\", "/"))
    if pure.is_absolute() or Path(text).is_absolute() or (pure.parts and ":" in pure.parts[0]):
        raise UnsafePathError("path_absolute", user_path)
    if ".." in pure.parts:
        raise UnsafePathError("path_outside_config", user_path)
    if not pure.parts or len(text.encode()) > MAX_PATH_BYTES:
        raise UnsafePathError("path_invalid", user_path)
    if any(len(part.encode()) > MAX_COMPONENT_BYTES for part in pure.parts):
        raise UnsafePathError("path_invalid", user_path)
    return pure


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_names(parts: tuple[str, ...], user_path: str) -> None:
    """The name rules, on the path as given or as resolved (relative to the config folder)."""
    folded = [part.casefold() for part in parts]
    top = folded[0]
    if top == PUBLIC_DIRNAME:
        raise UnsafePathError("path_public", user_path)
    if top.startswith(DATABASE_FILENAME):
        raise UnsafePathError("path_is_database", user_path)
    if (
        any(part.startswith(".") for part in folded)
        or top in PROTECTED_DIRNAMES
        or top in PROTECTED_FILENAMES
        or top.startswith(PROTECTED_PREFIX)
    ):
        raise UnsafePathError("path_protected", user_path)


def _stat(path: Path, user_path: str) -> os.stat_result | None:
    """``lstat`` of the resolved path; ``None`` when nothing is there (yet)."""
    try:
        return path.lstat()
    except FileNotFoundError, NotADirectoryError:
        return None
    except OSError as err:
        raise UnsafePathError("path_unreadable", user_path, error=str(err)) from err


def _identity(info: os.stat_result) -> tuple[int, int]:
    return (info.st_dev, info.st_ino)


def _check_existing(root: Path, path: Path, info: os.stat_result, user_path: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise UnsafePathError("path_not_file", user_path)
    database, protected = _protected_identities(root)
    identity = _identity(info)
    if identity in database:
        raise UnsafePathError("path_is_database", user_path)
    if identity in protected:
        raise UnsafePathError("path_protected", user_path)
    with _OWN_OPENS:
        _ensure_not_open_here(info, user_path)


def _protected_identities(root: Path) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """Inodes of RoomDB's database files, and of Home Assistant's files the rules protect.

    A hardlink has a harmless name; only its inode gives it away.
    """
    database: set[tuple[int, int]] = set()
    protected: set[tuple[int, int]] = set()
    for folder in (root, root / STORAGE_DIRNAME):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name.casefold()
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            if folder == root and name.startswith(DATABASE_FILENAME):
                database.add(_identity(info))
            elif (
                folder != root
                or name in PROTECTED_FILENAMES
                or name.startswith((".", PROTECTED_PREFIX))
            ):
                protected.add(_identity(info))
    return database, protected


def _open_identities() -> set[tuple[int, int]] | None:
    """``(st_dev, st_ino)`` of every file this process holds open; ``None`` when unknowable."""
    for fd_dir in _FD_DIRS:
        try:
            links = list(Path(fd_dir).iterdir())
        except OSError:
            continue
        found: set[tuple[int, int]] = set()
        for link in links:
            try:
                found.add(_identity(link.stat()))
            except OSError:
                continue
        return found
    return None


def _ensure_not_open_here(info: os.stat_result, user_path: str) -> None:
    """Refuse a file this process has open: closing our descriptor would drop its locks.

    Where open files cannot be listed, a file with several names is refused instead: a hardlink
    is the only way an allowed name reaches a database under a refused one.
    """
    open_now = _open_identities()
    if (open_now is None and info.st_nlink > 1) or (
        open_now is not None and _identity(info) in open_now
    ):
        raise UnsafePathError("path_in_use", user_path)


@contextmanager
def _open_checked(path: Path, shown: str) -> Iterator[tuple[int, os.stat_result]]:
    """Open a regular file that this process does not hold open, without ever blocking.

    Yields the descriptor and its ``fstat``; raises :class:`UnsafePathError` (``path_not_file``,
    ``path_in_use``, naming ``shown``) or ``OSError`` (``FileNotFoundError`` when it is not there).
    """
    before = path.lstat()
    if not stat.S_ISREG(before.st_mode):
        raise UnsafePathError("path_not_file", shown)
    with _OWN_OPENS:
        _ensure_not_open_here(before, shown)
        fd = os.open(path, _OPEN_FLAGS)
        try:
            info = os.fstat(fd)
            # Swapped for something else between the checks and the open: refuse it.
            if not stat.S_ISREG(info.st_mode) or _identity(info) != _identity(before):
                raise UnsafePathError("path_not_file", shown)
            yield fd, info
        finally:
            os.close(fd)


def _read_fd(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, min(remaining, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_regular_file(path: Path, limit: int) -> bytes:
    """The whole content of a regular file of at most ``limit`` bytes (checked before reading).

    Raises ``FileNotFoundError``, :class:`FileTooLargeError`, :class:`UnsafePathError` or another
    ``OSError``.
    """
    with _open_checked(path, str(path)) as (fd, info):
        if info.st_size > limit:
            raise FileTooLargeError(path, info.st_size, limit)
        data = _read_fd(fd, limit + 1)
    if len(data) > limit:
        raise FileTooLargeError(path, len(data), limit)
    return data


type WrittenFile = tuple[int, int, int, int]
"""``(st_dev, st_ino, st_size, st_mtime_ns)`` of a file RoomDB wrote: an inode number alone may
be reused by a file created after RoomDB's was deleted."""


def written_file(info: os.stat_result) -> WrittenFile:
    """What identifies a file RoomDB wrote, from its ``stat``."""
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def ensure_replaceable(
    path: Path,
    purpose: PathPurpose,
    user_path: str | None = None,
    *,
    written: WrittenFile | None = None,
) -> None:
    """Refuse to replace an existing file unless its content shows RoomDB wrote it.

    A missing file may be created. ``written`` is the file RoomDB itself put there last: when it
    is still there, nothing needs to be opened (something in Home Assistant may be reading it).
    Backups are also refused while the target has a ``-wal`` or ``-journal``: some SQLite program
    has it open, and a stale WAL would be replayed onto the copy.
    """
    shown = str(path) if user_path is None else user_path
    rules = purpose.rules
    if written is not None:
        try:
            if written_file(path.lstat()) == written:
                return
        except OSError:
            pass
    try:
        with _open_checked(path, shown) as (fd, info):
            if info.st_size > rules.probe_bytes and purpose is PathPurpose.MAPPING:
                raise UnsafePathError("path_not_roomdb", shown)
            head = _read_fd(fd, rules.probe_bytes)
    except FileNotFoundError, NotADirectoryError:
        return
    except OSError as err:
        raise UnsafePathError("path_unreadable", shown, error=str(err)) from err
    if not rules.recognise(head):
        raise UnsafePathError("path_not_roomdb", shown)
    if purpose is PathPurpose.BACKUP and any(
        Path(f"{path}{suffix}").exists() for suffix in SQLITE_COMPANIONS
    ):
        raise UnsafePathError("path_in_use", shown)


def resolve_target(config_dir: Path, user_path: str, purpose: PathPurpose) -> Path:
    """:func:`resolve_config_path` plus :func:`ensure_replaceable`: a path RoomDB may write."""
    path = resolve_config_path(config_dir, user_path, purpose)
    ensure_replaceable(path, purpose, user_path)
    return path
