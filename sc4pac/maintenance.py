"""Plugins-folder maintenance: repair (orphaned folders, incomplete packages) and verify (file records)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path, PurePosixPath

from .errors import FileOperationsFailed
from .install import manifest
from .install.manifest import Manifest, PackageCheck
from .models.messages import RepairPlan
from .models.profile import PluginsLock
from .profiles import ProfileStore
from .removal import remove_path
from .wire import WireStruct

MAX_SCAN_DEPTH = 8
PACKAGE_FOLDER_SUFFIX = ".sc4pac"


def _orphans(plugins_root: Path, recorded: set[str]) -> list[str]:
    """``*.sc4pac`` folders not recorded in the lock and not inside another ``*.sc4pac`` folder."""
    found: list[str] = []

    def walk(folder: Path, rel: PurePosixPath, depth: int) -> None:
        if depth > MAX_SCAN_DEPTH:
            return
        try:
            children = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for child in children:
            if not child.is_dir(follow_symlinks=False):
                continue
            child_rel = rel / child.name
            if child.name.endswith(PACKAGE_FOLDER_SUFFIX):
                # Never descend: folders inside a package folder belong to that package.
                if child_rel.as_posix() not in recorded:
                    found.append(child_rel.as_posix())
                continue
            walk(Path(child.path), child_rel, depth + 1)

    walk(plugins_root, PurePosixPath(), 1)
    return sorted(found, key=lambda p: (p.count("/"), p))


def _incomplete(plugins_root: Path, lock: PluginsLock) -> list[str]:
    """Installed packages any of whose recorded files is missing (a broken symlink counts as missing)."""
    return [
        entry.id
        for entry in lock.installed
        if any(not os.path.exists(plugins_root / rel) for rel in entry.files if rel.strip("/"))
    ]


def scan(plugins_root: Path, lock: PluginsLock | None) -> RepairPlan:
    """What a repair would fix in ``plugins_root``."""
    if not plugins_root.is_dir():
        raise FileOperationsFailed(
            "Plugins folder does not exist.", f"Plugins folder does not exist: {plugins_root}"
        )
    lock = lock or PluginsLock(scheme=2, installed=[], assets=[])
    recorded = {PurePosixPath(f).as_posix() for entry in lock.installed for f in entry.files}
    return RepairPlan(
        incompletePackages=_incomplete(plugins_root, lock), orphanFiles=_orphans(plugins_root, recorded)
    )


async def scan_repair(store: ProfileStore, profile_id: str) -> RepairPlan:
    """Scan a profile's Plugins folder (off the event loop)."""
    spec = store.read_spec(profile_id)
    lock = store.read_lock(profile_id)
    return await asyncio.to_thread(scan, store.plugins_root(profile_id, spec.config), lock)


async def apply_repair(store: ProfileStore, profile_id: str, plan: RepairPlan) -> bool:
    """Delete the orphans and mark incomplete packages for reinstall; True if an update is needed now."""
    spec = store.read_spec(profile_id)
    plugins_root = store.plugins_root(profile_id, spec.config)

    def delete() -> None:
        for rel in plan.orphanFiles:
            target = plugins_root / rel
            # Only ever delete package folders inside the Plugins folder, whatever the plan says.
            if (
                target.name.endswith(PACKAGE_FOLDER_SUFFIX)
                and plugins_root.resolve() in target.resolve().parents
            ):
                try:
                    remove_path(target)
                except OSError as exc:
                    raise FileOperationsFailed(
                        "Failed to delete an orphaned folder.", f"{target}: {exc}"
                    ) from exc

    await asyncio.to_thread(delete)
    if not plan.incompletePackages:
        return False
    return await store.mark_for_reinstall(profile_id, plan.incompletePackages, redownload=False)


# --- verify -------------------------------------------------------------------------------------


class VerifyReport(WireStruct, kw_only=True):
    """The outcome of comparing the installed packages' files with what was recorded at install time.

    ``damaged`` lists packages with missing, changed or added files; ``unrecorded`` the packages installed
    before files were recorded (by the reference server or an older version), checked only for missing
    package folders.
    """

    checked: int
    damaged: list[PackageCheck]
    unrecorded: list[str]


def verify(plugins_root: Path, lock: PluginsLock | None, recorded: Manifest) -> VerifyReport:
    """Compare every installed package's files with ``recorded`` (reads and hashes the files)."""
    damaged: list[PackageCheck] = []
    unrecorded: list[str] = []
    installed = lock.installed if lock is not None else []
    for entry in installed:
        check = manifest.check_package(plugins_root, entry.id, entry.files, recorded.packages.get(entry.id))
        if not check.recorded:
            unrecorded.append(entry.id)
        if check.damaged:
            damaged.append(check)
    return VerifyReport(checked=len(installed), damaged=damaged, unrecorded=sorted(unrecorded))


async def verify_plugins(store: ProfileStore, profile_id: str) -> VerifyReport:
    """Verify a profile's installed packages (off the event loop: it reads every installed file)."""
    spec = store.read_spec(profile_id)
    lock = store.read_lock(profile_id)
    recorded = manifest.read_manifest(store.profile_dir(profile_id) / manifest.MANIFEST_FILE)
    return await asyncio.to_thread(verify, store.plugins_root(profile_id, spec.config), lock, recorded)


async def reinstall_damaged(store: ProfileStore, profile_id: str, report: VerifyReport) -> list[str]:
    """Mark the damaged packages of ``report`` for reinstallation by the next update; returns their ids."""
    packages = [check.package for check in report.damaged]
    if packages:
        await store.mark_for_reinstall(profile_id, packages, redownload=False)
    return packages
