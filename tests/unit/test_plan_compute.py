"""Install plan computation (rules: sc4pac.resolve.plan)."""

from __future__ import annotations

from sc4pac.models.channel import ArchiveType, Asset, Checksum, Package
from sc4pac.models.messages import PlanItem
from sc4pac.models.profile import PluginsLock, empty_lock
from sc4pac.resolve import InMemoryProvider, Resolution, VariantSelection, compute_plan, resolve

from .test_resolve_support import asset, lock_after_install, package, variant


def channel(*replacements: Package | Asset) -> InMemoryProvider:
    """``top:app`` (driveside variants) -> ``lib:core``; ``extra:pkg`` shares an asset; records may be replaced."""
    records: list[Package | Asset] = [
        package(
            "top:app",
            variant({"driveside": "right"}, deps=["lib:core"], assets=["app-main", "app-rhd"]),
            variant({"driveside": "left"}, deps=["lib:core"], assets=["app-main"]),
        ),
        package("lib:core", variant(assets=["core-files"]), version="2.0"),
        package("extra:pkg", variant(assets=["core-files"])),
        *(asset(a) for a in ("app-main", "app-rhd", "core-files")),
    ]
    provider = InMemoryProvider(
        [r for r in records if isinstance(r, Package)], [r for r in records if isinstance(r, Asset)]
    )
    for r in replacements:
        if isinstance(r, Package):
            provider.packages[r.id] = r
        else:
            provider.assets[r.assetId] = r
    return provider


async def resolved(provider: InMemoryProvider, explicit: list[str], driveside: str = "right") -> Resolution:
    return await resolve(explicit, VariantSelection(initial={"driveside": driveside}), provider)


def items(plan_items: list[PlanItem]) -> list[tuple[str, str, dict[str, str]]]:
    return [(i.package, i.version, i.variant) for i in plan_items]


async def test_fresh_install() -> None:
    res = await resolved(channel(), ["top:app"])
    plan = compute_plan(res, empty_lock())
    assert items(plan.to_install_items()) == [
        ("top:app", "1.0", {"driveside": "right"}),
        ("lib:core", "2.0", {}),
    ]
    assert [a.assetId for a in plan.install_assets] == ["app-main", "app-rhd", "core-files"]
    assert plan.to_remove_items() == []
    assert plan.remove_assets == ()
    assert plan.reinstall == frozenset()
    assert plan.redownload_asset_ids == frozenset()
    assert not plan.up_to_date


async def test_nothing_to_do() -> None:
    res = await resolved(channel(), ["top:app"])
    plan = compute_plan(res, lock_after_install(res))
    assert plan.up_to_date
    assert plan.install_packages == ()
    assert plan.install_assets == ()
    assert plan.remove_packages == ()
    assert compute_plan(await resolve([], VariantSelection(), channel()), empty_lock()).up_to_date


async def test_remove_everything() -> None:
    res = await resolved(channel(), ["top:app"])
    lock = lock_after_install(res)
    plan = compute_plan(await resolve([], VariantSelection(), channel()), lock)
    assert items(plan.to_remove_items()) == [
        ("top:app", "1.0", {"driveside": "right"}),
        ("lib:core", "2.0", {}),
    ]
    assert plan.to_install_items() == []
    assert [a.assetId for a in plan.remove_assets] == ["app-main", "app-rhd", "core-files"]
    assert plan.kept_lock_packages(lock) == []
    assert plan.next_lock_assets(lock) == []


async def test_variant_switch_shows_package_in_both_lists() -> None:
    lock = lock_after_install(await resolved(channel(), ["top:app"], "right"))
    plan = compute_plan(await resolved(channel(), ["top:app"], "left"), lock)
    assert items(plan.to_remove_items()) == [("top:app", "1.0", {"driveside": "right"})]
    assert items(plan.to_install_items()) == [("top:app", "1.0", {"driveside": "left"})]
    assert [a.assetId for a in plan.install_assets] == ["app-main"]  # unchanged, but needed to stage
    assert [a.assetId for a in plan.remove_assets] == ["app-rhd"]
    assert [e.id for e in plan.kept_lock_packages(lock)] == ["lib:core"]
    assert sorted(a.assetId for a in plan.next_lock_assets(lock)) == ["app-main", "core-files"]


