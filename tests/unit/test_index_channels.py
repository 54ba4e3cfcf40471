"""ChannelIndex: merging several channels, lookups, listing, stats (rules: sc4pac.channels.index)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sc4pac.channels.index import ChannelIndex, PackageListEntry
from sc4pac.channels.loaded import LoadedChannel
from sc4pac.channels.stats import combine_stats, stats_of_items
from sc4pac.models.channel import (
    ASSET_GROUP,
    CategoryCount,
    ChannelInfo,
    ChannelItem,
    Checksum,
    Contents,
    ExtAsset,
    ExtPkg,
    Stats,
)
from sc4pac.wire import decode

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def pkg(group: str, name: str, *versions: str, category: str | None = None, **kw: object) -> ChannelItem:
    return ChannelItem(
        group=group, name=name, versions=list(versions), category=[category] if category else [], **kw
    )  # type: ignore[arg-type]


def channel(url: str, *items: ChannelItem, label: str | None = None, **kw: object) -> LoadedChannel:
    packages = [i for i in items if i.group != ASSET_GROUP]
    assets = [i for i in items if i.group == ASSET_GROUP]
    info = ChannelInfo(channelLabel=[label], metadataSourceUrl=[]) if label else None
    return LoadedChannel(
        url=url, contents=Contents(scheme=9, info=info, packages=packages, assets=assets, **kw)
    )  # type: ignore[arg-type]


A = "https://a.org/"
B = "https://b.org/"
C = "https://c.org/ch.yaml"


@pytest.fixture
def index() -> ChannelIndex:
    return ChannelIndex(
        [
            channel(
                A,
                pkg("memo", "only-a", "1.0", category="150-mods", summary="in A"),
                pkg("memo", "both", "1.0", "2.0", category="150-mods", summary="A's"),
                pkg("memo", "tie", "1.0", summary="A tie"),
                pkg(ASSET_GROUP, "asset-x", "1.0-1"),
                label="Main",
            ),
            channel(
                B,
                pkg("memo", "both", "2.10", category="200-residential", summary="B's"),
                pkg("memo", "tie", "1.0.0", summary="B tie"),
                pkg("memo", "same", "3", summary="B same"),
                pkg(ASSET_GROUP, "asset-x", "1.0"),
            ),
            channel(C, pkg("memo", "same", "3", summary="C same"), pkg("memo", "empty")),
        ]
    )


def test_latest_is_max_over_channels(index: ChannelIndex) -> None:
    version, ch = index.latest("memo:both")  # type: ignore[misc]
    assert (version, ch.url) == ("2.10", B)
    assert index.item("memo:both").summary == "B's"  # type: ignore[union-attr]


def test_ties_keep_the_earlier_channel(index: ChannelIndex) -> None:
    assert index.latest("memo:tie")[0] == "1.0"  # type: ignore[index]
    assert index.item("memo:tie").summary == "A tie"  # type: ignore[union-attr]
    # Same version string in two channels: the first in list order serves it.
    assert index.latest("memo:same")[1].url == B  # type: ignore[index]


def test_assets_use_the_reserved_group(index: ChannelIndex) -> None:
    assert index.latest(f"{ASSET_GROUP}:asset-x")[0] == "1.0-1"  # type: ignore[index]
    assert index.latest("asset-x") is None


def test_unknown_and_versionless(index: ChannelIndex) -> None:
    assert index.latest("memo:nope") is None
    assert index.item("memo:nope") is None
    assert "memo:nope" not in index
    assert "memo:empty" not in index  # no versions: nothing to install
    assert "memo:only-a" in index
    assert index.versions("memo:nope") == []


def test_versions_and_channel_with_version(index: ChannelIndex) -> None:
    assert index.versions("memo:both") == ["1.0", "2.0", "2.10"]
    found = index.channel_with_version("memo:both", "1.0")
    assert found is not None
    assert found[0].url == A
    assert index.channel_with_version("memo:both", "9") is None


def test_ids_and_channel_lookup(index: ChannelIndex) -> None:
    ids = index.ids()
    assert ids[:2] == ["memo:only-a", "memo:both"]
    assert len(ids) == len(set(ids))


def test_package_listing_is_per_version_in_channel_order(index: ChannelIndex) -> None:
    listing = index.package_listing
    assert listing[:3] == [
        PackageListEntry("memo:only-a", "1.0", "in A", ["150-mods"]),
        PackageListEntry("memo:both", "1.0", "A's", ["150-mods"]),
        PackageListEntry("memo:both", "2.0", "A's", ["150-mods"]),
    ]
    assert all(not e.package.startswith(ASSET_GROUP) for e in listing)
    assert len(listing) == 4 + 3 + 1


def test_package_listing_wire_shape() -> None:
    from sc4pac.wire import encode

    entry = PackageListEntry("memo:demo-package", "1.0", "", [])
    assert encode(entry) == b'{"package":"memo:demo-package","version":"1.0","summary":"","category":[]}'


def test_stats_recomputed_and_combined(index: ChannelIndex) -> None:
    a = index.stats(A)
    assert a == Stats(totalPackageCount=2, categories=[CategoryCount(category="150-mods", count=2)])
    assert index.stats(C) == Stats(totalPackageCount=0, categories=[])
    assert index.stats("https://unknown/") is None
    combined = index.stats()
    assert combined == Stats(
        totalPackageCount=3,
        categories=[
            CategoryCount(category="150-mods", count=2),
            CategoryCount(category="200-residential", count=1),
        ],
    )
    assert [(ch.url, s.totalPackageCount) for ch, s in index.channel_stats()] == [(A, 2), (B, 1), (C, 0)]


def test_stats_from_contents_win() -> None:
    given = Stats(totalPackageCount=7, categories=[CategoryCount(category="zzz", count=7)])
    idx = ChannelIndex([channel(A, pkg("g", "n", "1", category="150-mods"), stats=given)])
    assert idx.stats(A) == given


def test_stats_helpers_sort_by_name() -> None:
    items = [pkg("g", str(i), "1", category=c) for i, c in enumerate(["b", "a", "b", None])]
    assert stats_of_items(items) == Stats(
        totalPackageCount=3,
        categories=[CategoryCount(category="a", count=1), CategoryCount(category="b", count=2)],
    )
    both = combine_stats([stats_of_items(items), stats_of_items(items[:1])])
    assert both.totalPackageCount == 4
    assert [c.count for c in both.categories] == [1, 3]


def test_external_ids() -> None:
    idx = ChannelIndex(
        [
            channel(
                A,
                pkg("a", "one", "1", externalIds={"stex": ["100", "101"]}),
                pkg("a", "two", "1", externalIds={"sc4e": ["5"]}),
            ),
            channel(B, pkg("b", "three", "1", externalIds={"stex": ["100"]})),
        ]
    )
    assert idx.find_by_external_ids([("stex", "100"), ("sc4e", "100")]) == {
        ("stex", "100"): ["a:one", "b:three"]
    }
    assert idx.find_by_external_ids([("stex", "101"), ("sc4e", "5"), ("stex", "9")]) == {
        ("stex", "101"): ["a:one"],
        ("sc4e", "5"): ["a:two"],
    }


def test_external_sources() -> None:
    ext_a = Checksum(sha256="aa")
    ext_b = Checksum(sha256="bb")
    idx = ChannelIndex(
        [
            channel(A, externalPackages=[ExtPkg(group="ext", name="pkg101", checksum=ext_a)]),
            channel(
                B,
                externalPackages=[ExtPkg(group="ext", name="pkg101", checksum=ext_b)],
                externalAssets=[ExtAsset(assetId="ext-asset101", checksum=ext_b)],
            ),
        ]
    )
    assert [(ch.url, c.sha256) for ch, c in idx.external_sources("ext:pkg101")] == [(A, "aa"), (B, "bb")]
    assert [ch.url for ch, _ in idx.external_sources(f"{ASSET_GROUP}:ext-asset101")] == [B]
    assert idx.external_sources("ext:none") == []


@pytest.mark.parametrize("param", ["generated", pytest.param("reference", marks=pytest.mark.shared_twin)])
def test_test_channel_contents(param: str, tmp_path: Path) -> None:
    """The index of the generated scenario channel and of the reference test channel (../shared)."""
    from tests.scenario_channel import scenario_contents_file

    scen, path = scenario_contents_file(tmp_path, param)
    contents = decode(path.read_bytes(), Contents)
    idx = ChannelIndex([LoadedChannel(url=scen.url, contents=contents)])
    assert idx.latest(scen.bundle)[0] == "1.0"  # type: ignore[index]
    assert idx.latest(scen.base)[0] == "2.0"  # type: ignore[index]
    assert idx.latest(f"{ASSET_GROUP}:{scen.dll_asset_id}")[0] == "1"  # type: ignore[index]
    assert idx.stats() == contents.stats
    assert idx.stats().totalPackageCount == scen.package_count  # type: ignore[union-attr]
