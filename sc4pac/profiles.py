"""ProfileStore: ``sc4pac-profiles.json`` and each profile's spec and lock files.

All writes are atomic (:mod:`sc4pac.atomic`) and keep the previous good version as ``<name>.bak``; a
damaged file (empty, zero-filled, truncated) is restored from it automatically, with a notice. Read-modify-
write sequences never interleave, within this process nor with other sc4pac processes (CLI and daemon
share the profiles dir): each file family has an asyncio lock plus an OS file lock
(:mod:`sc4pac.filelock`), the profile list ``.sc4pac-profiles.lock`` in the profiles dir and each profile
``.sc4pac-profile.lock`` in its folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from . import wire
from .atomic import (
    atomic_write_bytes,
    backup_path,
    has_stale_temp_files,
    remove_stale_temp_files,
    restore_from_backup,
)
from .errors import (
    BadRequest,
    FileAccessDenied,
    InitBadRequest,
    InitNotAllowed,
    ProfileBusy,
    ProfileNotInitialized,
    ProfileReadError,
    file_access_denied,
    is_access_denied,
    is_disk_full,
    listing,
)
from .filelock import InterProcessLock
from .locations import platform_defaults
from .models.profile import (
    DEFAULT_CHANNELS,
    PluginsLock,
    PluginsSpec,
    ProfileConfig,
    ProfileEntry,
    ProfilesFile,
    empty_lock,
)
from .notices import notify
from .off_loop import off_loop_if_large
from .plugins_folder import PathRules, folder_warnings, plugins_folder_conflict, rules_for_this_machine
from .removal import wait_for_removals
from .winnames import shown

T = TypeVar("T")
AbstractAsyncLock = contextlib.AbstractAsyncContextManager[None]

log = logging.getLogger(__name__)

PROFILES_FILE = "sc4pac-profiles.json"
SPEC_FILE = "sc4pac-plugins.json"
LOCK_FILE = "sc4pac-plugins-lock.json"
# Kept generations of removed package folders (sc4pac.history.generations); removed with the profile.
KEPT_FOLDER = "sc4pac-kept"
# OS file locks (see the module docstring); the update lock is held by a running update of the profile.
PROFILES_LOCK_FILE = ".sc4pac-profiles.lock"
PROFILE_LOCK_FILE = ".sc4pac-profile.lock"
UPDATE_LOCK_FILE = ".sc4pac-update.lock"

# Waiting for another process's OS lock: a short poll keeps waits brief and the event loop free.
_LOCK_POLL_SECONDS = 0.005
_LOCK_POLL_MAX_SECONDS = 0.05

# Profile ids become directory names, so only plain tokens are allowed (the reference uses "1", "2", ...).
_PROFILE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

_ON_DISK_INDENT = 2


def encode_profile_file(obj: Any) -> bytes:
    """Profile JSON as the reference writes it: indent 2, no trailing newline."""
    return wire.encode(obj, indent=_ON_DISK_INDENT)


def _decoder(type_: type[T]) -> Callable[[bytes], T]:
    def decode(data: bytes) -> T:
        return msgspec.json.decode(data, type=type_)

    return decode


def _decodes(type_: type[Any]) -> Callable[[bytes], bool]:
    """A validator for :func:`atomic_write_bytes`: does the previous file still decode?"""

    def ok(data: bytes) -> bool:
        try:
            msgspec.json.decode(data, type=type_)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return False
        return True

    return ok


def _damaged_detail(path: Path, exc: Exception) -> str:
    return (
        f"The file {path} is damaged ({exc}) and there is no usable backup ({backup_path(path).name}). "
        "This happens when the computer is switched off while the file is written. Open the file and fix "
        f"it, or restore it from a copy of your own; deleting it starts over ({_what_deleting_loses(path)})."
    )


def _what_deleting_loses(path: Path) -> str:
    if path.name == PROFILES_FILE:
        return "the list of profiles and the GUI settings are lost; the profile folders stay"
    if path.name == SPEC_FILE:
        return "the profile must be initialized again and its packages added again"
    return "the next update reinstalls the profile's packages"


def _file_lock(path: Path) -> InterProcessLock:
    """The lock of the profile list or of one profile's files. Its file is kept: every change to a
    profile takes it, and an update several times (the update lock, whose presence tells other
    processes that an update runs, is still removed)."""
    return InterProcessLock(path, keep_file=True)


def _read(path: Path, type_: type[T], title: str, lock_path: Path) -> T | None:
    """A profile JSON file decoded; None when it does not exist.

    A damaged file is recovered from its backup (restored in place when no other writer holds
    ``lock_path``), with a notice; ProfileReadError when there is no usable backup.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        if is_access_denied(exc):
            raise file_access_denied(exc, path) from exc
        raise ProfileReadError(title, f"Could not read {path}: {exc}") from exc
    decode = _decoder(type_)
    try:
        return decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        recovered = _recover(path, decode, lock_path)
        if recovered is None:
            raise ProfileReadError(title, _damaged_detail(path, exc), path=str(path)) from exc
        return recovered


