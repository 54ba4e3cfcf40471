"""Publishing staged packages into the Plugins folder, crash-safe through a journal.

The steps:

1. Staged files are first moved into a hidden folder *inside* the Plugins root, so every later move is a
   rename on one file system (atomic per package folder).
2. A journal naming every removal, every install and the new lock file is written atomically.
3. Old paths are renamed into a hidden trash folder (or straight into the kept generation of an undo
   store on the same volume), new paths renamed into place, the lock file is written, then trash, the
   hidden folder and the journal are deleted.

Every step of 3 is idempotent, so after a crash :func:`recover` simply runs it again from the journal:
each package folder is then either entirely old or entirely new, and the lock file describes what is on
disk. A crash before the journal exists leaves the Plugins folder and the lock untouched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from ..atomic import atomic_write_bytes
from ..models.profile import PluginsLock
from ..removal import remove_path
from ..wire import WireStruct

log = logging.getLogger(__name__)

JOURNAL_FILE = "sc4pac-publish-journal.json"
HIDDEN_PREFIX = ".sc4pac-publish-"

# Seconds to sleep after each rename; fault-injection tests set it to widen the window for a kill.
_PAUSE_ENV = "SC4PAC_FAULT_PUBLISH_PAUSE"

LockWriter = Callable[[PluginsLock], None]


class Journal(WireStruct):
    """What a publish is going to do, written before the first change to the Plugins folder."""

    plugins_root: str
    work_dir: str  # the hidden folder inside the Plugins root (holds ``new/`` and ``trash/``)
    removals: list[str]
    installs: list[str]
    lock: PluginsLock
    # Undo (sc4pac.history): installs taken from kept folders outside Plugins instead of ``new/``, and
    # where the removed paths are kept instead of deleted. Empty for a plain update.
    sources: dict[str, str] = {}
    keep_dir: str = ""
    # Where removed paths are moved: the kept generation itself when it is on the Plugins volume
    # (one rename per folder, nothing to move afterwards); empty: ``trash/`` in ``work_dir``.
    removed_to: str = ""


DAMAGED_JOURNAL_SUFFIX = ".damaged"


@dataclass
class PublishReport:
    warnings: list[str] = field(default_factory=list)
    failed_paths: list[str] = field(default_factory=list)
    # The journal of an interrupted publish could not be read: its work was discarded, so packages it
    # was replacing may now be incomplete (the caller flags them for reinstallation).
    journal_damaged: bool = False


_pause_seconds = 0.0  # read from the environment once per publish (an undo pauses hundreds of times)


def _pause() -> None:
    if _pause_seconds:
        time.sleep(_pause_seconds)


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _move(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target`` (replacing a stale target); copy where a rename is impossible."""
    if not os.path.lexists(target):
        try:
            os.replace(source, target)  # the common case in one system call (undo renames hundreds)
            return
        except OSError:
            pass  # no parent folder yet, another volume, a locked folder: the careful way below
    target.parent.mkdir(parents=True, exist_ok=True)
    if _exists(target):
        remove_path(target)
    try:
        os.replace(source, target)
    except OSError:
        # Another volume or a locked folder on Windows: fall back to copy + delete.
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
        elif source.is_dir():
            shutil.copytree(source, target, symlinks=True)
        else:
            shutil.copy2(source, target, follow_symlinks=False)
        remove_path(source)


def prepare(plugins_root: Path, staging_plugins: Path, installs: list[str]) -> Path:
    """Move the staged paths into a hidden work folder inside the Plugins root; returns that folder."""
    work = plugins_root / f"{HIDDEN_PREFIX}{secrets.token_hex(4)}"
    if not installs:
        return work  # nothing staged (an undo): the folder appears with the first removed path
    new = work / "new"
    new.mkdir(parents=True)
    for rel in installs:
        source = staging_plugins / rel
        if _exists(source):
            _move(source, new / rel)
    return work


def publish(
    journal_path: Path,
    plugins_root: Path,
    work_dir: Path,
    removals: list[str],
    installs: list[str],
    new_lock: PluginsLock,
    write_lock: LockWriter,
    *,
    sources: Mapping[str, str | Path] | None = None,
    keep_dir: Path | None = None,
) -> PublishReport:
    """Record the journal, then apply it (see the module docstring).

    ``sources`` maps install paths to folders outside the Plugins root that are moved in instead of
    staged files; with ``keep_dir`` the removed paths are moved there instead of being deleted."""
    removed_to = str(keep_dir) if keep_dir is not None and _same_volume(plugins_root, keep_dir) else ""
    journal = Journal(
        str(plugins_root),
        str(work_dir),
        removals,
        installs,
        new_lock,
        sources={rel: os.fspath(path) for rel, path in (sources or {}).items()},
        keep_dir=str(keep_dir) if keep_dir is not None else "",
        removed_to=removed_to,
    )
    atomic_write_bytes(journal_path, msgspec.json.encode(journal), backup=False)
    return _apply(journal_path, journal, write_lock)


