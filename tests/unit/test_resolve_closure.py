"""Breadth-first closure, error aggregation per round, and conflicts between reached packages."""

from __future__ import annotations

import asyncio

import pytest

from sc4pac.errors import (
    AssetNotFound,
    ConflictingPackages,
    DownloadFailed,
    UnresolvableDependencies,
    VersionNotFound,
)
from sc4pac.models.channel import Asset, Package
from sc4pac.resolve import (
    InMemoryProvider,
    Lookup,
    LookupResults,
    MissingVariant,
    PackageConflict,
    UnresolvablePackages,
    VariantSelection,
    resolution_steps,
    resolve,
)

from .test_resolve_support import asset, mini_channel, package, reference_channel, variant


async def test_closure_order_explicit_first_then_rounds() -> None:
    provider = InMemoryProvider(
        [
            package("a:a", variant(deps=["c:c", "b:b"], assets=["x"])),
            package("b:b", variant(deps=["d:d"], assets=["x", "y"])),
            package("c:c", variant(deps=["d:d"])),
            package("d:d", variant(assets=["z"])),
            package("e:e"),
        ],
        [asset("x"), asset("y"), asset("z")],
    )
    res = await resolve(["e:e", "a:a", "e:e"], VariantSelection(), provider)
    assert [p.id for p in res.packages] == ["e:e", "a:a", "c:c", "b:b", "d:d"]
    assert [a.assetId for a in res.assets] == ["x", "y", "z"]
    assert res.package("a:a").dependency_ids == ("c:c", "b:b")  # type: ignore[union-attr]
    assert res.package("b:b").asset_ids == ("x", "y")  # type: ignore[union-attr]
    assert res.package("d:d") is not None
    assert res.asset("z") is not None
    # Round by round, then the assets; each item looked up once.
    assert provider.requested == [
        "e:e", "a:a", "c:c", "b:b", "d:d", "sc4pacAsset:x", "sc4pacAsset:y", "sc4pacAsset:z"
    ]  # fmt: skip


async def test_cycles_are_harmless() -> None:
    provider = InMemoryProvider(
        [
            package("a:a", variant(deps=["b:b"])),
            package("b:b", variant(deps=["c:c"])),
            package("c:c", variant(deps=["a:a", "b:b"])),
        ]
    )
    res = await resolve(["a:a"], VariantSelection(), provider)
    assert [p.id for p in res.packages] == ["a:a", "b:b", "c:c"]
    assert provider.requested == ["a:a", "b:b", "c:c"]


async def test_sans_io_core_steps() -> None:
    a = package("a:a", variant(deps=["b:b"], assets=["x"]))
    b = package("b:b")
    steps = resolution_steps(["a:a"], VariantSelection())
    assert next(steps) == Lookup(package_ids=("a:a",))
    assert steps.send(LookupResults(packages={"a:a": a})) == Lookup(package_ids=("b:b",))
    assert steps.send(LookupResults(packages={"b:b": b})) == Lookup(asset_ids=("x",))
    with pytest.raises(StopIteration) as stop:
        steps.send(LookupResults(assets={"x": asset("x")}))
    assert [p.id for p in stop.value.value.packages] == ["a:a", "b:b"]


async def test_round_is_fetched_concurrently() -> None:
    started: list[str] = []
    both_started = asyncio.Event()

    class SlowProvider(InMemoryProvider):
        async def package(self, pkg_id: str) -> Package | None:
            started.append(pkg_id)
            if len(started) == 2:
                both_started.set()
            await asyncio.wait_for(both_started.wait(), 1)  # deadlocks if fetched one by one
            return await super().package(pkg_id)

    provider = SlowProvider([package("a:a"), package("b:b")])
    res = await resolve(["a:a", "b:b"], VariantSelection(), provider)
    assert len(res.packages) == 2


async def test_not_found_ids_are_collected_per_round() -> None:
    provider = InMemoryProvider([package("a:a", variant(deps=["gone:two", "b:b"])), package("b:b")])
    with pytest.raises(UnresolvableDependencies) as info:
        await resolve(["a:a", "gone:one"], VariantSelection(), provider)
    assert isinstance(info.value, UnresolvablePackages)
    assert info.value.package_ids == ("gone:one",)  # the first failing round stops the walk
    assert info.value.title == (
        "Some packages could not be resolved. Maybe they have been renamed or deleted from the corresponding channel."
    )
    assert info.value.to_wire()["$type"] == "/error/unresolvable-dependencies"

    with pytest.raises(UnresolvablePackages) as info2:
        await resolve(["a:a", "gone:one", "gone:zero"], VariantSelection(), provider)
    assert info2.value.detail == "gone:one\ngone:zero"

    with pytest.raises(UnresolvablePackages) as info3:
        await resolve(["a:a"], VariantSelection(), provider)
    assert info3.value.package_ids == ("gone:two",)


