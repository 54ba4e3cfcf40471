"""A package's latest metadata with the reverse links other channels declare, for both transports."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from ..channels.index import ChannelIndex
from ..errors import PackageNotFound
from ..models.channel import Package
from ..models.profile import PluginsSpec
from ..models.status import InstalledStatus, statuses
from .package_ids import package_id

if TYPE_CHECKING:
    from . import Services

log = logging.getLogger(__name__)

__all__ = ["PackageDetails", "package_details", "with_reverse_links"]


def _by_id(ids: set[str]) -> list[str]:
    return sorted(ids, key=lambda s: tuple(s.split(":", 1)))


async def with_reverse_links(
    services: Services, index: ChannelIndex, pkg: Package, cache_root: Path
) -> Package:
    """The package with ``requiredBy``/``reverseConflictingPackages`` extended by every channel's links.

    A channel whose links cannot be fetched is skipped (logged): the package itself is still shown.
    """
    loader = services.repository.loader(cache_root)
    channels = [ch for ch, _ in index.external_sources(pkg.id)]
    if not channels:
        return pkg
    results = await asyncio.gather(
        *(loader.fetch_external_package(ch, pkg.id) for ch in channels), return_exceptions=True
    )
    required = set(pkg.info.requiredBy)
    conflicting = set(pkg.info.reverseConflictingPackages)
    for result in results:
        if isinstance(result, BaseException):
            log.info("Reverse links of %s unavailable from a channel: %s", pkg.id, result)
            continue
        if result is not None:
            required.update(result.requiredBy)
            conflicting.update(result.reverseConflictingPackages)
    info = msgspec.structs.replace(
        pkg.info, requiredBy=_by_id(required), reverseConflictingPackages=_by_id(conflicting)
    )
    return msgspec.structs.replace(pkg, info=info)


@dataclass(frozen=True)
class PackageDetails:
    """The latest metadata of a package and the local status of the packages it relates to."""

    package: Package
    related_statuses: dict[str, InstalledStatus]  # the package, its dependencies, dependents, conflicts
    spec: PluginsSpec
    index: ChannelIndex
    cache_root: Path


async def package_details(services: Services, profile_id: str, pkg: str) -> PackageDetails:
    """Everything a package page shows; 404 when no channel of the profile has the package."""
    pkg_id = package_id(pkg)
    spec = services.store.read_spec(profile_id)
    index = await services.channel_index(profile_id, spec)
    cache_root = services.cache_root(profile_id, spec)
    found = await services.repository.latest_package(index, pkg_id, cache_root=cache_root)
    if found is None:
        raise PackageNotFound("Package not found in any of your channels.", pkg_id)
    remote = await with_reverse_links(services, index, found, cache_root)
    related = {remote.id, *remote.info.requiredBy, *remote.info.reverseConflictingPackages}
    for data in remote.variants:
        related.update(f"{d.group}:{d.name}" for d in data.dependencies)
        related.update(data.conflictingPackages)
    everything = statuses(services.store.read_lock(profile_id), spec.explicit)
    local = {p: s for p, s in everything.items() if p in related}
    return PackageDetails(remote, local, spec, index, cache_root)
