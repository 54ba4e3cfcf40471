"""ProfileStore: ``sc4pac-profiles.json`` and each profile's spec and lock files.

All writes are atomic (:mod:`sc4pac.atomic`); read-modify-write sequences of one file never interleave
because each file family has an asyncio lock.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from . import wire
from .atomic import atomic_write_bytes
from .errors import (
    BadRequest,
    FileAccessDenied,
    InitNotAllowed,
    ProfileNotInitialized,
    ProfileReadError,
)
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

T = TypeVar("T")

PROFILES_FILE = "sc4pac-profiles.json"
SPEC_FILE = "sc4pac-plugins.json"
LOCK_FILE = "sc4pac-plugins-lock.json"

# Profile ids become directory names, so only plain tokens are allowed (the reference uses "1", "2", ...).
_PROFILE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

_ON_DISK_INDENT = 2


def encode_profile_file(obj: Any) -> bytes:
    """Profile JSON as the reference writes it: indent 2, no trailing newline."""
    return wire.encode(obj, indent=_ON_DISK_INDENT)


def _read(path: Path, type_: type[T], title: str) -> T | None:
    """A profile JSON file decoded, None when it does not exist, ProfileReadError when unreadable."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=type_)
    except FileNotFoundError:
        return None
    except (msgspec.DecodeError, OSError) as exc:
        raise ProfileReadError(title, f"Make sure the file is correctly formatted: {path}.\n{exc}") from exc