async def test_other_failures_win_over_not_found() -> None:
    needs_variant = package("v:v", variant({"driveside": "right"}), variant({"driveside": "left"}))
    provider = InMemoryProvider([needs_variant])
    with pytest.raises(MissingVariant) as info:
        await resolve(["gone:one", "v:v"], VariantSelection(), provider)
    assert info.value.package is needs_variant

    class FailingProvider(InMemoryProvider):
        async def package(self, pkg_id: str) -> Package | None:
            if pkg_id == "broken:pkg":
                raise DownloadFailed(
                    "Failed to download some metadata files. Check your internet connection."
                )
            if pkg_id == "vnf:pkg":
                raise VersionNotFound("No versions of vnf:pkg found in repository x.")
            return await super().package(pkg_id)

    failing = FailingProvider([needs_variant])
    with pytest.raises(DownloadFailed):
        await resolve(["gone:one", "broken:pkg", "v:v"], VariantSelection(), failing)
    with pytest.raises(MissingVariant):
        await resolve(["gone:one", "v:v", "broken:pkg"], VariantSelection(), failing)
    with pytest.raises(UnresolvablePackages) as info2:  # VersionNotFound counts as not found
        await resolve(["vnf:pkg", "gone:one"], VariantSelection(), failing)
    assert info2.value.package_ids == ("vnf:pkg", "gone:one")


async def test_missing_asset() -> None:
    provider = InMemoryProvider([package("a:a", variant(assets=["here", "nowhere"]))], [asset("here")])
    with pytest.raises(AssetNotFound) as info:
        await resolve(["a:a"], VariantSelection(), provider)
    assert info.value.title == "Could not find metadata of asset nowhere."
    assert (
        info.value.detail
        == "Most likely this is due to incorrect or incomplete metadata in the corresponding channel."
    )


async def test_resolved_variant_includes_conditional_ids() -> None:
    sel = VariantSelection(
        initial={"driveside": "left", "nightmode": "dark", "style": "style1", "capacity": "standard", "CAM": "no",
                 "roadstyle": "US", "unused": "x"}
    )  # fmt: skip
    res = await resolve(["test:conditional-variants"], sel, mini_channel())
    (resolved,) = res.packages
    assert dict(resolved.variant) == {k: v for k, v in sel.initial.items() if k != "unused"}
    assert [a.assetId for a in res.assets] == ["cond-asset"]


async def test_conflict_example_of_the_spec() -> None:
    sel = VariantSelection(initial={"driveside": "right"})
    with pytest.raises(ConflictingPackages) as info:
        await resolve(["memo:demo-package", "memo:conflicting-package"], sel, mini_channel())
    err = info.value
    assert isinstance(err, PackageConflict)
    assert err.conflict == ("memo:conflicting-package", "memo:package-template-variants")
    assert err.explicit1 == ["memo:conflicting-package"]
    assert err.explicit2 == ["memo:demo-package"]
    assert err.title == (
        "The packages memo:conflicting-package and memo:package-template-variants are in conflict with each other "
        "and cannot be installed at the same time."
    )
    assert err.detail == (
        "Decide which of the two packages you want to keep; uninstall the other and all packages that depend on it. "
        "Sometimes, choosing different package variants can resolve the conflict, as well.\n"
        "Either uninstall:\n\n    memo:conflicting-package\n\nOr uninstall:\n\n    memo:demo-package"
    )
    assert err.to_wire() == {
        "$type": "/error/conflicting-packages",
        "title": err.title,
        "detail": err.detail,
        "conflict": ["memo:conflicting-package", "memo:package-template-variants"],
    }
    assert err.status == 400


async def test_conflict_declared_by_either_side_and_shared_dependents() -> None:
    provider = InMemoryProvider(
        [
            package("a:a", variant(deps=["lib:x"])),
            package("b:b", variant(deps=["lib:x", "lib:y"])),
            package("lib:x"),
            package("lib:y", variant(conflicts=["lib:x"])),
        ]
    )
    with pytest.raises(PackageConflict) as info:
        await resolve(["a:a", "b:b"], VariantSelection(), provider)
    assert info.value.conflict == ("lib:y", "lib:x")
    assert info.value.explicit1 == ["b:b"]
    assert info.value.explicit2 == ["a:a", "b:b"]


async def test_conflict_with_unreached_package_is_ignored() -> None:
    provider = InMemoryProvider([package("a:a", variant(conflicts=["other:pkg"]))])
    res = await resolve(["a:a"], VariantSelection(), provider)
    assert [p.id for p in res.packages] == ["a:a"]


@pytest.fixture(params=["mini", pytest.param("reference", marks=pytest.mark.shared_twin)])
def demo_channel(request: pytest.FixtureRequest) -> InMemoryProvider:
    """The in-memory channel shaped like the reference test channel, and the reference channel itself."""
    if request.param == "mini":
        return mini_channel()
    provider = reference_channel()
    if provider is None:
        pytest.skip("reference test channel not available")
    return provider


async def test_reference_channel_demo_package(demo_channel: InMemoryProvider) -> None:
    res = await resolve(["memo:demo-package"], VariantSelection(initial={"driveside": "right"}), demo_channel)
    assert [(p.id, p.version, dict(p.variant)) for p in res.packages] == [
        ("memo:demo-package", "1.0", {}),
        ("memo:package-template-basic", "2.0", {}),
        ("memo:package-template-variants", "1.0", {"driveside": "right"}),
    ]
    assert len(res.assets) == 6
    assert all(isinstance(a, Asset) for a in res.assets)
