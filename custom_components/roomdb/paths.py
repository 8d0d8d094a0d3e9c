"""Confine user-supplied file paths to the Home Assistant config directory.

Paths from services and flows are untrusted: they must be relative, stay inside the config
directory after `..` and symlinks are resolved, and never land under `www/`, which HA serves without
authentication. `resolve_config_path` touches the file system (symlink resolution), so callers run
it in the executor.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

PUBLIC_DIRNAME = "www"


class UnsafePathError(ValueError):
    """A path that would leave the config directory or expose data; `translation_key` says how."""

    def __init__(self, translation_key: str, path: str) -> None:
        """Keep the rejected path for the error message."""
        super().__init__(f"{translation_key}: {path}")
        self.translation_key = translation_key
        self.path = path


def resolve_config_path(config_dir: Path, user_path: str) -> Path:
    """Return the absolute path for `user_path` inside `config_dir`, or raise `UnsafePathError`."""
    text = user_path.strip()
    if not text or "\x00" in text:
        raise UnsafePathError("path_invalid", user_path)
    pure = PurePosixPath(text.replace("\\", "/"))
    if pure.is_absolute() or Path(text).is_absolute() or (pure.parts and ":" in pure.parts[0]):
        raise UnsafePathError("path_absolute", user_path)
    if ".." in pure.parts:
        raise UnsafePathError("path_outside_config", user_path)
    root = config_dir.resolve()
    resolved = (root / pure).resolve()
    if not resolved.is_relative_to(root) or resolved == root:
        raise UnsafePathError("path_outside_config", user_path)
    if resolved.relative_to(root).parts[0] == PUBLIC_DIRNAME:
        raise UnsafePathError("path_public", user_path)
    return resolved
