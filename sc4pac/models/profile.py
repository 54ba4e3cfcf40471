"""Profile files: ``sc4pac-profiles.json``, ``sc4pac-plugins.json`` (spec) and the lock file.

The formats are the reference's, so a profiles dir written by either server is read by the other.
"""

from __future__ import annotations

from typing import Any

from ..wire import WireStruct
from .channel import Asset, Checksum

DEFAULT_CHANNELS: tuple[str, ...] = (
    "https://memo33.github.io/sc4pac/channel/",
    "https://sc4pac.simtropolis.com/",
    "https://sc4evermore.github.io/sc4pac-channel/channel/",
)

# Lock timestamps equal to this are omitted on disk (the reference's field default).
DEFAULT_INSTANT = "2024-01-01T00:00:00Z"

LOCK_SCHEME = 2


class ProfileEntry(WireStruct):
    id: str
    name: str


class ProfilesFile(WireStruct):
    """``<profilesDir>/sc4pac-profiles.json``."""

    profiles: list[ProfileEntry]
    currentProfileId: list[str]  # Option, always written
    settings: Any = {}


class ProfileConfig(WireStruct):
    pluginsRoot: str
    cacheRoot: str
    tempRoot: str
    variant: dict[str, str]
    channels: list[str]


class PluginsSpec(WireStruct):
    """``<profile>/sc4pac-plugins.json``; its existence means "initialized"."""

    config: ProfileConfig
    explicit: list[str]


class IniFile(WireStruct):
    file: str
    checksum: Checksum
    finalName: str


class InstalledData(WireStruct, kw_only=True):
    group: str
    name: str
    variant: dict[str, str]
    version: str
    files: list[str]
    summary: str = ""
    category: list[str] = []  # Option
    installedAt: str = DEFAULT_INSTANT
    updatedAt: str = DEFAULT_INSTANT
    reinstall: bool = False
    iniFiles: list[IniFile] = []

    @property
    def id(self) -> str:
        return f"{self.group}:{self.name}"


class PluginsLock(WireStruct, kw_only=True):
    """``<profile>/sc4pac-plugins-lock.json``; a missing ``scheme`` means 1."""

    scheme: int = 1
    installed: list[InstalledData]
    assets: list[Asset]
    redownload: list[str] = []


def empty_lock() -> PluginsLock:
    """The lock file an update creates when none exists."""
    return PluginsLock(scheme=LOCK_SCHEME, installed=[], assets=[])
