"""Which folders may serve as a profile's Plugins folder, and what to warn about when one is chosen.

A Plugins folder shared by two profiles gets corrupted (one profile's start-up cleanup deletes the
other's publish work, repair calls the other's packages orphans), and one that is a drive root, the home
folder or a system folder would let package removals and repairs touch the user's or the system's files.
The rules take the path flavour as a parameter so tests can check the Windows rules (``ntpath``,
case-insensitive) on any machine.
"""

from __future__ import annotations

import ntpath
import os
import posixpath
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

# Windows' classic limit for a full path (MAX_PATH is 260 including the terminating NUL).
WINDOWS_MAX_PATH = 259
# What files of typical packages add below the Plugins folder: a category folder, a
# ``group.name.variant.version.sc4pac`` folder and the archive's own subfolders and file names.
TYPICAL_PACKAGE_PATH_CHARS = 150
# What staging adds below the temp folder before a package's own path: ``staging-process<12 hex>\plugins\``.
STAGING_PREFIX_CHARS = len("staging-process000000000000/plugins/")


@dataclass(frozen=True)
class PathRules:
    """How paths compare on one operating system, and which folders are off limits there."""

    pathmod: ModuleType
    case_insensitive: bool
    home: str
    # Refused, and so is everything inside them.
    system_trees: tuple[str, ...]
    # Refused themselves (a Plugins folder inside them is fine).
    system_folders: tuple[str, ...]
    windows: bool

    def key(self, path: str) -> str:
        """``path`` normalised for comparisons (separators, ``..``, and case where the OS ignores it)."""
        normal: str = self.pathmod.normpath(path)
        if self.windows:
            normal = ntpath.normcase(normal)
        if self.case_insensitive:
            normal = normal.casefold()
        return normal

    def is_root(self, path: str) -> bool:
        key = self.key(path)
        return bool(self.pathmod.dirname(key) == key)

    def is_inside(self, path: str, folder: str) -> bool:
        """True when ``path`` lies strictly inside ``folder``."""
        child, parent = self.key(path), self.key(folder)
        if child == parent:
            return False
        sep = self.pathmod.sep
        prefix = parent if parent.endswith(sep) else parent + sep
        return child.startswith(prefix)

    def same(self, a: str, b: str) -> bool:
        return self.key(a) == self.key(b)


def _existing(names: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(n for n in names if n)


def rules_for_this_machine() -> PathRules:
    """The rules of the running operating system."""
    home = str(Path.home())
    if os.name == "nt":
        env = os.environ.get
        windir = env("SystemRoot") or env("windir") or "C:\\Windows"
        system_drive = env("SystemDrive") or "C:"
        return PathRules(
            pathmod=ntpath,
            case_insensitive=True,
            home=home,
            system_trees=_existing([windir]),
            system_folders=_existing(
                [
                    env("ProgramFiles"),
                    env("ProgramFiles(x86)"),
                    env("ProgramW6432"),
                    env("ProgramData"),
                    ntpath.join(system_drive + "\\", "Users"),
                ]
            ),
            windows=True,
        )
    trees: tuple[str, ...] = (
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/proc",
        "/sbin",
    )
    trees += ("/sys", "/usr", "/System", "/private/etc")
    folders: tuple[str, ...] = (
        "/home",
        "/Users",
        "/var",
        "/opt",
        "/srv",
        "/root",
        "/tmp",
        "/mnt",
        "/media",
        "/run",
    )
    folders += ("/Volumes", "/Applications", "/Library", "/private", "/private/var", "/private/tmp")
    return PathRules(
        pathmod=posixpath,
        case_insensitive=sys.platform == "darwin",
        home=home,
        system_trees=trees,
        system_folders=folders,
        windows=False,
    )


def plugins_folder_conflict(
    candidate: str, other_profiles: Iterable[tuple[str, str, str]], rules: PathRules
) -> str | None:
    """Why ``candidate`` (an absolute path) cannot be a Plugins folder, or None when it can.

    ``other_profiles`` holds ``(id, name, absolute Plugins folder)`` of every other profile.
    """
    if rules.is_root(candidate):
        return f"{candidate} is the root of a drive or file system; choose a folder inside it."
    if rules.same(candidate, rules.home):
        return (
            f"{candidate} is your home folder; choose a folder inside it (e.g. Documents/SimCity 4/Plugins)."
        )
    if rules.is_inside(rules.home, candidate):
        return f"{candidate} contains your home folder {rules.home}; choose a folder inside your home folder."
    for tree in rules.system_trees:
        if rules.same(candidate, tree) or rules.is_inside(candidate, tree):
            return f"{candidate} is a system folder ({tree}); choose a folder in your home folder."
    for folder in rules.system_folders:
        if rules.same(candidate, folder):
            return f"{candidate} is a system folder; choose a folder in your home folder."
    for pid, name, plugins in other_profiles:
        owner = f'profile {pid} ("{name}")'
        if rules.same(candidate, plugins):
            return f"{candidate} is already the Plugins folder of {owner}. Each profile needs its own Plugins folder."
        if rules.is_inside(candidate, plugins):
            return f"{candidate} lies inside {plugins}, the Plugins folder of {owner}."
        if rules.is_inside(plugins, candidate):
            return f"{candidate} contains {plugins}, the Plugins folder of {owner}."
    return None


def _nearest_existing(path: Path) -> Path | None:
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            return None
        probe = probe.parent
    return probe


def _on_other_volume(a: Path, b: Path, rules: PathRules) -> bool:
    if rules.windows and ntpath.splitdrive(str(a))[0].lower() != ntpath.splitdrive(str(b))[0].lower():
        return True
    ea, eb = _nearest_existing(a), _nearest_existing(b)
    if ea is None or eb is None:
        return False
    try:
        return ea.stat().st_dev != eb.stat().st_dev
    except OSError:
        return False


def _under_onedrive(path: str, rules: PathRules) -> bool:
    roots = _existing(os.environ.get(v) for v in ("OneDrive", "OneDriveConsumer", "OneDriveCommercial"))
    if any(rules.same(path, r) or rules.is_inside(path, r) for r in roots):
        return True
    parts = rules.key(path).replace("\\", "/").split("/")
    return any(part.casefold().startswith("onedrive") for part in parts)


def folder_warnings(plugins: Path, temp: Path, rules: PathRules) -> list[str]:
    """Things about the chosen folders that still work but often cause trouble."""
    warnings: list[str] = []
    if _under_onedrive(str(plugins), rules):
        warnings.append(
            f"The Plugins folder {plugins} is inside OneDrive. OneDrive may make files online-only or lock "
            "them while syncing, which makes installations fail; consider a folder outside OneDrive or mark "
            'it "Always keep on this device".'
        )
    if rules.windows:
        budget = WINDOWS_MAX_PATH - TYPICAL_PACKAGE_PATH_CHARS
        for label, folder, extra in (("Plugins", plugins, 0), ("temp", temp, STAGING_PREFIX_CHARS)):
            length = len(str(folder)) + 1 + extra
            if length > budget:
                warnings.append(
                    f"The {label} folder path {folder} is {len(str(folder))} characters long. Files of typical "
                    f"packages add up to {TYPICAL_PACKAGE_PATH_CHARS + extra} more, beyond Windows' limit of "
                    f"{WINDOWS_MAX_PATH + 1} characters per path unless long paths are enabled; choose a "
                    "shorter path."
                )
    if _on_other_volume(plugins, temp, rules):
        warnings.append(
            f"The temp folder {temp} is on another drive than the Plugins folder {plugins}. Installing still "
            "works but copies every file instead of moving it, which is slower and needs more free space."
        )
    return warnings