def _recover(path: Path, decode: Callable[[bytes], T], lock_path: Path) -> T | None:
    """The content of the backup of damaged ``path`` (restored in place when we may write), or None."""
    try:
        value = decode(backup_path(path).read_bytes())
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None
    guard = _file_lock(lock_path)
    restored = False
    try:
        # Restore only while no one else may be writing (else a write made meanwhile could be undone);
        # a writer that holds the lock replaces the damaged file anyway.
        if guard.try_acquire():
            try:
                still_damaged = True
                try:
                    decode(path.read_bytes())
                    still_damaged = False
                except (msgspec.DecodeError, msgspec.ValidationError):
                    pass
                if still_damaged:
                    restore_from_backup(path)
                    restored = True
            finally:
                guard.release()
    except OSError as exc:
        log.warning("Could not restore %s from its backup: %s", path, exc)
    how = (
        f"the damaged file was kept as {path.name}.damaged"
        if restored
        else "it is replaced on the next change"
    )
    notify(f"{path} was damaged and has been recovered from its backup {backup_path(path).name} ({how}).")
    return value


@dataclass
class InitializedProfile:
    """A freshly initialized profile's folders, and what is worth warning about them."""

    config: ProfileConfig
    warnings: list[str] = field(default_factory=list)


def _make_folder(folder: Path, profile_dir: Path) -> None:
    """Create a folder the player chose; a path that cannot be a folder is their input to correct."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as exc:
        if isinstance(exc, OSError) and (is_access_denied(exc) or is_disk_full(exc)):
            raise
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InitBadRequest(
            "This folder cannot be used.",
            f"{shown(str(folder))}: {reason}. Choose a folder path that is not a file, not inside a file, "
            "not too long and without control characters.",
            platformDefaults=platform_defaults(profile_dir.absolute()),
        ) from exc


class ProfileStore:
    """The profiles dir: the profile list, settings, and each profile's spec and lock files."""

    def __init__(self, profiles_dir: Path, *, path_rules: PathRules | None = None) -> None:
        self.profiles_dir = profiles_dir
        self.path_rules = path_rules or rules_for_this_machine()
        self._index_lock = asyncio.Lock()
        self._profile_locks: dict[str, asyncio.Lock] = {}

    # --- inter-process locks --------------------------------------------------------------------

    @asynccontextmanager
    async def _os_locked(self, local: asyncio.Lock, path: Path) -> AsyncIterator[None]:
        # The asyncio lock queues this process's own writers; the OS lock excludes other processes.
        async with local:
            guard = _file_lock(path)
            await guard.acquire(poll_interval=_LOCK_POLL_SECONDS, max_interval=_LOCK_POLL_MAX_SECONDS)
            try:
                yield
            finally:
                guard.release()

    @contextmanager
    def _os_locked_sync(self, path: Path) -> Iterator[None]:
        """The OS lock alone, for code running in a worker thread (blocks that thread while waiting)."""
        guard = _file_lock(path)
        interval = _LOCK_POLL_SECONDS
        while not guard.try_acquire():
            time.sleep(interval)
            interval = min(interval * 1.5, _LOCK_POLL_MAX_SECONDS)
        try:
            yield
        finally:
            guard.release()

    def index_lock(self) -> AbstractAsyncLock:
        """Serialises read-modify-write of ``sc4pac-profiles.json`` across tasks and processes."""
        return self._os_locked(self._index_lock, self.profiles_dir / PROFILES_LOCK_FILE)

    # --- the profile list and settings ----------------------------------------------------------

    def _profiles_path(self) -> Path:
        return self.profiles_dir / PROFILES_FILE

    def read_profiles(self) -> ProfilesFile:
        """The profile list; an empty one when the file does not exist yet."""
        found = _read(
            self._profiles_path(),
            ProfilesFile,
            f"Failed to read profiles JSON file {PROFILES_FILE}.",
            self.profiles_dir / PROFILES_LOCK_FILE,
        )
        return found if found is not None else ProfilesFile(profiles=[], currentProfileId=[])

    def _write_profiles(self, pf: ProfilesFile) -> None:
        atomic_write_bytes(self._profiles_path(), encode_profile_file(pf), previous_ok=_decodes(ProfilesFile))

    async def _update_profiles(self, change: Callable[[ProfilesFile], ProfilesFile | None]) -> ProfilesFile:
        """Read, change and write the profile list under its lock; ``change`` returns None for no write."""
        async with self.index_lock():
            current = self.read_profiles()
            updated = change(current)
            if updated is not None:
                await asyncio.to_thread(self._write_profiles, updated)
                return updated
            return current

    async def add_profile(self, name: str, *, unique_name: bool = False) -> ProfileEntry:
        """Create a profile with the smallest free numeric id and make it current.

        ``unique_name`` refuses a name another profile has (the CLI selects profiles by name; the API,
        like the reference, selects by id and allows repeated names).
        """
        created: list[ProfileEntry] = []

        def change(pf: ProfilesFile) -> ProfilesFile:
            name_checked = _checked_profile_name(pf, name, renaming=None, unique=unique_name)
            used = {p.id for p in pf.profiles}
            n = 1
            while str(n) in used:
                n += 1
            entry = ProfileEntry(id=str(n), name=name_checked)
            created.append(entry)
            return msgspec.structs.replace(pf, profiles=[*pf.profiles, entry], currentProfileId=[entry.id])

        await self._update_profiles(change)
        return created[0]

    @staticmethod
    def _require_existing(pf: ProfilesFile, profile_id: str, purpose: str) -> None:
        if not any(p.id == profile_id for p in pf.profiles):
            raise BadRequest(
                f'Profile ID "{profile_id}" does not exist.',
                f"Make sure to only {purpose} existing profiles.",
            )

    async def switch_profile(self, profile_id: str) -> None:
        """Make an existing profile the current one."""

        def change(pf: ProfilesFile) -> ProfilesFile | None:
            self._require_existing(pf, profile_id, "switch to")
            if pf.currentProfileId == [profile_id]:
                return None
            return msgspec.structs.replace(pf, currentProfileId=[profile_id])

        await self._update_profiles(change)

    async def rename_profile(self, profile_id: str, name: str, *, unique_name: bool = False) -> None:
        """Rename an existing profile (``unique_name`` as for :meth:`add_profile`)."""

        def change(pf: ProfilesFile) -> ProfilesFile:
            self._require_existing(pf, profile_id, "rename")
            name_checked = _checked_profile_name(pf, name, renaming=profile_id, unique=unique_name)
            profiles = [ProfileEntry(p.id, name_checked) if p.id == profile_id else p for p in pf.profiles]
            return msgspec.structs.replace(pf, profiles=profiles)

        await self._update_profiles(change)

    async def remove_profile(self, profile_id: str) -> None:
        """Delete a profile and its config folder (never its Plugins or cache folders).

        Refused while an update of the profile runs in any process: the update would write its files
        into the deleted folder again and block the id.
        """
        async with self.index_lock():
            pf = self.read_profiles()
            self._require_existing(pf, profile_id, "remove")
            profile_dir = self.profile_dir(profile_id)
            update_guard = InterProcessLock(profile_dir / UPDATE_LOCK_FILE)
            if profile_dir.is_dir() and not update_guard.try_acquire():
                raise ProfileBusy(
                    f'Cannot remove profile "{profile_id}" while it is being updated.',
                    "Wait until the update has finished or cancel it (close its window in the GUI, or press "
                    "Ctrl+C in the terminal running sc4pac), then remove the profile.",
                )
            try:
                async with self.profile_lock(profile_id):
                    await asyncio.to_thread(_delete_profile_folder, profile_dir)
                    remaining = [p for p in pf.profiles if p.id != profile_id]
                    current = pf.currentProfileId
                    if not current or current == [profile_id]:
                        current = [remaining[-1].id] if remaining else []
                    updated = msgspec.structs.replace(pf, profiles=remaining, currentProfileId=current)
                    await asyncio.to_thread(self._write_profiles, updated)
            finally:
                update_guard.release()
            _remove_empty_folder(profile_dir)

    def read_settings(self) -> Any:
        """The GUI's opaque settings value (``{}`` when none is stored)."""
        return self.read_profiles().settings

    async def write_settings(self, settings: Any) -> None:
        """Replace the stored settings."""
        await self._update_profiles(lambda pf: msgspec.structs.replace(pf, settings=settings))

    # --- one profile --------------------------------------------------------------------------

    def profile_dir(self, profile_id: str) -> Path:
        """The directory of a profile; rejects ids that are not plain tokens (never a path)."""
        if not _PROFILE_ID.fullmatch(profile_id):
            raise BadRequest(
                f'Invalid profile ID "{profile_id}".',
                'Profile IDs are the identifiers returned by /profiles.list, such as "1".',
            )
        return self.profiles_dir / profile_id

    def profile_lock(self, profile_id: str) -> AbstractAsyncLock:
        """The lock serialising read-modify-write of one profile's files, across tasks and processes."""
        lock = self._profile_locks.get(profile_id)
        if lock is None:
            lock = self._profile_locks[profile_id] = asyncio.Lock()
        return self._os_locked(lock, self.profile_dir(profile_id) / PROFILE_LOCK_FILE)

    @contextmanager
    def profile_lock_sync(self, profile_id: str) -> Iterator[None]:
        """The profile's OS lock for code in a worker thread (never while this process holds it)."""
        with self._os_locked_sync(self.profile_dir(profile_id) / PROFILE_LOCK_FILE):
            yield

    def read_spec(self, profile_id: str) -> PluginsSpec:
        """The profile's spec; 409 when not initialized, 400 for an unknown profile, 500 when unreadable."""
        profile_dir = self.profile_dir(profile_id)
        spec = _read(
            profile_dir / SPEC_FILE,
            PluginsSpec,
            f"Failed to read profile JSON file {SPEC_FILE}.",
            profile_dir / PROFILE_LOCK_FILE,
        )
        if spec is None:
            if not any(p.id == profile_id for p in self.read_profiles().profiles):
                # Only a listed profile can be initialized: suggesting folders for it would mislead.
                raise BadRequest(
                    f'Profile ID "{profile_id}" does not exist.',
                    "Use an id from the profile list, or create the profile first.",
                )
            raise ProfileNotInitialized(
                "Profile not initialized.",
                "Profile JSON file does not exist.",
                platformDefaults=platform_defaults(profile_dir.absolute()),
            )
        return spec

    def spec_exists(self, profile_id: str) -> bool:
        return (self.profile_dir(profile_id) / SPEC_FILE).exists()

    async def write_spec(self, profile_id: str, spec: PluginsSpec) -> None:
        """Atomically replace the profile's spec file (the caller holds :meth:`profile_lock`)."""
        path = self.profile_dir(profile_id) / SPEC_FILE
        # Encoding happens in the worker thread too: a spec of a bulk import is several MB.
        await asyncio.to_thread(
            lambda: atomic_write_bytes(path, encode_profile_file(spec), previous_ok=_decodes(PluginsSpec))
        )

    async def modify_spec(
        self,
        profile_id: str,
        change: Callable[[PluginsSpec], PluginsSpec | Awaitable[PluginsSpec | None] | None],
    ) -> PluginsSpec:
        """Read-modify-write the spec under the profile lock; ``change`` returns None for no write."""
        self.read_spec(profile_id)  # a missing profile fails here, before its lock creates its folder
        async with self.profile_lock(profile_id):
            spec = self.read_spec(profile_id)
            changed = change(spec)
            updated = await changed if isinstance(changed, Awaitable) else changed
            if updated is None:
                return spec
            await self.write_spec(profile_id, updated)
            return updated

    async def add_explicit(self, profile_id: str, packages: list[str]) -> None:
        """Append packages to the explicit list (keeping order, without repeats)."""

        def merge(spec: PluginsSpec) -> PluginsSpec | None:
            merged = list(dict.fromkeys([*spec.explicit, *packages]))
            return None if merged == spec.explicit else msgspec.structs.replace(spec, explicit=merged)

        await self.modify_spec(
            profile_id, lambda spec: off_loop_if_large(len(spec.explicit) + len(packages), merge, spec)
        )

    async def remove_explicit(self, profile_id: str, packages: list[str], *, hint: str) -> None:
        """Remove packages from the explicit list; all must be in it (else BadRequest with ``hint``)."""

        unwanted = set(packages)  # sets, not lists: a bulk removal must stay linear

        def remove(spec: PluginsSpec) -> PluginsSpec | None:
            added = set(spec.explicit)
            missing = [p for p in dict.fromkeys(packages) if p not in added]
            if missing:
                raise BadRequest(f"Package is not among explicitly added plugins: {listing(missing)}", hint)
            remaining = [p for p in spec.explicit if p not in unwanted]
            return None if remaining == spec.explicit else msgspec.structs.replace(spec, explicit=remaining)

        await self.modify_spec(
            profile_id, lambda spec: off_loop_if_large(len(spec.explicit) + len(packages), remove, spec)
        )

    def read_lock(self, profile_id: str) -> PluginsLock | None:
        """The profile's lock file, or None if no update has created it yet."""
        profile_dir = self.profile_dir(profile_id)
        return _read(
            profile_dir / LOCK_FILE,
            PluginsLock,
            f"Failed to read profile lock file {LOCK_FILE}.",
            profile_dir / PROFILE_LOCK_FILE,
        )

    def write_lock_sync(self, profile_id: str, lock: PluginsLock) -> None:
        """Atomically replace the lock file (synchronous: used inside the publish step).

        The caller holds :meth:`profile_lock` (or :meth:`profile_lock_sync`).
        """
        atomic_write_bytes(
            self.profile_dir(profile_id) / LOCK_FILE,
            encode_profile_file(lock),
            previous_ok=_decodes(PluginsLock),
        )

    def clean_leftovers(self, profile_id: str | None = None) -> list[Path]:
        """Delete temp files of killed writers in the profiles dir (``None``) or a profile's folder.

        Only when no other process holds the folder's lock, since its writers create these files.
        """
        if profile_id is None:
            folder, lock_path = self.profiles_dir, self.profiles_dir / PROFILES_LOCK_FILE
        else:
            folder = self.profile_dir(profile_id)
            lock_path = folder / PROFILE_LOCK_FILE
        if not has_stale_temp_files(folder):
            return []  # the common case: no lock file to create and delete
        guard = _file_lock(lock_path)
        if not guard.try_acquire():
            return []
        try:
            removed = remove_stale_temp_files(folder)
        finally:
            guard.release()
        for path in removed:
            log.info("Deleted %s, left behind by an interrupted sc4pac process", path)
        return removed

    async def mark_for_reinstall(self, profile_id: str, packages: list[str], *, redownload: bool) -> bool:
        """Flag installed packages for reinstallation (and re-download); True if any was installed.

        With ``redownload`` the ids are also recorded for packages that are only pending installation,
        so a failed or cancelled install can be retried with fresh downloads.
        """
        wanted = set(packages)
        self.read_spec(profile_id)  # a missing profile fails here, before its lock creates its folder
        async with self.profile_lock(profile_id):
            lock = self.read_lock(profile_id)
            if lock is None:
                if not redownload:
                    return False
                lock = empty_lock()

            def mark(lock: PluginsLock) -> tuple[PluginsLock, bool]:
                matched = False
                installed = []
                for entry in lock.installed:
                    if entry.id in wanted and not entry.reinstall:
                        entry = msgspec.structs.replace(entry, reinstall=True)
                    matched = matched or entry.id in wanted
                    installed.append(entry)
                marks = list(dict.fromkeys([*lock.redownload, *packages])) if redownload else lock.redownload
                return msgspec.structs.replace(lock, installed=installed, redownload=marks), matched

            updated, matched = await off_loop_if_large(len(lock.installed) + len(packages), mark, lock)
            if updated != lock:
                await asyncio.to_thread(self.write_lock_sync, profile_id, updated)
            return matched

    async def init_profile(self, profile_id: str, plugins: str, cache: str, temp: str) -> InitializedProfile:
        """Create the spec file and folders of a new profile.

        Refuses (InitBadRequest) a Plugins folder that is, contains or lies inside another profile's, or
        that is a drive root, the home folder or a system folder.
        """
        profile_dir = self.profile_dir(profile_id)
        # The profile-list lock keeps two profiles from claiming one Plugins folder at the same time.
        async with self.index_lock(), self.profile_lock(profile_id):
            if (profile_dir / SPEC_FILE).exists() or (profile_dir / LOCK_FILE).exists():
                raise InitNotAllowed(
                    "Profile already initialized.",
                    "Manually delete the corresponding .json files if you are sure you want to initialize a new profile.",
                )
            plugins_path = resolve_in(profile_dir, plugins)
            cache_path = resolve_in(profile_dir, cache)
            temp_path = resolve_in(profile_dir, temp)
            conflict = plugins_folder_conflict(
                _real(plugins_path), self._other_plugins_folders(profile_id), self.path_rules
            )
            if conflict is not None:
                raise InitBadRequest(
                    "This Plugins folder cannot be used.",
                    conflict,
                    platformDefaults=platform_defaults(profile_dir.absolute()),
                )
            for d in (profile_dir, plugins_path, cache_path):
                _make_folder(d, profile_dir)
            config = ProfileConfig(
                pluginsRoot=relativize(profile_dir, plugins_path),
                cacheRoot=relativize(profile_dir, cache_path),
                tempRoot=temp,
                variant={},
                channels=list(DEFAULT_CHANNELS),
            )
            await self.write_spec(profile_id, PluginsSpec(config=config, explicit=[]))
            warnings = folder_warnings(plugins_path, temp_path, self.path_rules)
            for warning in warnings:
                log.warning("Profile %s: %s", profile_id, warning)
            return InitializedProfile(config, warnings)

    def _other_plugins_folders(self, profile_id: str) -> list[tuple[str, str, str]]:
        """``(id, name, real Plugins folder)`` of every other initialized, readable profile."""
        found = []
        for entry in self.read_profiles().profiles:
            if entry.id == profile_id:
                continue
            try:
                if not self.spec_exists(entry.id):
                    continue
                config = self.read_spec(entry.id).config
            except Exception as exc:  # a damaged other profile must not block this one
                log.warning("Skipping profile %s when checking Plugins folders: %s", entry.id, exc)
                continue
            found.append((entry.id, entry.name, _real(self.plugins_root(entry.id, config))))
        return found

    # --- resolved folders ------------------------------------------------------------------------

    def plugins_root(self, profile_id: str, config: ProfileConfig) -> Path:
        return resolve_in(self.profile_dir(profile_id), config.pluginsRoot)

    def cache_root(self, profile_id: str, config: ProfileConfig) -> Path:
        return resolve_in(self.profile_dir(profile_id), config.cacheRoot)

    def temp_root(self, profile_id: str, config: ProfileConfig) -> Path:
        return resolve_in(self.profile_dir(profile_id), config.tempRoot)


