"""Where the resolver gets metadata from: a small async protocol, plus an in-memory implementation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ..models.channel import Asset, Package, VariantInfo

__all__ = ["InMemoryProvider", "MetadataProvider"]


class MetadataProvider(Protocol):
    """Latest metadata across all configured channels; None means "no channel has it".

    Download and checksum failures are raised as :class:`sc4pac.errors.Sc4pacError` subclasses.
    """

    async def package(self, pkg_id: str) -> Package | None:
        """The latest version's ``pkg.json`` of ``pkg_id``."""
        ...

    async def asset(self, asset_id: str) -> Asset | None:
        """The latest version's ``pkg.json`` of the asset ``asset_id`` (without ``sc4pacAsset:``)."""
        ...

    async def variant_info(self, pkg_id: str, variant_id: str) -> VariantInfo | None:
        """``variantInfo[variant_id]`` of the latest ``pkg_id`` (for package-local variant ids)."""
        ...


class InMemoryProvider:
    """A provider over fixed package and asset records (tests, single-file channels)."""

    def __init__(self, packages: Iterable[Package] = (), assets: Iterable[Asset] = ()) -> None:
        self.packages: dict[str, Package] = {p.id: p for p in packages}
        self.assets: dict[str, Asset] = {a.assetId: a for a in assets}
        # Every lookup, in order: lets tests check what a resolution asked for.
        self.requested: list[str] = []

    async def package(self, pkg_id: str) -> Package | None:
        """The package record with this id, if any."""
        self.requested.append(pkg_id)
        return self.packages.get(pkg_id)

    async def asset(self, asset_id: str) -> Asset | None:
        """The asset record with this id, if any."""
        self.requested.append(f"sc4pacAsset:{asset_id}")
        return self.assets.get(asset_id)

    async def variant_info(self, pkg_id: str, variant_id: str) -> VariantInfo | None:
        """The variant description stored in that package, if any."""
        package = self.packages.get(pkg_id)
        return None if package is None else package.variantInfo.get(variant_id)
