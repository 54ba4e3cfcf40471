"""A channel as loaded into memory: the shared shape between the loader and the index."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..models.channel import Asset, Contents, Package


@dataclass(frozen=True)
class LoadedChannel:
    """One configured channel with its contents file decoded.

    ``url`` is the normalised channel URL (ending in ``/`` for JSON channels or ``.yaml`` for single-file
    YAML channels). YAML channels keep every record in ``records``, keyed by ``(id, version)`` where ``id``
    is ``group:name`` (assets: ``sc4pacAsset:<assetId>``); JSON channels leave it ``None`` and their
    ``pkg.json`` files are fetched on demand. ``stale`` is set when a refresh failed and the cached copy
    is served instead.
    """

    url: str
    contents: Contents
    records: Mapping[tuple[str, str], Package | Asset] | None = None
    stale: bool = False
    stale_reason: str = field(default="", compare=False)

    @property
    def label(self) -> str | None:
        """The channel's label, if its contents declare one."""
        info = self.contents.info
        return info.channelLabel[0] if info is not None and info.channelLabel else None

    @property
    def is_yaml(self) -> bool:
        return self.url.endswith(".yaml")
