"""ChannelIndex: the configured channels merged into one lookup structure.

Built once per loaded set of channels and then only read, so it is safe to share between requests.
Merging rules: the latest version of an id is the maximum over every channel that lists
it (ties keep the earlier channel's string), and its data comes from the first channel in list order that
lists exactly that version string.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import NamedTuple, overload

import msgspec

from ..models.channel import ASSET_GROUP, ChannelItem, Checksum, Stats
from ..version import max_version
from .loaded import LoadedChannel
from .stats import combine_stats, stats_of_items

__all__ = ["ChannelIndex", "PackageListEntry"]


class PackageListEntry(msgspec.Struct, frozen=True):
    """One package version as ``/packages.list`` reports it (every field always written)."""

    package: str
    version: str
    summary: str
    category: list[str]  # Option


class _Located(NamedTuple):
    version: str  # the latest version over all channels
    channel: int  # position of the channel whose data serves that version
    item: ChannelItem  # that channel's item


def _locate(holders: list[tuple[int, ChannelItem]]) -> _Located | None:
    """Pick the latest version over all holders and the first holder that lists exactly it."""
    if len(holders) == 1:
        pos, item = holders[0]
        versions = item.versions
        if not versions:
            return None
        return _Located(versions[0] if len(versions) == 1 else max_version(versions), pos, item)
    every = [v for _, item in holders for v in item.versions]
    if not every:
        return None
    latest = max_version(every)
    for pos, item in holders:
        if latest in item.versions:
            return _Located(latest, pos, item)
    raise AssertionError("unreachable: the maximum comes from some holder")


class ChannelIndex:
    """Lookup of packages and assets over several channels, in their configured priority order."""

    def __init__(self, channels: Sequence[LoadedChannel]) -> None:
        self.channels: tuple[LoadedChannel, ...] = tuple(channels)
        self._positions = {ch.url: pos for pos, ch in enumerate(self.channels)}
        # One dict per channel, built by comprehension: at 50,000 packages a merged dict built item by
        # item in Python costs more than the whole JSON decode. Lookups probe the few channels in order.
        self._items: tuple[dict[str, ChannelItem], ...] = tuple(
            {f"{item.group}:{item.name}": item for item in chain(ch.contents.packages, ch.contents.assets)}
            for ch in self.channels
        )
        # Latest-version answers are computed on first use and kept (ids are looked up many times).
        self._located: dict[str, _Located | None] = {}

        ext: dict[str, list[tuple[int, Checksum]]] = {}
        for pos, ch in enumerate(self.channels):
            for pkg in ch.contents.externalPackages:
                ext.setdefault(f"{pkg.group}:{pkg.name}", []).append((pos, pkg.checksum))
            for asset in ch.contents.externalAssets:
                ext.setdefault(f"{ASSET_GROUP}:{asset.assetId}", []).append((pos, asset.checksum))
        self._external = ext

    # --- lookup -------------------------------------------------------------------------------------

    def _holders(self, pkg_id: str) -> list[tuple[int, ChannelItem]]:
        return [(pos, items[pkg_id]) for pos, items in enumerate(self._items) if pkg_id in items]

    def _locate(self, pkg_id: str) -> _Located | None:
        try:
            return self._located[pkg_id]
        except KeyError:
            holders = self._holders(pkg_id)
            entry = _locate(holders) if holders else None
            self._located[pkg_id] = entry
            return entry

    def __contains__(self, pkg_id: object) -> bool:
        return isinstance(pkg_id, str) and self._locate(pkg_id) is not None

    def ids(self) -> list[str]:
        """Every package and asset id listed by some channel (first-seen order)."""
        return list(dict.fromkeys(chain.from_iterable(self._items)))

    def latest(self, pkg_id: str) -> tuple[str, LoadedChannel] | None:
        """The latest version of a package/asset id and the channel that serves it."""
        entry = self._locate(pkg_id)
        return None if entry is None else (entry.version, self.channels[entry.channel])

    def item(self, pkg_id: str) -> ChannelItem | None:
        """The contents item of the channel serving the latest version."""
        entry = self._locate(pkg_id)
        return None if entry is None else entry.item

    def versions(self, pkg_id: str) -> list[str]:
        """All version strings of an id over all channels, in channel order, without repeats."""
        return list(dict.fromkeys(v for _, item in self._holders(pkg_id) for v in item.versions))

    def channel_with_version(self, pkg_id: str, version: str) -> tuple[LoadedChannel, ChannelItem] | None:
        """The first channel (and its item) that lists exactly this version string."""
        for pos, item in self._holders(pkg_id):
            if version in item.versions:
                return self.channels[pos], item
        return None

    # --- channels -----------------------------------------------------------------------------------

    def package_items(self, channel_url: str | None = None) -> Iterator[tuple[LoadedChannel, ChannelItem]]:
        """Packages (no assets) of all channels in channel order, or of the one channel given."""
        for ch in self.channels:
            if channel_url is None or ch.url == channel_url:
                for item in ch.contents.packages:
                    yield ch, item

    @functools.cached_property
    def package_listing(self) -> list[PackageListEntry]:
        """One entry per package version over all channels in channel order (``/packages.list``)."""
        return [
            PackageListEntry(f"{item.group}:{item.name}", v, item.summary, item.category)
            for ch in self.channels
            for item in ch.contents.packages
            for v in item.versions
        ]

    # --- stats --------------------------------------------------------------------------------------

    @functools.cached_property
    def _channel_stats(self) -> tuple[Stats, ...]:
        # The contents file normally carries its stats; YAML channels and old files may not.
        return tuple(
            ch.contents.stats if ch.contents.stats is not None else stats_of_items(ch.contents.packages)
            for ch in self.channels
        )

    @functools.cached_property
    def _combined_stats(self) -> Stats:
        return combine_stats(self._channel_stats)

    def channel_stats(self) -> list[tuple[LoadedChannel, Stats]]:
        """Each channel with its stats, in channel order."""
        return list(zip(self.channels, self._channel_stats, strict=True))

    @overload
    def stats(self) -> Stats: ...
    @overload
    def stats(self, channel_url: str | None) -> Stats | None: ...
    def stats(self, channel_url: str | None = None) -> Stats | None:
        """Stats of one channel (``None`` if no such channel), or combined over all when no URL."""
        if channel_url is None:
            return self._combined_stats
        pos = self._positions.get(channel_url)
        return None if pos is None else self._channel_stats[pos]

    # --- external ids ---------------------------------------------------------------------------------

    @functools.cached_property
    def _by_external_id(self) -> dict[tuple[str, str], list[str]]:
        found: dict[tuple[str, str], dict[str, None]] = {}
        for _, item in self.package_items():
            for provider, ids in item.externalIds.items():
                for ext_id in ids:
                    found.setdefault((provider, ext_id), {})[f"{item.group}:{item.name}"] = None
        return {key: list(pkgs) for key, pkgs in found.items()}

    def find_by_external_ids(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
        """For each requested ``(provider, id)`` the packages listing it (missing pairs are absent)."""
        table = self._by_external_id
        return {pair: table[pair] for pair in pairs if pair in table}

    # --- inter-channel reverse links (external package/asset files) --------------------------------------

    def external_sources(self, pkg_id: str) -> list[tuple[LoadedChannel, Checksum]]:
        """Channels that list ``pkg_id`` as external (``_extpkg``/``_extasset``), with the file's checksum."""
        return [(self.channels[pos], checksum) for pos, checksum in self._external.get(pkg_id, ())]
