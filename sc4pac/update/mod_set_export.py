"""Exporting a mod set: the packages with the variants and channels an ``/update`` needs to import them."""

from __future__ import annotations

from ..resolve.export import ExportedSelection, export_selection
from ..services import Services
from ..services.package_ids import package_ids
from .metadata import ChannelMetadataProvider

__all__ = ["export_mod_set"]


async def export_mod_set(services: Services, profile_id: str, values: list[str]) -> ExportedSelection:
    """Resolve the packages with the configured variants (never asking); 404 if a variant is missing."""
    packages = package_ids(values)
    spec = services.store.read_spec(profile_id)
    index = await services.channel_index(profile_id, spec)
    cache_root = services.cache_root(profile_id, spec)
    provider = ChannelMetadataProvider(services.repository, index, spec.config.channels, cache_root, None)

    def first_channel_with(item_id: str, version: str) -> str | None:
        found = provider.index.channel_with_version(item_id, version)
        return None if found is None else found[0].url

    return await export_selection(
        packages, spec.config.variant, spec.config.channels, provider, first_channel_with
    )