def resolve_in(base: Path, value: str) -> Path:
    """A stored folder: absolute as is, relative against the profile dir (normalised, not resolved)."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = base.absolute() / path
    return Path(_normalize(path))


def relativize(base: Path, path: Path) -> str:
    """A folder as stored in the spec: relative to the profile dir when inside it, else absolute."""
    base_n = Path(_normalize(base.absolute()))
    path_n = Path(_normalize(path))
    try:
        rel = path_n.relative_to(base_n)
    except ValueError:
        return str(path_n)
    return rel.as_posix() if str(rel) != "." else "."


def _normalize(path: Path) -> str:
    return os.path.normpath(str(path))


def _checked_profile_name(pf: ProfilesFile, name: str, *, renaming: str | None, unique: bool) -> str:
    """``name`` itself; refused when blank, or (``unique``) when another profile has it (ignoring case)."""
    stripped = name.strip()
    if not stripped:
        raise BadRequest("The profile name is empty.", 'Give the profile a name, e.g. "My region".')
    for entry in pf.profiles if unique else ():
        if entry.id != renaming and entry.name.casefold() == stripped.casefold():
            raise BadRequest(
                f'A profile named "{entry.name}" exists already (ID {entry.id}).',
                "Choose another name, or switch to that profile.",
            )
    return name


def _real(path: Path) -> str:
    """``path`` with symlinks resolved where it exists (two names for one folder are one folder)."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return str(path)


