"""Export of a mod set: packages, the variants they use and the channels they come from.

Each item's source is the first configured channel that has exactly its installed version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..models.channel import ASSET_GROUP
from ..wire import WireStruct
from .closure import resolve
from .provider import MetadataProvider
from .selection import VariantSelection
from .signals import MissingVariant, UnresolvablePackages

__all__ = ["ExportedSelection", "FirstChannelWith", "export_selection"]

MISSING_VARIANT_TITLE = (
    "Some package variants could not be resolved. Click Update to ensure that your installed packages "
    "are up-to-date with concrete variants."
)

# (item id, version) -> URL of the first configured channel that has exactly that version, if any.
# Item ids are ``group:name`` for packages and ``sc4pacAsset:<assetId>`` for assets.
FirstChannelWith = Callable[[str, str], str | None]


class ExportedSelection(WireStruct):
    """The ``/plugins.export`` result; empty fields are omitted on the wire."""

    explicit: list[str] = []
    variants: dict[str, str] = {}
    channels: list[str] = []


async def export_selection(
    explicit: Sequence[str],
    variants: Mapping[str, str],
    channels: Sequence[str],
    provider: MetadataProvider,
    first_channel_with: FirstChannelWith,
) -> ExportedSelection:
    """Resolve ``explicit`` with the configured ``variants`` (never prompting) and describe the result."""
    selection = VariantSelection(current=dict(variants))
    try:
        resolution = await resolve(explicit, selection, provider)
    except MissingVariant as missing:
        raise UnresolvablePackages([missing.package.id], title=MISSING_VARIANT_TITLE) from None

    used_ids = {k for p in resolution.packages for k in p.variant}
    items = [(p.id, p.version) for p in resolution.packages]
    items += [(f"{ASSET_GROUP}:{a.assetId}", a.version) for a in resolution.assets]
    sources = {first_channel_with(item_id, version) for item_id, version in items}
    return ExportedSelection(
        explicit=list(explicit),
        variants={k: v for k, v in variants.items() if k in used_ids},
        channels=[url for url in channels if url in sources],
    )
