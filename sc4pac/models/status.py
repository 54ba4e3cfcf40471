"""Local package status as the API reports it (installed and/or explicitly added)."""

from __future__ import annotations

from ..wire import WireStruct
from .profile import InstalledData, PluginsLock


class InstalledVersion(WireStruct):
    version: str
    variant: dict[str, str]
    installedAt: str
    updatedAt: str
    reinstall: bool = False


class InstalledStatus(WireStruct):
    explicit: bool
    installed: InstalledVersion | None = None


class InstalledItem(WireStruct):
    """An entry of ``/plugins.installed.list``."""

    package: str
    version: str
    variant: dict[str, str]
    explicit: bool


def installed_version(entry: InstalledData) -> InstalledVersion:
    """The ``installed`` part of a status, from a lock entry."""
    return InstalledVersion(entry.version, entry.variant, entry.installedAt, entry.updatedAt, entry.reinstall)


def statuses(lock: PluginsLock | None, explicit: list[str]) -> dict[str, InstalledStatus]:
    """Status of every package that is installed or explicitly added."""
    result: dict[str, InstalledStatus] = {}
    explicit_set = set(explicit)
    if lock is not None:
        for entry in lock.installed:
            result[entry.id] = InstalledStatus(entry.id in explicit_set, installed_version(entry))
    for pkg in explicit:
        if pkg not in result:
            result[pkg] = InstalledStatus(True)
    return result
