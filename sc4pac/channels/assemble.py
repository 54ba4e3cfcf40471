"""From parsed channel records to a channel: reverse links, external items, channel items and stats.

Pure and shared by the channel builder (which adds checksums of the written files) and single-file YAML
channels (which have none). Reverse links (``requiredBy``, ``reverseConflictingPackages``) come from
every package's dependencies, assets and conflicts; targets not defined here become external items.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import msgspec

from ..models.channel import (
    ASSET_GROUP,
    EMPTY_INFO,
    NO_CHECKSUM,
    Asset,
    ChannelInfo,
    ChannelItem,
    Checksum,
    Contents,
    ExtAsset,
    ExtAssetFile,
    ExtPkg,
    ExtPkgFile,
    Package,
)
from .ids import parse_package_id
from .stats import stats_of_items
from .urls import external_id_from_url

__all__ = [
    "CHANNEL_SCHEME",
    "AssembledChannel",
    "assemble_channel",
    "author_tags",
    "channel_contents",
]

CHANNEL_SCHEME = 9

PackageKey = tuple[str, str]  # (group, name): sorts like the reference's lexOrdering


class AssembledChannel(NamedTuple):
    """Records with their reverse links filled in, plus the items referenced but defined elsewhere."""

    packages: list[Package]
    assets: list[Asset]
    external_packages: list[ExtPkgFile]
    external_assets: list[ExtAssetFile]


def _ids(keys: Iterable[PackageKey]) -> list[str]:
    return [f"{g}:{n}" for g, n in sorted(keys)]


def assemble_channel(records: Iterable[Package | Asset]) -> AssembledChannel:
    """Compute ``requiredBy``/``reverseConflictingPackages`` and the external packages and assets."""
    packages = [r for r in records if isinstance(r, Package)]
    assets = [r for r in records if isinstance(r, Asset)]

    package_required_by: dict[PackageKey, set[PackageKey]] = {}
    asset_required_by: dict[str, set[PackageKey]] = {}
    conflicted_by: dict[PackageKey, set[PackageKey]] = {}
    for package in packages:
        dependent = (package.group, package.name)
        for data in package.variants:
            for dep in data.dependencies:
                package_required_by.setdefault((dep.group, dep.name), set()).add(dependent)
            for ref in data.assets:
                asset_required_by.setdefault(ref.assetId, set()).add(dependent)
            for conflict in data.conflictingPackages:
                conflicted_by.setdefault(parse_package_id(conflict), set()).add(dependent)

    linked_packages = [_with_reverse_links(p, package_required_by, conflicted_by) for p in packages]
    linked_assets = [
        msgspec.structs.replace(a, requiredBy=_ids(asset_required_by.get(a.assetId, ()))) for a in assets
    ]

    defined_packages = {(p.group, p.name) for p in packages}
    defined_assets = {a.assetId for a in assets}
    external_packages = [
        ExtPkgFile(
            group=key[0],
            name=key[1],
            requiredBy=_ids(package_required_by.get(key, ())),
            reverseConflictingPackages=_ids(conflicted_by.get(key, ())),
        )
        for key in sorted((package_required_by.keys() | conflicted_by.keys()) - defined_packages)
    ]
    external_assets = [
        ExtAssetFile(assetId=asset_id, requiredBy=_ids(asset_required_by[asset_id]))
        for asset_id in sorted(asset_required_by.keys() - defined_assets)
    ]
    return AssembledChannel(linked_packages, linked_assets, external_packages, external_assets)


def _with_reverse_links(
    package: Package,
    required_by: Mapping[PackageKey, set[PackageKey]],
    conflicted_by: Mapping[PackageKey, set[PackageKey]],
) -> Package:
    key = (package.group, package.name)
    info = package.info
    # Links written into the YAML by hand are kept (informative only) and merged with the computed ones.
    requirers = required_by.get(key, set()) | {parse_package_id(s) for s in info.requiredBy}
    conflicters = conflicted_by.get(key, set()) | {
        parse_package_id(s) for s in info.reverseConflictingPackages
    }
    if not requirers and not conflicters:
        return package
    info = msgspec.structs.replace(
        info, requiredBy=_ids(requirers), reverseConflictingPackages=_ids(conflicters)
    )
    return msgspec.structs.replace(package, info=EMPTY_INFO if info == EMPTY_INFO else info)


# --- Channel items ------------------------------------------------------------------------------------

_AUTHOR_SEPARATORS = re.compile(r"[/,;]|\band\b")
_AUTHOR_SLUG_GAPS = re.compile(r"[\s_]+")


def author_tags(author: str, group: str, name: str, summary: str) -> list[str]:
    """Search tags from ``info.author``: the authors not already named by the id or the summary."""
    haystacks = [group.lower(), name.lower()] + ([summary.lower()] if summary else [])
    tags: list[str] = []
    for part in _AUTHOR_SEPARATORS.split(author):
        candidate = part.strip()
        if not candidate:
            continue
        slug = _AUTHOR_SLUG_GAPS.sub("-", candidate).lower()
        if not any(slug in haystack for haystack in haystacks):
            tags.append(candidate)
    return tags


def _external_ids(websites: Sequence[str]) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {}
    for url in websites:
        found = external_id_from_url(url)
        if found is not None:
            ids.setdefault(found[0], []).append(found[1])
    return ids


def _package_items(
    packages: Sequence[Package], checksums: Mapping[tuple[str, str], Checksum]
) -> list[ChannelItem]:
    by_id: dict[PackageKey, list[Package]] = {}
    for package in packages:
        by_id.setdefault((package.group, package.name), []).append(package)
    items = []
    for (group, name), versions in sorted(by_id.items()):
        first = versions[0]
        category = first.category
        items.append(
            ChannelItem(
                group=group,
                name=name,
                versions=[p.version for p in versions],
                checksums=_checksums_of(f"{group}:{name}", versions, checksums),
                externalIds=_external_ids(first.info.websites),
                summary=first.info.summary,
                category=[category] if category else [],
                tags=author_tags(first.info.author, group, name, first.info.summary),
            )
        )
    return items


def _asset_items(assets: Sequence[Asset], checksums: Mapping[tuple[str, str], Checksum]) -> list[ChannelItem]:
    by_id: dict[str, list[Asset]] = {}
    for asset in assets:
        by_id.setdefault(asset.assetId, []).append(asset)
    return [
        ChannelItem(
            group=ASSET_GROUP,
            name=asset_id,
            versions=[a.version for a in versions],
            checksums=_checksums_of(f"{ASSET_GROUP}:{asset_id}", versions, checksums),
        )
        for asset_id, versions in sorted(by_id.items())
    ]


def _checksums_of(
    record_id: str, versions: Sequence[Package | Asset], checksums: Mapping[tuple[str, str], Checksum]
) -> dict[str, Checksum]:
    if not checksums:
        return {}
    return {r.version: checksums.get((record_id, r.version), NO_CHECKSUM) for r in versions}


def channel_contents(
    assembled: AssembledChannel,
    *,
    info: ChannelInfo | None,
    checksums: Mapping[tuple[str, str], Checksum] | None = None,
    external_checksums: Mapping[str, Checksum] | None = None,
    scheme: int = CHANNEL_SCHEME,
) -> Contents:
    """The contents file of an assembled channel.

    ``checksums`` maps ``(id, version)`` to the sha256 of the written ``pkg.json``; ``external_checksums``
    maps an external package id (``group:name``) or asset id (``sc4pacAsset:<assetId>``) likewise.
    """
    checksums = checksums or {}
    external_checksums = external_checksums or {}
    package_items = _package_items(assembled.packages, checksums)
    return Contents(
        scheme=scheme,
        info=info,
        stats=stats_of_items(package_items),
        packages=package_items,
        assets=_asset_items(assembled.assets, checksums),
        externalPackages=[
            ExtPkg(
                group=e.group,
                name=e.name,
                checksum=external_checksums.get(f"{e.group}:{e.name}", NO_CHECKSUM),
            )
            for e in assembled.external_packages
        ],
        externalAssets=[
            ExtAsset(
                assetId=e.assetId, checksum=external_checksums.get(f"{ASSET_GROUP}:{e.assetId}", NO_CHECKSUM)
            )
            for e in assembled.external_assets
        ],
    )
