"""The export document, its canonical JSON, and atomic file writes.

:func:`build_export` turns ``room_configs`` rows into the public export document;
:func:`write_atomic` puts a document on disk so that a reader sees the old file or the new one,
never a partial one. Both are plain blocking code meant for the executor.

The document carries ``"exported_by": "roomdb"``: that is how RoomDB recognises an export file it
may replace. Every ``config_data`` in it is one Home Assistant's serializer (orjson) can encode;
a stored text that is not (a row an older RoomDB accepted: nested deeper than orjson goes, an
integer beyond 64 bits, a number beyond a double) is exported as its raw text.
"""

from __future__ import annotations

from collections.abc import Iterable
import contextlib
from datetime import datetime
import json
import math
import os
from pathlib import Path
import tempfile
from typing import Any, Final

import orjson

from ..paths import EXPORT_MARKER_KEY, EXPORT_MARKER_VALUE, WrittenFile, written_file
from ..timestamps import stored_iso

type ExportRow = tuple[str, str, str, int, str | datetime | None]
"""``(config_domain, room_id, config_data JSON text, version, updated_at)``."""

FILE_MODE: Final = 0o644
ORJSON_OPTIONS: Final = orjson.OPT_NON_STR_KEYS
"""The options Home Assistant's ``json_bytes`` encodes responses with."""


def canonical_json(data: Any) -> str:
    """Compact JSON with sorted keys: equal strings mean an identical payload (no version bump).

    Raises ``ValueError`` for NaN/infinity and ``TypeError`` for values JSON cannot hold.
    """
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is beyond a double")
    return value


def exportable_config(text: str) -> tuple[Any, bool]:
    """A stored config as the export shows it, and whether that is the parsed value.

    The raw text is shown instead when it is not JSON or when Home Assistant's serializer could
    not encode what it parses to.
    """
    try:
        value = json.loads(text, parse_float=_finite)
        orjson.dumps(value, option=ORJSON_OPTIONS)
    except TypeError, ValueError, RecursionError:
        return text, False
    return value, True


def build_export(
    rows: Iterable[ExportRow], schema_version: int, generated_at: str | datetime
) -> dict[str, Any]:
    """The export document; valid (empty ``counts`` and ``by_domain``) when there are no rows.

    Domains and rooms are sorted. A ``config_data`` the write path would not store today is
    exported as its raw text rather than dropped (see :func:`exportable_config`).
    """
    by_domain: dict[str, dict[str, dict[str, Any]]] = {}
    for domain, room_id, config_text, version, updated_at in rows:
        by_domain.setdefault(domain, {})[room_id] = {
            "config_data": exportable_config(config_text)[0],
            "version": version,
            "updated_at": stored_iso(updated_at),
        }
    ordered = {domain: dict(sorted(by_domain[domain].items())) for domain in sorted(by_domain)}
    return {
        "status": "ok",
        "schema_version": schema_version,
        EXPORT_MARKER_KEY: EXPORT_MARKER_VALUE,
        "generated_at": stored_iso(generated_at),
        "counts": {domain: len(rooms) for domain, rooms in ordered.items()},
        "by_domain": ordered,
    }


def dumps_document(document: Any, *, indent: int | None = 2) -> bytes:
    """The bytes :func:`write_atomic` writes (UTF-8 JSON, trailing newline)."""
    return (json.dumps(document, ensure_ascii=False, indent=indent) + "\n").encode()


def write_atomic(path: Path, document: Any, *, indent: int | None = 2) -> None:
    """Write ``document`` as JSON to ``path`` atomically (blocking; run in the executor)."""
    write_bytes_atomic(path, dumps_document(document, indent=indent))


def write_bytes_atomic(path: Path, data: bytes) -> WrittenFile:
    """Replace ``path`` with ``data`` so that no partial file is ever observable.

    Writes a temp file in the same directory, fsyncs it, ``os.replace``s it over ``path`` and
    fsyncs the directory. The parent directory is created if needed; on failure the temp file is
    removed and ``path`` is untouched. Returns what identifies the file written.
    """
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), FILE_MODE)
            written = written_file(os.fstat(handle.fileno()))
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_directory(directory)
    return written


def fsync_directory(directory: Path) -> None:
    """Make the rename durable; not every platform/file system can fsync a directory."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