_LOCK_NAMES = frozenset({PROFILE_LOCK_FILE, UPDATE_LOCK_FILE})


def _delete_profile_folder(profile_dir: Path) -> None:
    """Delete a profile's config folder except the lock files held meanwhile (removed on release)."""
    if not profile_dir.is_dir():
        return
    children = list(profile_dir.iterdir())
    subdirs = [p for p in children if p.is_dir() and not p.is_symlink() and p.name != KEPT_FOLDER]
    if subdirs:
        raise FileAccessDenied(
            "File access denied. Check that you have permissions to access the file or directory.",
            f"Failed to remove profile directory as it contains unexpected subdirectories: {profile_dir}",
        )
    for child in children:
        if child.name == KEPT_FOLDER and child.is_dir() and not child.is_symlink():
            wait_for_removals(child)  # pruned generations still being deleted in the background
            shutil.rmtree(child)  # the kept package folders of undo (sc4pac.history)
        elif child.name not in _LOCK_NAMES:
            child.unlink(missing_ok=True)


def _remove_empty_folder(folder: Path) -> None:
    # After the locks are released; on Windows another process may still have a lock file open.
    try:
        (folder / PROFILE_LOCK_FILE).unlink(missing_ok=True)  # kept by its lock, not needed now
        folder.rmdir()
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.info("Could not delete the folder %s yet: %s", folder, exc)
