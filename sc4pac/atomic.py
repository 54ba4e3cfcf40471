"""Atomic file replacement: temp file in the same directory, flush + fsync, rename over the target.

Before the rename the previous version is kept as ``<name>.bak`` (when it is a good one), so a state file
damaged later (a forced shutdown that zero-fills or truncates it) can be recovered from its backup.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .errors import NEEDED_BYTES_ATTR, is_disk_full

log = logging.getLogger(__name__)

BACKUP_SUFFIX = ".bak"
DAMAGED_SUFFIX = ".damaged"

# ``.<name>.<8 hex>.tmp``: the temp files of this module, left behind only by a killed process.
TEMP_FILE_PATTERN = re.compile(r"\..+\.[0-9a-f]{8}\.tmp")

# Windows: an antivirus or indexer briefly opening the target makes the rename fail (sharing violation).
_REPLACE_ATTEMPTS = 10
_REPLACE_RETRY_SECONDS = 0.05

Validator = Callable[[bytes], bool]
T = TypeVar("T")


def creating_folders(path: Path, create: Callable[[], T]) -> T:
    """``create()``, which makes the file ``path``; its missing folders are made first if it fails for
    want of them. Made on demand, not looked up before each file: that lookup costs more than the
    file itself on a busy disk, hundreds of times per update."""
    try:
        return create()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return create()


def backup_path(path: Path) -> Path:
    """Where the previous good version of ``path`` is kept."""
    return path.with_name(path.name + BACKUP_SUFFIX)


def looks_damaged(data: bytes) -> bool:
    """True for the typical remains of a forced shutdown: an empty, blank or zero-filled file."""
    return not data.strip(b"\x00 \t\r\n")


def atomic_write_bytes(
    path: Path,
    data: bytes,
    *,
    backup: bool = True,
    previous_ok: Validator | None = None,
    durable: bool = True,
) -> None:
    """Replace ``path`` with ``data`` so that readers see either the old or the new file, never a mix.

    With ``backup`` the current file is first kept as ``<name>.bak`` unless it looks damaged (or
    ``previous_ok`` rejects it), so the backup always holds the last good version. ``durable=False``
    skips the fsyncs, for files that can be fetched again (metadata in the download cache).
    """
    tmp = _temp_name(path)
    try:
        creating_folders(path, lambda: _write_new(tmp, data, durable))
        if backup:
            _keep_previous(path, previous_ok)
        _replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        if exc.filename is None:  # a failed write() names no file: the folder is what the user needs
            exc.filename = str(tmp)
        if is_disk_full(exc):
            setattr(exc, NEEDED_BYTES_ATTR, 2 * len(data))  # the new file and the backup
        raise
    except BaseException:
        _discard(tmp)
        raise
    if durable:
        _fsync_dir(path.parent)


def _discard(tmp: Path) -> None:
    # Never hides the error being raised: when the folder is a file, deleting in it fails too.
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)


def restore_from_backup(path: Path) -> bytes | None:
    """Put the backup of a damaged ``path`` back in its place; the damaged file is kept as
    ``<name>.damaged`` for inspection. Returns the restored bytes (None when there is no backup)."""
    try:
        good = backup_path(path).read_bytes()
    except FileNotFoundError:
        return None
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, path.with_name(path.name + DAMAGED_SUFFIX))
    atomic_write_bytes(path, good, backup=False)
    return good


def has_stale_temp_files(directory: Path) -> bool:
    """Whether ``directory`` holds temp files of this module (a listing, no lock: the caller then
    removes them under its lock with :func:`remove_stale_temp_files`)."""
    try:
        return any(TEMP_FILE_PATTERN.fullmatch(name) for name in os.listdir(directory))
    except OSError:
        return False


def remove_stale_temp_files(directory: Path) -> list[Path]:
    """Delete temp files of this module left in ``directory`` by a killed process (no recursion).

    The caller must hold whatever lock the writers of that directory take, or a live write would fail.
    """
    removed: list[Path] = []
    try:
        children = list(directory.iterdir())
    except OSError:
        return removed
    for child in children:
        if TEMP_FILE_PATTERN.fullmatch(child.name) and child.is_file():
            try:
                child.unlink()
            except OSError as exc:
                log.warning("Could not delete the leftover temp file %s: %s", child, exc)
                continue
            removed.append(child)
    return removed


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def _write_new(tmp: Path, data: bytes, durable: bool = True) -> None:
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        if durable:
            os.fsync(f.fileno())
    if os.name != "nt":
        os.chmod(tmp, 0o644)


def _keep_previous(path: Path, previous_ok: Validator | None) -> None:
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        return
    if looks_damaged(current) or (previous_ok is not None and not previous_ok(current)):
        # Never let a damaged file push the last good version out of the backup.
        log.warning("Not keeping a backup of %s: it is damaged", path)
        return
    target = backup_path(path)
    tmp = _temp_name(target)
    try:
        try:
            # A hard link keeps the old data without copying it (the old file is already durable).
            os.link(path, tmp)
        except (OSError, NotImplementedError):
            _write_new(tmp, current)
        _replace(tmp, target)
        # A rename between two names of one file succeeds and does nothing (POSIX): the backup already
        # was the current file (its writer was killed between the backup and its own rename), and the
        # temp name would stay behind.
        tmp.unlink(missing_ok=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _replace(source: Path, target: Path) -> None:
    for attempt in range(_REPLACE_ATTEMPTS):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if os.name != "nt" or attempt == _REPLACE_ATTEMPTS - 1:
                raise
            time.sleep(_REPLACE_RETRY_SECONDS)


def _fsync_dir(directory: Path) -> None:
    # The rename itself is only durable once the directory entry is flushed (POSIX only).
    if os.name == "nt":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
