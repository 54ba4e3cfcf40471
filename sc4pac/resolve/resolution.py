"""The result of resolving: reached packages with their chosen variants, and the assets they use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..models.channel import Asset, Package, VariantData

__all__ = ["Resolution", "ResolvedPackage", "asset_ids", "dependency_ids"]


def dependency_ids(data: VariantData) -> tuple[str, ...]:
    """The distinct package ids a variant entry depends on (versions are ignored)."""
    return tuple(dict.fromkeys(f"{d.group}:{d.name}" for d in data.dependencies))


def asset_ids(data: VariantData) -> tuple[str, ...]:
    """The distinct asset ids a variant entry references."""
    return tuple(dict.fromkeys(a.assetId for a in data.assets))


@dataclass(frozen=True)
class ResolvedPackage:
    """A reached package: its metadata, resolved variant map (incl. conditional ids) and entry."""

    package: Package
    variant: Mapping[str, str]
    variant_data: VariantData

    @property
    def id(self) -> str:
        """``group:name``."""
        return self.package.id

    @property
    def version(self) -> str:
        """The resolved (latest) version."""
        return self.package.version

    @property
    def dependency_ids(self) -> tuple[str, ...]:
        """Package ids of the chosen variant's dependencies."""
        return dependency_ids(self.variant_data)

    @property
    def asset_ids(self) -> tuple[str, ...]:
        """Asset ids of the chosen variant's asset references."""
        return asset_ids(self.variant_data)


@dataclass(frozen=True)
class Resolution:
    """Packages in closure order (explicit ones first) and the assets they use (first-use order)."""

    packages: tuple[ResolvedPackage, ...]
    assets: tuple[Asset, ...]
    _packages_by_id: dict[str, ResolvedPackage] = field(init=False, repr=False, compare=False)
    _assets_by_id: dict[str, Asset] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_packages_by_id", {p.id: p for p in self.packages})
        object.__setattr__(self, "_assets_by_id", {a.assetId: a for a in self.assets})

    def package(self, pkg_id: str) -> ResolvedPackage | None:
        """The reached package with this id, if any."""
        return self._packages_by_id.get(pkg_id)

    def asset(self, asset_id: str) -> Asset | None:
        """The asset with this id (without ``sc4pacAsset:``), if any."""
        return self._assets_by_id.get(asset_id)