def recover(journal_path: Path, write_lock: LockWriter) -> PublishReport | None:
    """Finish an interrupted publish recorded in ``journal_path``; None if there was nothing to do."""
    try:
        journal = msgspec.json.decode(journal_path.read_bytes(), type=Journal)
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.error("Cannot read the publish journal %s: %s", journal_path, exc)
        return None
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        # Written atomically, so only a damaged disk or a forced shutdown before the data reached the disk
        # gets here. Without it the interrupted steps cannot be completed: keep it aside for inspection,
        # so the hidden work folder is discarded and the next update repairs what is missing.
        damaged = journal_path.with_name(journal_path.name + DAMAGED_JOURNAL_SUFFIX)
        log.error("The publish journal %s is damaged (%s); moved it to %s", journal_path, exc, damaged.name)
        os.replace(journal_path, damaged)
        return PublishReport(warnings=[f"damaged publish journal: {exc}"], journal_damaged=True)
    log.warning("Completing an interrupted installation recorded in %s", journal_path)
    return _apply(journal_path, journal, write_lock)


_DRIVE = re.compile(r"^[A-Za-z]:")


def plain_relative(rel: str) -> bool:
    """Whether ``rel`` (a path from the lock file) names something strictly inside the Plugins folder
    under both POSIX and Windows rules: not empty, not absolute, no drive, UNC or ``..``.

    The lock file is a state file a person or another tool may have edited; a removal listed there must
    never reach outside the Plugins folder (``../Documents`` or ``C:\\Users``).
    """
    name = rel.replace("\\", "/")
    if name.startswith("/") or _DRIVE.match(name):
        return False
    segments = [s for s in name.split("/") if s not in ("", ".")]
    return bool(segments) and ".." not in segments


def device_of(path: Path) -> int | None:
    """The device (volume) of ``path`` or of its nearest existing ancestor."""
    for candidate in (path, *path.parents):
        try:
            return candidate.stat().st_dev
        except OSError:
            continue
    return None


def _same_volume(plugins_root: Path, keep_dir: Path) -> bool:
    """Whether ``keep_dir`` (or its nearest existing parent) is on the volume of ``plugins_root``."""
    device = device_of(plugins_root)
    return device is not None and device_of(keep_dir) == device


def _removal_root(journal: Journal) -> str:
    return journal.removed_to or os.path.join(journal.work_dir, "trash")


def _apply(journal_path: Path, journal: Journal, write_lock: LockWriter) -> PublishReport:
    global _pause_seconds
    _pause_seconds = float(os.environ.get(_PAUSE_ENV) or 0)
    report = PublishReport()
    # Plain strings, not Paths: an undo moves hundreds of folders, and building Path objects would
    # cost more than the renames themselves.
    plugins = journal.plugins_root
    work = Path(journal.work_dir)
    new, trash = work / "new", _removal_root(journal)
    installs = set(journal.installs)
    # An undo stages nothing: with ``new/`` empty, one listing replaces an lstat per install.
    staged = _has_entries(new)
    renamer = _Renamer([*journal.removals, *journal.installs])
    try:
        _apply_moves(journal, plugins, new, trash, installs, staged, renamer, report)
    finally:
        renamer.close()
    write_lock(journal.lock)
    _pause()
    if not journal.removed_to:
        _keep_removed(Path(trash), journal.keep_dir, report)
    try:
        _remove_work(work)
    except OSError as exc:
        report.warnings.append(f"Failed to clean up {work}: {exc}")
    journal_path.unlink(missing_ok=True)
    for warning in report.warnings:
        log.warning(warning)
    return report


def _apply_moves(
    journal: Journal,
    plugins: str,
    new: Path,
    trash: str,
    installs: set[str],
    staged: bool,
    renamer: _Renamer,
    report: PublishReport,
) -> None:
    for rel in journal.removals:
        if not plain_relative(rel):
            # An empty path would mean the whole Plugins folder, others would leave it.
            if rel.strip("/"):
                report.warnings.append(f"Not removed, as it is not a path inside the Plugins folder: {rel!r}")
            continue
        if rel in installs and _pending_source(journal, new, rel, staged) is None:
            continue  # already replaced by the new version in an earlier run
        target = os.path.join(plugins, rel)
        try:
            moved = _move_if_present(target, os.path.join(trash, rel), rel, renamer)
        except OSError as exc:
            report.failed_paths.append(rel)
            report.warnings.append(f"Failed to remove {Path(target)}: {exc}")
            moved = True
        if moved:
            _pause()
        elif not rel.lower().endswith(".ini"):
            report.warnings.append(f"removal failed as file did not exist: {Path(target)}")
    for rel in journal.installs:
        if not plain_relative(rel):
            # Installs of an undo come from the history, a state file like the lock: same rule.
            report.failed_paths.append(rel)
            report.warnings.append(f"Not installed, as it is not a path inside the Plugins folder: {rel!r}")
            continue
        kept = journal.sources.get(rel)
        try:
            if staged and os.path.lexists(new / rel):
                _move(new / rel, Path(plugins, rel))
            elif not kept or not _move_if_present(kept, os.path.join(plugins, rel), rel, renamer):
                continue  # installed in an earlier run, or nothing was staged under this name
        except OSError as exc:
            report.failed_paths.append(rel)
            report.warnings.append(f"Failed to move {rel} into the Plugins folder: {exc}")
        _pause()