class ProfileStore:
    """The profiles dir: the profile list, settings, and each profile's spec and lock files."""

    def __init__(self, profiles_dir: Path) -> None:
        self.profiles_dir = profiles_dir
        self._index_lock = asyncio.Lock()
        self._profile_locks: dict[str, asyncio.Lock] = {}

    # --- the profile list and settings ----------------------------------------------------------

    def _profiles_path(self) -> Path:
        return self.profiles_dir / PROFILES_FILE

    def read_profiles(self) -> ProfilesFile:
        """The profile list; an empty one when the file does not exist yet."""
        found = _read(
            self._profiles_path(), ProfilesFile, f"Failed to read profiles JSON file {PROFILES_FILE}."
        )
        return found if found is not None else ProfilesFile(profiles=[], currentProfileId=[])

    async def _update_profiles(self, change: Callable[[ProfilesFile], ProfilesFile | None]) -> ProfilesFile:
        """Read, change and write the profile list under its lock; ``change`` returns None for no write."""
        async with self._index_lock:
            current = self.read_profiles()
            updated = change(current)
            if updated is not None:
                await asyncio.to_thread(
                    atomic_write_bytes, self._profiles_path(), encode_profile_file(updated)
                )
                return updated
            return current

    async def add_profile(self, name: str) -> ProfileEntry:
        """Create a profile with the smallest free numeric id and make it current."""
        created: list[ProfileEntry] = []

        def change(pf: ProfilesFile) -> ProfilesFile:
            used = {p.id for p in pf.profiles}
            n = 1
            while str(n) in used:
                n += 1
            entry = ProfileEntry(id=str(n), name=name)
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

    async def rename_profile(self, profile_id: str, name: str) -> None:
        """Rename an existing profile."""

        def change(pf: ProfilesFile) -> ProfilesFile:
            self._require_existing(pf, profile_id, "rename")
            profiles = [ProfileEntry(p.id, name) if p.id == profile_id else p for p in pf.profiles]
            return msgspec.structs.replace(pf, profiles=profiles)

        await self._update_profiles(change)

    async def remove_profile(self, profile_id: str) -> None:
        """Delete a profile and its config folder (never its Plugins or cache folders)."""

        def change(pf: ProfilesFile) -> ProfilesFile:
            self._require_existing(pf, profile_id, "remove")
            profile_dir = self.profiles_dir / profile_id
            if profile_dir.is_dir():
                subdirs = [p for p in profile_dir.iterdir() if p.is_dir() and not p.is_symlink()]
                if subdirs:
                    raise FileAccessDenied(
                        "File access denied. Check that you have permissions to access the file or directory.",
                        f"Failed to remove profile directory as it contains unexpected subdirectories: {profile_dir}",
                    )
                shutil.rmtree(profile_dir)
            remaining = [p for p in pf.profiles if p.id != profile_id]
            current = pf.currentProfileId
            if not current or current == [profile_id]:
                current = [remaining[-1].id] if remaining else []
            return msgspec.structs.replace(pf, profiles=remaining, currentProfileId=current)

        await self._update_profiles(change)

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

    def profile_lock(self, profile_id: str) -> asyncio.Lock:
        """The lock serialising read-modify-write of one profile's files in this process."""
        lock = self._profile_locks.get(profile_id)
        if lock is None:
            lock = self._profile_locks[profile_id] = asyncio.Lock()
        return lock

    def read_spec(self, profile_id: str) -> PluginsSpec:
        """The profile's spec; 409 when not initialized, 500 when unreadable."""
        profile_dir = self.profile_dir(profile_id)
        spec = _read(profile_dir / SPEC_FILE, PluginsSpec, f"Failed to read profile JSON file {SPEC_FILE}.")
        if spec is None:
            raise ProfileNotInitialized(
                "Profile not initialized.",
                "Profile JSON file does not exist.",
                platformDefaults=platform_defaults(profile_dir.absolute()),
            )
        return spec

    def spec_exists(self, profile_id: str) -> bool:
        return (self.profile_dir(profile_id) / SPEC_FILE).exists()

    async def write_spec(self, profile_id: str, spec: PluginsSpec) -> None:
        """Atomically replace the profile's spec file."""
        path = self.profile_dir(profile_id) / SPEC_FILE
        await asyncio.to_thread(atomic_write_bytes, path, encode_profile_file(spec))

    async def modify_spec(
        self,
        profile_id: str,
        change: Callable[[PluginsSpec], PluginsSpec | Awaitable[PluginsSpec | None] | None],
    ) -> PluginsSpec:
        """Read-modify-write the spec under the profile lock; ``change`` returns None for no write."""
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

        def change(spec: PluginsSpec) -> PluginsSpec | None:
            merged = list(dict.fromkeys([*spec.explicit, *packages]))
            return None if merged == spec.explicit else msgspec.structs.replace(spec, explicit=merged)

        await self.modify_spec(profile_id, change)

    async def remove_explicit(self, profile_id: str, packages: list[str], *, hint: str) -> None:
        """Remove packages from the explicit list; all must be in it (else BadRequest with ``hint``)."""

        def change(spec: PluginsSpec) -> PluginsSpec | None:
            missing = [p for p in packages if p not in spec.explicit]
            if missing:
                raise BadRequest(f"Package is not among explicitly added plugins: {', '.join(missing)}", hint)
            remaining = [p for p in spec.explicit if p not in set(packages)]
            return None if remaining == spec.explicit else msgspec.structs.replace(spec, explicit=remaining)

        await self.modify_spec(profile_id, change)

    def read_lock(self, profile_id: str) -> PluginsLock | None:
        """The profile's lock file, or None if no update has created it yet."""
        path = self.profile_dir(profile_id) / LOCK_FILE
        return _read(path, PluginsLock, f"Failed to read profile lock file {LOCK_FILE}.")

    def write_lock_sync(self, profile_id: str, lock: PluginsLock) -> None:
        """Atomically replace the lock file (synchronous: used inside the publish step)."""
        atomic_write_bytes(self.profile_dir(profile_id) / LOCK_FILE, encode_profile_file(lock))

    async def mark_for_reinstall(self, profile_id: str, packages: list[str], *, redownload: bool) -> bool:
        """Flag installed packages for reinstallation (and re-download); True if any was installed.

        With ``redownload`` the ids are also recorded for packages that are only pending installation,
        so a failed or cancelled install can be retried with fresh downloads.
        """
        wanted = set(packages)
        async with self.profile_lock(profile_id):
            lock = self.read_lock(profile_id)
            if lock is None:
                if not redownload:
                    return False
                lock = empty_lock()
            matched = False
            installed = []
            for entry in lock.installed:
                if entry.id in wanted and not entry.reinstall:
                    entry = msgspec.structs.replace(entry, reinstall=True)
                matched = matched or entry.id in wanted
                installed.append(entry)
            marks = list(dict.fromkeys([*lock.redownload, *packages])) if redownload else lock.redownload
            updated = msgspec.structs.replace(lock, installed=installed, redownload=marks)
            if updated != lock:
                await asyncio.to_thread(self.write_lock_sync, profile_id, updated)
            return matched

    async def init_profile(self, profile_id: str, plugins: str, cache: str, temp: str) -> ProfileConfig:
        """Create the spec file and folders of a new profile."""
        profile_dir = self.profile_dir(profile_id)
        async with self.profile_lock(profile_id):
            if (profile_dir / SPEC_FILE).exists() or (profile_dir / LOCK_FILE).exists():
                raise InitNotAllowed(
                    "Profile already initialized.",
                    "Manually delete the corresponding .json files if you are sure you want to initialize a new profile.",
                )
            plugins_path = resolve_in(profile_dir, plugins)
            cache_path = resolve_in(profile_dir, cache)
            for d in (profile_dir, plugins_path, cache_path):
                d.mkdir(parents=True, exist_ok=True)
            config = ProfileConfig(
                pluginsRoot=relativize(profile_dir, plugins_path),
                cacheRoot=relativize(profile_dir, cache_path),
                tempRoot=temp,
                variant={},
                channels=list(DEFAULT_CHANNELS),
            )
            await self.write_spec(profile_id, PluginsSpec(config=config, explicit=[]))
            return config

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
