"""The resolver's metadata provider on top of loaded channels (fetching ``pkg.json`` files on demand)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from ..channels.index import ChannelIndex
from ..channels.repository import ChannelRepository
from ..channels.urls import package_metadata_url
from ..models.channel import ASSET_GROUP, Asset, Package, VariantInfo
from ..ports import ProgressSink

log = logging.getLogger(__name__)

NOT_FOUND_RETRY_TTL = 60.0


class ChannelMetadataProvider:
    """Latest package/asset metadata across the profile's channels (see :mod:`sc4pac.channels.index`)."""

    def __init__(
        self,
        repository: ChannelRepository,
        index: ChannelIndex,
        channel_urls: list[str],
        cache_root: Path,
        progress: ProgressSink | None,
    ) -> None:
        self.repository = repository
        self.index = index
        self.channel_urls = channel_urls
        self.cache_root = cache_root
        self.progress = progress
        self._reloaded: asyncio.Task[ChannelIndex] | None = None

    async def _refreshed_index(self, item_id: str) -> ChannelIndex:
        # A package missing from the cached contents may have been added to the channel since: reload the
        # contents once per run with a short TTL and look again.
        if self._reloaded is None:
            log.info("Could not find metadata of %s. Trying to update channel contents.", item_id)
            self._reloaded = asyncio.ensure_future(
                self.repository.index(
                    self.channel_urls,
                    self.cache_root,
                    contents_ttl=NOT_FOUND_RETRY_TTL,
                    progress=self.progress,
                )
            )
        self.index = await asyncio.shield(self._reloaded)
        return self.index

    async def _located(self, item_id: str) -> ChannelIndex | None:
        if item_id in self.index:
            return self.index
        index = await self._refreshed_index(item_id)
        return index if item_id in index else None

    async def package(self, pkg_id: str, progress: ProgressSink | None = None) -> Package | None:
        """The latest ``pkg.json`` of ``pkg_id``; download messages go to ``progress`` if given."""
        index = await self._located(pkg_id)
        if index is None:
            return None
        return await self.repository.latest_package(
            index, pkg_id, cache_root=self.cache_root, progress=progress or self.progress
        )

    async def asset(self, asset_id: str, progress: ProgressSink | None = None) -> Asset | None:
        """The latest metadata of asset ``asset_id``; download messages go to ``progress`` if given."""
        index = await self._located(f"{ASSET_GROUP}:{asset_id}")
        if index is None:
            return None
        return await self.repository.latest_asset(
            index, asset_id, cache_root=self.cache_root, progress=progress or self.progress
        )

    async def variant_info(self, pkg_id: str, variant_id: str) -> VariantInfo | None:
        try:
            pkg = await self.package(pkg_id)
        except Exception as exc:  # descriptions are a nicety: never fail an update over them
            log.info("No variant description from %s: %s", pkg_id, exc)
            return None
        return None if pkg is None else pkg.variantInfo.get(variant_id)

    def metadata_url(self, item_id: str, version: str) -> str:
        """Where the ``pkg.json`` of ``item_id`` at ``version`` lives (the YAML file for YAML channels)."""
        found = self.index.channel_with_version(item_id, version)
        if found is None:
            return ""
        channel, _ = found
        if channel.is_yaml:
            return channel.url
        group, _, name = item_id.partition(":")
        return package_metadata_url(channel.url, group, name, version)