def _has_entries(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is not None
    except OSError:
        return False


def _move_if_present(source: str, target: str, rel: str, renamer: _Renamer) -> bool:
    """:func:`_move`, or False (nothing done) when ``source`` does not exist.

    The common case is one rename without lookups: a rename replaces a file or an empty folder in its
    way just as :func:`_move` does, and what it cannot do (a missing parent folder, a non-empty
    folder in the way, another volume, a locked folder) goes the careful way of :func:`_move`."""
    try:
        renamer.replace(source, target, rel)
        return True
    except OSError:
        if not os.path.lexists(source):
            return False
    _move(Path(source), Path(target))
    return True


_RENAME_AT = os.rename in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")


class _Renamer:
    """``os.replace`` through handles of the parent folders where the OS allows it: one path lookup
    per folder instead of two per rename (an undo renames hundreds of package folders that sit side by
    side). Parent folders that this publish itself moves are always named by path, so a handle never
    points to a folder that was moved away since."""

    def __init__(self, moved: list[str]) -> None:
        self._moved = {_segments(rel) for rel in moved}
        self._stable: dict[str, bool] = {}
        self._handles: dict[str, int] = {}

    def replace(self, source: str, target: str, rel: str) -> None:
        if _RENAME_AT and self._is_stable(rel):
            # POSIX paths (the only ones with handles): "/" separates, and an empty name (a path
            # ending in "/") takes the path-based way below.
            source_dir, _, source_name = source.rpartition("/")
            target_dir, _, target_name = target.rpartition("/")
            source_fd, target_fd = self._handle(source_dir), self._handle(target_dir)
            if source_name and target_name and source_fd is not None and target_fd is not None:
                os.replace(source_name, target_name, src_dir_fd=source_fd, dst_dir_fd=target_fd)
                return
        os.replace(source, target)

    def _is_stable(self, rel: str) -> bool:
        """Whether no path this publish moves is the parent folder of ``rel`` or one of its parents."""
        parent = rel.rstrip("/").rpartition("/")[0]
        stable = self._stable.get(parent)
        if stable is None:
            parts = _segments(parent)
            stable = all(parts[:n] not in self._moved for n in range(1, len(parts) + 1))
            self._stable[parent] = stable
        return stable

    def _handle(self, folder: str) -> int | None:
        fd = self._handles.get(folder)
        if fd is None:
            try:
                fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            except OSError:
                return None  # not there yet (created on the careful way), asked again next time
            self._handles[folder] = fd
        return fd

    def close(self) -> None:
        for fd in self._handles.values():
            os.close(fd)
        self._handles.clear()


def _segments(rel: str) -> tuple[str, ...]:
    # Case-folded: on a case-insensitive file system ``150-Mods`` is the folder ``150-mods``.
    return tuple(s.casefold() for s in rel.split("/") if s not in ("", "."))


def _remove_work(work: Path) -> None:
    # Usually empty folders (``work`` and its ``new/``, if any): rmdir calls instead of a tree walk.
    try:
        with contextlib.suppress(FileNotFoundError):
            os.rmdir(work / "new")
        os.rmdir(work)
    except FileNotFoundError:
        return
    except OSError:
        remove_path(work)


def _pending_source(journal: Journal, new: Path, rel: str, staged: bool = True) -> Path | None:
    """Where the install ``rel`` still waits: staged in ``new/`` (when anything is), or kept outside
    Plugins (undo)."""
    staged_path = new / rel
    if staged and os.path.lexists(staged_path):
        return staged_path
    kept = journal.sources.get(rel)
    return Path(kept) if kept and os.path.lexists(kept) else None


def _keep_removed(trash: Path, keep_dir: str, report: PublishReport) -> None:
    # Idempotent: once the trash is renamed it is gone; a copy across volumes interrupted by a crash
    # is merged into the partial target by the next run.
    if not keep_dir or not _exists(trash):
        return
    keep = Path(keep_dir)
    try:
        if not _exists(keep):
            _move(trash, keep)
        else:
            for child in list(trash.iterdir()):
                _move(child, keep / child.name)
    except OSError as exc:
        report.warnings.append(f"Could not keep the removed package folders for undo: {exc}")


def needs_recovery(plugins_root: Path, journal_path: Path) -> bool:
    """Whether an interrupted publish left a journal or hidden work folders (checked without a lock:
    whoever finds work then does it under the profile lock, where it is looked at again)."""
    if _exists(journal_path):
        return True
    try:
        return any(name.startswith(HIDDEN_PREFIX) for name in os.listdir(plugins_root))
    except OSError:
        return False


def discard_unjournaled_work(plugins_root: Path, journal_path: Path) -> None:
    """Delete hidden work folders left by a crash before their journal was written."""
    if _exists(journal_path) or not plugins_root.is_dir():
        return
    for child in plugins_root.iterdir():
        if child.name.startswith(HIDDEN_PREFIX) and child.is_dir():
            remove_path(child)
