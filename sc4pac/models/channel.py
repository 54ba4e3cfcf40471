"""Channel data: package and asset metadata (``pkg.json``) and the channel contents file.

Field order is declaration order and matters: channel builds must reproduce the reference JSON byte
for byte. Option-typed fields are ``list[...]`` (see :mod:`sc4pac.wire`).
"""

from __future__ import annotations

import msgspec

from ..wire import FrozenWireStruct, WireStruct

ASSET_GROUP = "sc4pacAsset"


class Checksum(FrozenWireStruct, frozen=True, gc=False):
    """``{"sha256": hex}``; the empty checksum is ``{}``."""

    sha256: str = ""


# msgspec omits a Struct-valued default only when it is this very object, so decoded empty values
# are swapped for these sentinels in ``__post_init__``.
NO_CHECKSUM = Checksum()


class Dependency(WireStruct):
    group: str
    name: str
    version: str  # always "latest.release" in built channels; the resolver ignores it


class IncludeWithChecksum(WireStruct):
    include: str
    sha256: str
    isIni: bool = False


class IncludeWithConditions(WireStruct):
    ifVariant: dict[str, str]
    include: list[str] = []
    exclude: list[str] = []
    withChecksum: list[IncludeWithChecksum] = []


class AssetReference(WireStruct):
    assetId: str
    include: list[str] = []
    exclude: list[str] = []
    withChecksum: list[IncludeWithChecksum] = []
    withConditions: list[IncludeWithConditions] = []


class VariantData(WireStruct):
    variant: dict[str, str]
    dependencies: list[Dependency] = []
    assets: list[AssetReference] = []
    conflictingPackages: list[str] = []


class VariantInfo(WireStruct):
    description: str = ""
    valueDescriptions: dict[str, str] = {}
    default: list[str] = []  # Option


class VariantChoice(WireStruct):
    variantId: str
    choices: list[str]


class Info(FrozenWireStruct, frozen=True):
    summary: str = ""
    warning: str = ""
    conflicts: str = ""
    description: str = ""
    author: str = ""
    images: list[str] = []
    website: str = ""
    websites: list[str] = []
    requiredBy: list[str] = []
    reverseConflictingPackages: list[str] = []


EMPTY_INFO = Info()


class Package(WireStruct, tag_field="$type", tag="Package", kw_only=True):
    group: str
    name: str
    version: str
    subfolder: str
    info: Info = EMPTY_INFO
    variants: list[VariantData]
    variantInfo: dict[str, VariantInfo] = {}
    variantChoices: list[VariantChoice] = []
    metadataSource: list[str] = []  # Option
    metadataSourceUrl: list[str] = []  # Option
    metadataIssueUrl: list[str] = []  # Option
    channelLabel: list[str] = []  # Option

    def __post_init__(self) -> None:
        if self.info is not EMPTY_INFO and self.info == EMPTY_INFO:
            self.info = EMPTY_INFO

    @property
    def id(self) -> str:
        return f"{self.group}:{self.name}"

    @property
    def category(self) -> str | None:
        first = self.subfolder.split("/", 1)[0]
        return first or None


class ArchiveType(WireStruct):
    format: str
    version: str


class Asset(WireStruct, tag_field="$type", tag="Asset"):
    assetId: str
    version: str
    url: str
    lastModified: str | None = None
    archiveType: list[ArchiveType] = []  # Option
    requiredBy: list[str] = []
    checksum: Checksum = NO_CHECKSUM

    def __post_init__(self) -> None:
        if self.checksum is not NO_CHECKSUM and not self.checksum.sha256:
            self.checksum = NO_CHECKSUM

    @property
    def id(self) -> str:
        return f"{ASSET_GROUP}:{self.assetId}"


class CategoryCount(WireStruct):
    category: str
    count: int


class Stats(WireStruct):
    totalPackageCount: int
    categories: list[CategoryCount]


class ChannelInfo(WireStruct):
    channelLabel: list[str]  # Option, always written
    metadataSourceUrl: list[str]  # Option, always written
    metadataIssueUrl: list[str] = []  # Option, omitted when absent


class ChannelItem(WireStruct, gc=False):  # holds no cycles; untracked, the GC skips 50,000 items
    group: str
    name: str
    versions: list[str]
    checksums: dict[str, Checksum] = {}
    externalIds: dict[str, list[str]] = {}
    summary: str = ""
    category: list[str] = []  # Option
    tags: list[str] = []

    @property
    def id(self) -> str:
        return f"{self.group}:{self.name}"

    def sha256_of(self, version: str) -> str | None:
        """The listed sha256 of a version's ``pkg.json`` ("" if listed without one, None if unlisted)."""
        if version not in self.versions:
            return None
        # Declared as a dict here; the daemon's ChannelListing keeps it raw until needed.
        checksums: dict[str, Checksum] | msgspec.Raw = self.checksums
        if isinstance(checksums, msgspec.Raw):
            checksums = _checksums_decoder.decode(checksums)
        found = checksums.get(version)
        return found.sha256 if found is not None else ""


_checksums_decoder = msgspec.json.Decoder(dict[str, Checksum])


class CompactChannelItem(ChannelItem, gc=False):
    """A ChannelItem as the daemon keeps it: ``checksums`` stays raw JSON until a ``pkg.json`` is fetched.

    Decoded checksum maps (a dict, a struct and a 64-character string per version) are a third of a
    channel's memory; a 50,000-package channel fits in far less this way. Encodes like a ChannelItem.
    """

    # A narrower field type than the base's on purpose: msgspec decodes by the subclass's annotation.
    checksums: msgspec.Raw = msgspec.Raw(b"{}")  # type: ignore[assignment]


class ExtPkg(WireStruct):
    group: str
    name: str
    checksum: Checksum


class ExtAsset(WireStruct):
    assetId: str
    checksum: Checksum


class Contents(WireStruct):
    """``sc4pac-channel-contents.json``."""

    scheme: int = 0
    info: ChannelInfo | None = None
    stats: Stats | None = None
    packages: list[ChannelItem] = []
    assets: list[ChannelItem] = []
    externalPackages: list[ExtPkg] = []
    externalAssets: list[ExtAsset] = []


class CompactContents(Contents):
    """Contents decoded with :class:`CompactChannelItem` items (what the daemon holds in memory)."""

    # Item types narrowed on purpose (see CompactChannelItem); lists are invariant for mypy.
    packages: list[CompactChannelItem] = []  # type: ignore[assignment]
    assets: list[CompactChannelItem] = []  # type: ignore[assignment]


class ExtPkgFile(WireStruct):
    """``metadata/_extpkg/<g>/<n>/latest/pkg.json``."""

    group: str
    name: str
    requiredBy: list[str]
    reverseConflictingPackages: list[str] = []


class ExtAssetFile(WireStruct):
    """``metadata/_extasset/<assetId>/latest/pkg.json``."""

    assetId: str
    requiredBy: list[str]


ChannelRecord = Package | Asset
