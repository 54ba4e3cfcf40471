"""Searching a profile's channels and its installed packages, with each hit's local status.

The search modules load numpy and rapidfuzz, so they are imported on the first search only: a daemon
that never searches starts faster.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..channels.index import ChannelIndex
from ..models.channel import Stats
from ..models.status import InstalledStatus, installed_version, statuses
from ..off_loop import off_loop_if_large
from ..profiles import ProfileStore
from .package_ids import package_ids
from .search_threshold import search_threshold

if TYPE_CHECKING:
    from ..channels.search import PackageSearchResult, SearchHit
    from . import Services

__all__ = [
    "ChannelSearch",
    "Found",
    "IdSearch",
    "InstalledSearch",
    "SearchFilters",
    "search_channels",
    "search_ids",
    "search_installed_packages",
]


@dataclass(frozen=True)
class SearchFilters:
    """What narrows a channel search besides the text and the threshold."""

    categories: Sequence[str] = ()
    not_categories: Sequence[str] = ()
    channel_url: str | None = None
    ignore_installed: bool = False
    with_stats: bool = True


@dataclass(frozen=True)
class Found:
    """A hit and the local status of its package (None when neither added nor installed)."""

    hit: SearchHit
    status: InstalledStatus | None


@dataclass(frozen=True)
class ChannelSearch:
    found: list[Found]
    stats: Stats | None  # matches per category before category filtering; None when not computed
    index: ChannelIndex


@dataclass(frozen=True)
class IdSearch:
    found: list[Found]
    not_found_package_count: int
    not_found_external_id_count: int
    index: ChannelIndex


@dataclass(frozen=True)
class InstalledSearch:
    found: list[Found]
    stats: Stats


async def search_channels(
    services: Services,
    profile_id: str,
    text: str,
    threshold: str | int | None = None,
    filters: SearchFilters = SearchFilters(),
) -> ChannelSearch:
    """Fuzzy search of the profile's channels (threshold 0-100, default 80; 400 outside that range)."""
    checked_threshold = search_threshold(threshold)
    spec = services.store.read_spec(profile_id)
    index = await services.channel_index(profile_id, spec)
    local = statuses(services.store.read_lock(profile_id), spec.explicit)
    drop = {p for p, s in local.items() if s.installed is not None} if filters.ignore_installed else set()
    result = await asyncio.to_thread(
        _search_packages,
        index,
        text,
        threshold=checked_threshold,
        categories=filters.categories,
        not_categories=filters.not_categories,
        channel_url=filters.channel_url,
        skip_stats=not filters.with_stats,
        drop_ids=drop,
    )
    return ChannelSearch([Found(h, local.get(h.package)) for h in result.hits], result.stats, index)


def _search_packages(index: ChannelIndex, text: str, **options: Any) -> PackageSearchResult:
    # Imported in the worker thread: on the first search numpy and rapidfuzz may still be loading (the
    # daemon's warm start imports them), and waiting for them must not hold up the event loop.
    from ..channels.search import search_packages

    return search_packages(index, text, **options)


async def search_ids(
    services: Services, profile_id: str, values: list[str], external_ids: list[tuple[str, str]]
) -> IdSearch:
    """The requested packages (unknown ones with an empty summary), then those with the exchange ids."""
    from ..channels.search import search_by_ids

    size = len(values) + len(external_ids)
    packages = await off_loop_if_large(size, package_ids, values)
    spec = services.store.read_spec(profile_id)
    index = await services.channel_index(profile_id, spec)
    local = statuses(services.store.read_lock(profile_id), spec.explicit)
    result = await off_loop_if_large(size, search_by_ids, index, packages, external_ids)
    found = [Found(h, local.get(h.package)) for h in result.hits]
    return IdSearch(found, result.not_found_package_count, result.not_found_external_id_count, index)


def search_installed_packages(
    store: ProfileStore,
    profile_id: str,
    text: str,
    threshold: str | int | None = None,
    category: str | None = None,
) -> InstalledSearch:
    """Fuzzy search of the installed packages; every hit has a status."""
    from ..channels.search import SearchHit, search_installed

    checked_threshold = search_threshold(threshold)
    explicit = set(store.read_spec(profile_id).explicit)
    lock = store.read_lock(profile_id)
    result = search_installed(
        lock.installed if lock else [], text, threshold=checked_threshold, category=category
    )
    found = [
        Found(
            SearchHit(h.package, h.relevance, h.summary),
            InstalledStatus(h.package in explicit, installed_version(h.installed)),
        )
        for h in result.hits
    ]
    return InstalledSearch(found, result.stats)
