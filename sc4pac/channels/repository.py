"""The daemon-wide channel service: loaded channels kept in memory, so requests do not re-read them.

An index is reused while it is younger than the contents TTL; afterwards the next request reloads it
(the downloader then revalidates each contents file with a conditional request). Concurrent requests for
the same channel list share one load, and decoded ``pkg.json`` files are memoised.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..fetch.download import Downloader
from ..models.channel import ASSET_GROUP, Asset, ChannelItem, Contents, Package
from ..ports import ProgressSink
from .loaded import LoadedChannel
from .loader import CONTENTS_TTL, ChannelLoader

if TYPE_CHECKING:
    from .index import ChannelIndex

_MEMO_LIMIT = 20_000  # decoded pkg.json files kept (a large channel has a few thousand)

_IndexKey = tuple[tuple[str, ...], str]


def _default_index_factory(channels: list[LoadedChannel]) -> ChannelIndex:
    # Imported lazily so the index module may evolve independently of this service.
    from .index import ChannelIndex

    return ChannelIndex(channels)


@dataclass
class _Entry:
    index: ChannelIndex
    cache_root: Path
    loaded_at: float
    # Which load made it: numbered from one counter as loads begin and end, and whether it revalidated
    # (a refresh, or a shorter TTL). See ChannelRepository._outdates.
    began: int
    ended: int
    forced: bool


class ChannelRepository:
    """Keeps channel indexes per (channel list, cache root) and memoises metadata files."""

    def __init__(
        self,
        downloader: Downloader,
        *,
        ttl: float = CONTENTS_TTL,
        index_factory: Callable[[list[LoadedChannel]], ChannelIndex] | None = None,
        prepare_search_index: bool = True,
    ) -> None:
        self.downloader = downloader
        self.ttl = ttl
        # A long-running daemon builds the search corpus ahead of the first search; a one-shot CLI
        # command would only pay for it (numpy, rapidfuzz) without using it.
        self._prepare_search_index = prepare_search_index
        self._index_factory = index_factory or _default_index_factory
        self._entries: dict[_IndexKey, _Entry] = {}
        self._loading: dict[tuple[_IndexKey, bool], asyncio.Task[ChannelIndex]] = {}
        self._load_numbers = itertools.count()  # see _Entry
        self._loaders: dict[str, ChannelLoader] = {}
        self._records: OrderedDict[tuple[str, str, str, str], Package | Asset] = OrderedDict()

    def loader(self, cache_root: Path) -> ChannelLoader:
        """The channel loader writing to ``cache_root``."""
        key = os.path.normcase(str(cache_root))
        loader = self._loaders.get(key)
        if loader is None:
            loader = self._loaders[key] = ChannelLoader(self.downloader, cache_root)
        return loader

    async def index(
        self,
        channel_urls: Sequence[str],
        cache_root: Path,
        *,
        refresh: bool = False,
        contents_ttl: float | None = None,
        progress: ProgressSink | None = None,
    ) -> ChannelIndex:
        """The index of ``channel_urls``: from memory if fresh, else loaded (once, shared by all callers).

        ``refresh`` revalidates every contents file now (TTL 0); ``contents_ttl`` overrides the TTL of
        the cached contents files (e.g. 60 s for the retry after a package was not found).
        """
        key: _IndexKey = (tuple(channel_urls), os.path.normcase(str(cache_root)))
        forcing = refresh or contents_ttl is not None
        entry = self._entries.get(key)
        if not forcing and entry is not None and time.monotonic() - entry.loaded_at < self.ttl:
            return entry.index
        task = self._loading.get((key, forcing))
        if task is None:
            ttl = 0.0 if refresh else (contents_ttl if contents_ttl is not None else self.ttl)
            task = asyncio.ensure_future(
                self._load(key, list(channel_urls), cache_root, ttl, forcing, progress)
            )
            loading_key = (key, forcing)
            self._loading[loading_key] = task
            task.add_done_callback(lambda _t: self._loading.pop(loading_key, None))
            # Keep a failure from being reported as "never retrieved" when every waiter was cancelled.
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
        # Shielded: a caller that gives up must not cancel the load others are waiting for.
        return await asyncio.shield(task)

    async def _load(
        self,
        key: _IndexKey,
        urls: list[str],
        cache_root: Path,
        ttl: float,
        forced: bool,
        progress: ProgressSink | None,
    ) -> ChannelIndex:
        began = next(self._load_numbers)
        channels = await self.loader(cache_root).load_all(urls, ttl=ttl, progress=progress)
        kept = self._entries.get(key)
        if kept is not None and not self._outdates(kept, began, forced):
            return kept.index
        index = self._index_factory(channels)
        ended = next(self._load_numbers)
        self._entries[key] = _Entry(index, cache_root, time.monotonic(), began, ended, forced)
        if self._prepare_search_index:
            # Build the search corpus in the background so the first search does not pay for it.
            asyncio.get_running_loop().run_in_executor(None, _prepare_search, index)
        return index

    @staticmethod
    def _outdates(kept: _Entry, began: int, forced: bool) -> bool:
        """Whether a load that began at ``began`` knows more than the ``kept`` entry.

        A load begun after ``kept`` was stored does. Of two loads that overlapped, one that revalidated
        the contents beats one that may have read the cached copy (a refresh that found the channel
        unreachable, against the warm start's load from the cache: the index must say "stale"), and
        otherwise the one begun later wins.
        """
        if kept.ended < began:
            return True
        if kept.forced != forced:
            return forced
        return began > kept.began

    def _cache_root_of(self, index: ChannelIndex) -> Path:
        for entry in self._entries.values():
            if entry.index is index:
                return entry.cache_root
        raise ValueError("index was not produced by this repository; pass cache_root")

    async def package_json(
        self,
        channel: LoadedChannel,
        pkg_id: str,
        version: str,
        cache_root: Path,
        *,
        progress: ProgressSink | None = None,
    ) -> Package | Asset:
        """The decoded ``pkg.json`` of ``pkg_id`` at ``version`` in ``channel`` (memoised)."""
        if channel.records is not None:
            return await self.loader(cache_root).fetch_package_json(channel, pkg_id, version)
        checksum = _listed_sha256(channel, pkg_id, version)
        key = (channel.url, pkg_id, version, checksum)
        record = self._records.get(key)
        if record is not None:
            self._records.move_to_end(key)
            return record
        record = await self.loader(cache_root).fetch_package_json(channel, pkg_id, version, progress=progress)
        self._records[key] = record
        if len(self._records) > _MEMO_LIMIT:
            self._records.popitem(last=False)
        return record

    async def latest_package(
        self,
        index: ChannelIndex,
        pkg_id: str,
        *,
        cache_root: Path | None = None,
        progress: ProgressSink | None = None,
    ) -> Package | None:
        """The ``pkg.json`` of the latest version of package ``pkg_id``; ``None`` if no channel has it."""
        record = await self._latest(index, pkg_id, cache_root, progress)
        return record if isinstance(record, Package) else None

    async def latest_asset(
        self,
        index: ChannelIndex,
        asset_id: str,
        *,
        cache_root: Path | None = None,
        progress: ProgressSink | None = None,
    ) -> Asset | None:
        """The ``pkg.json`` of the latest version of asset ``asset_id``; ``None`` if no channel has it."""
        record = await self._latest(index, f"{ASSET_GROUP}:{asset_id}", cache_root, progress)
        return record if isinstance(record, Asset) else None

    async def _latest(
        self, index: ChannelIndex, item_id: str, cache_root: Path | None, progress: ProgressSink | None
    ) -> Package | Asset | None:
        found = index.latest(item_id)
        if found is None:
            return None
        version, channel = found
        root = cache_root if cache_root is not None else self._cache_root_of(index)
        return await self.package_json(channel, item_id, version, root, progress=progress)


def _prepare_search(index: Any) -> None:
    from .search import prepare_search

    prepare_search(index)


# Per contents file: item id -> item, so a checksum lookup is not a scan over thousands of items.
_item_tables: dict[int, tuple[Contents, dict[str, ChannelItem]]] = {}


def _listed_sha256(channel: LoadedChannel, item_id: str, version: str) -> str:
    contents = channel.contents
    cached = _item_tables.get(id(contents))
    if cached is None or cached[0] is not contents:
        table = {f"{i.group}:{i.name}": i for i in (*contents.packages, *contents.assets)}
        if len(_item_tables) > 64:
            _item_tables.clear()
        cached = _item_tables[id(contents)] = (contents, table)
    item = cached[1].get(item_id)
    return (item.sha256_of(version) or "") if item is not None else ""