async def test_version_update() -> None:
    lock = lock_after_install(await resolved(channel(), ["top:app"]))
    newer = channel(package("lib:core", variant(assets=["core-files"]), version="2.1"))
    plan = compute_plan(await resolved(newer, ["top:app"]), lock)
    assert items(plan.to_remove_items()) == [("lib:core", "2.0", {})]
    assert items(plan.to_install_items()) == [("lib:core", "2.1", {})]
    assert [a.assetId for a in plan.install_assets] == ["core-files"]
    assert plan.remove_assets == ()


async def test_reinstall_flag() -> None:
    res = await resolved(channel(), ["top:app"])
    lock = lock_after_install(res, **{"top:app": {"reinstall": True}})
    plan = compute_plan(res, lock)
    assert (
        plan.to_remove_items()
        == plan.to_install_items()
        == [PlanItem(package="top:app", version="1.0", variant={"driveside": "right"})]
    )
    assert [a.assetId for a in plan.install_assets] == ["app-main", "app-rhd"]
    assert plan.remove_assets == ()
    assert {i.id for i in plan.reinstall} == {"top:app"}
    assert plan.redownload_asset_ids == frozenset()
    assert not plan.up_to_date


async def test_reinstall_flag_with_version_change_is_plain_update() -> None:
    res = await resolved(channel(), ["top:app"])
    lock = lock_after_install(res, **{"lib:core": {"reinstall": True}})
    newer = channel(package("lib:core", variant(assets=["core-files"]), version="3"))
    plan = compute_plan(await resolved(newer, ["top:app"]), lock)
    assert plan.reinstall == frozenset()
    assert items(plan.to_remove_items()) == [("lib:core", "2.0", {})]
    assert items(plan.to_install_items()) == [("lib:core", "3", {})]


async def test_redownload_only_assets_of_marked_packages() -> None:
    res = await resolved(channel(), ["top:app", "extra:pkg"])
    lock = lock_after_install(res, **{"top:app": {"reinstall": True}})
    lock = PluginsLock(
        scheme=2, installed=lock.installed, assets=lock.assets, redownload=["top:app", "not:resolved"]
    )
    plan = compute_plan(res, lock)
    assert plan.redownload_asset_ids == frozenset({"app-main", "app-rhd"})


async def test_redownload_ignored_for_packages_not_installed_now() -> None:
    res = await resolved(channel(), ["top:app"])
    lock = lock_after_install(res)
    lock = PluginsLock(scheme=2, installed=lock.installed, assets=lock.assets, redownload=["top:app"])
    plan = compute_plan(res, lock)
    assert plan.up_to_date
    assert plan.redownload_asset_ids == frozenset()


async def test_changed_asset_reinstalls_its_direct_dependents() -> None:
    res = await resolved(channel(), ["top:app", "extra:pkg"])
    lock = lock_after_install(res)
    for field_change in (
        {"version": "1.1"},
        {"url": "http://elsewhere/core.zip"},
        {"lastModified": "2024-05-01T00:00:00Z"},
        {"archiveType": [ArchiveType(format="Clickteam", version="40")]},
        {"checksum": Checksum(sha256="ab" * 32)},
    ):
        changed = asset("core-files", **field_change)
        plan = compute_plan(await resolved(channel(changed), ["top:app", "extra:pkg"]), lock)
        # lib:core and extra:pkg use the asset directly; top:app only through lib:core.
        assert items(plan.to_install_items()) == [("extra:pkg", "1.0", {}), ("lib:core", "2.0", {})], (
            field_change
        )
        assert items(plan.to_remove_items()) == [("extra:pkg", "1.0", {}), ("lib:core", "2.0", {})]
        assert plan.install_assets == (changed,)
        assert [a.assetId for a in plan.remove_assets] == ["core-files"]
        assert plan.next_lock_assets(lock).count(changed) == 1
        assert len(plan.next_lock_assets(lock)) == 3


async def test_new_dependency_of_installed_package() -> None:
    lock = lock_after_install(await resolved(channel(), ["top:app"]))
    plan = compute_plan(await resolved(channel(), ["top:app", "extra:pkg"]), lock)
    assert items(plan.to_install_items()) == [("extra:pkg", "1.0", {})]
    assert [a.assetId for a in plan.install_assets] == ["core-files"]  # shared, already recorded
    assert plan.to_remove_items() == []
    assert len(plan.next_lock_assets(lock)) == 3  # no duplicate of the shared asset
