"""The install plan: what an update removes, installs and re-downloads.

Wanted items missing from the lock are installed and locked items no longer wanted are removed; a package
whose asset changed in any way, or that was marked for reinstall, is removed and installed again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from ..models.channel import Asset
from ..models.messages import PlanItem
from ..models.profile import InstalledData, PluginsLock
from .resolution import Resolution, ResolvedPackage

__all__ = [
    "AssetIdentity",
    "PackageIdentity",
    "Plan",
    "asset_identity",
    "compute_plan",
    "installed_identity",
    "resolved_identity",
]


class PackageIdentity(NamedTuple):
    """What makes an installed package the same as a resolved one (a tuple: updates and reverts
    build one per package of the lock and of the target, hundreds at a time)."""

    group: str
    name: str
    version: str
    variant: frozenset[tuple[str, str]]

    @property
    def id(self) -> str:
        """``group:name``."""
        return f"{self.group}:{self.name}"


@dataclass(frozen=True)
class AssetIdentity:
    """What makes a recorded asset the same as a resolved one (any change means re-extraction)."""

    asset_id: str
    version: str
    url: str
    last_modified: str | None
    archive_type: tuple[tuple[str, str], ...]
    sha256: str


def _variant_key(variant: Mapping[str, str]) -> frozenset[tuple[str, str]]:
    return frozenset(variant.items())


def resolved_identity(package: ResolvedPackage) -> PackageIdentity:
    """The identity of a resolved package (variant incl. conditional ids)."""
    p = package.package
    return PackageIdentity(p.group, p.name, p.version, _variant_key(package.variant))


def installed_identity(entry: InstalledData) -> PackageIdentity:
    """The identity of a lock-file package entry."""
    return PackageIdentity(entry.group, entry.name, entry.version, _variant_key(entry.variant))


def asset_identity(asset: Asset) -> AssetIdentity:
    """The identity of an asset, resolved or recorded in the lock file."""
    return AssetIdentity(
        asset.assetId,
        asset.version,
        asset.url,
        asset.lastModified,
        tuple((a.format, a.version) for a in asset.archiveType),
        asset.checksum.sha256,
    )


@dataclass(frozen=True)
class Plan:
    """The changes an update makes; orders follow the resolution (installs) and the lock (removals)."""

    install_packages: tuple[ResolvedPackage, ...]  # missing or reinstalled packages
    install_assets: tuple[Asset, ...]  # assets of those packages, plus missing assets
    remove_packages: tuple[InstalledData, ...]  # obsolete or reinstalled lock entries
    remove_assets: tuple[Asset, ...]  # obsolete lock assets
    reinstall: frozenset[PackageIdentity]  # unchanged packages installed afresh
    redownload_asset_ids: frozenset[str]  # cached files of these assets must be fetched again

    @property
    def up_to_date(self) -> bool:
        """Whether the update has nothing to do."""
        return not (
            self.install_packages or self.install_assets or self.remove_packages or self.remove_assets
        )

    def to_remove_items(self) -> list[PlanItem]:
        """Packages shown as "will be removed" (old version and variant)."""
        return [PlanItem(package=e.id, version=e.version, variant=dict(e.variant))
                for e in self.remove_packages]  # fmt: skip

    def to_install_items(self) -> list[PlanItem]:
        """Packages shown as "will be installed" (new version and variant)."""
        return [PlanItem(package=p.id, version=p.version, variant=dict(p.variant))
                for p in self.install_packages]  # fmt: skip

    def kept_lock_packages(self, lock: PluginsLock) -> list[InstalledData]:
        """Lock package entries that stay as they are (previous minus removed)."""
        removed = {installed_identity(e) for e in self.remove_packages}
        return [e for e in lock.installed if installed_identity(e) not in removed]

    def next_lock_assets(self, lock: PluginsLock) -> list[Asset]:
        """The assets of the next lock file: installed ones plus those kept from the previous lock."""
        removed = {asset_identity(a) for a in self.remove_assets}
        result: dict[AssetIdentity, Asset] = {}
        for asset in lock.assets:
            if asset_identity(asset) not in removed:
                result.setdefault(asset_identity(asset), asset)
        for asset in self.install_assets:
            result.setdefault(asset_identity(asset), asset)
        return list(result.values())


def compute_plan(resolution: Resolution, lock: PluginsLock) -> Plan:
    """Compare the resolution with the lock file: changed or marked items are removed and installed again."""
    wanted_packages = {resolved_identity(p): p for p in resolution.packages}
    wanted_assets = {asset_identity(a): a for a in resolution.assets}
    installed_packages = {installed_identity(e): e for e in lock.installed}
    installed_assets = {asset_identity(a): a for a in lock.assets}

    missing_packages = [i for i in wanted_packages if i not in installed_packages]
    missing_asset_ids = {a.assetId for i, a in wanted_assets.items() if i not in installed_assets}

    force_reinstall = {installed_identity(e) for e in lock.installed if e.reinstall}
    dependents_of_missing_assets = {
        resolved_identity(p) for p in resolution.packages if missing_asset_ids.intersection(p.asset_ids)
    }
    reinstall = frozenset(
        i
        for i in wanted_packages
        if i in installed_packages and (i in force_reinstall or i in dependents_of_missing_assets)
    )

    install_identities = set(missing_packages) | reinstall
    install_packages = tuple(p for i, p in wanted_packages.items() if i in install_identities)
    assets_of_installs = {a for p in install_packages for a in p.asset_ids}
    install_asset_ids = assets_of_installs | missing_asset_ids
    install_assets = tuple(a for a in resolution.assets if a.assetId in install_asset_ids)

    redownload_ids = set(lock.redownload)
    assets_to_redownload = {a for p in resolution.packages if p.id in redownload_ids for a in p.asset_ids}
    redownload_asset_ids = frozenset(assets_of_installs & assets_to_redownload)

    remove_packages = tuple(
        e for i, e in installed_packages.items() if i not in wanted_packages or i in reinstall
    )
    remove_assets = tuple(a for i, a in installed_assets.items() if i not in wanted_assets)

    return Plan(
        install_packages=install_packages,
        install_assets=install_assets,
        remove_packages=remove_packages,
        remove_assets=remove_assets,
        reinstall=reinstall,
        redownload_asset_ids=redownload_asset_ids,
    )
