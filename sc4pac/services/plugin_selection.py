"""The explicitly added packages of a profile and reinstall marks: the rules both transports share."""

from __future__ import annotations

from pathlib import Path

from ..errors import PackageNotFound, listing
from ..off_loop import off_loop_if_large
from ..profiles import ProfileStore
from .package_ids import package_id, package_ids

__all__ = ["add_packages", "mark_for_reinstall", "plugins_folder", "remove_packages"]


def _canonical_unique_now(values: list[str]) -> list[str]:
    return list(dict.fromkeys(package_ids(values)))


async def _canonical_unique(values: list[str]) -> list[str]:
    """Canonical ids without repeats, order kept (a bulk import's thousands in a worker thread)."""
    return await off_loop_if_large(len(values), _canonical_unique_now, values)


async def add_packages(store: ProfileStore, profile_id: str, values: list[str]) -> list[str]:
    """Add packages to the explicit list (order kept, repeats ignored); the canonical ids added.

    Packages are not looked up in the channels, so adding works offline.
    """
    packages = await _canonical_unique(values)
    await store.add_explicit(profile_id, packages)
    return packages


async def remove_packages(store: ProfileStore, profile_id: str, values: list[str]) -> list[str]:
    """Remove packages from the explicit list; 400 (nothing changed) if one of them is not in it."""
    packages = await _canonical_unique(values)
    await store.remove_explicit(
        profile_id, packages, hint="Only explicitly added packages can be removed; list them first."
    )
    return packages


async def mark_for_reinstall(
    store: ProfileStore, profile_id: str, values: list[str], *, redownload: bool
) -> list[str]:
    """Mark packages for reinstallation by the next update; the canonical ids marked.

    Without ``redownload`` every package must be installed (404 naming the others, nothing written):
    marking a package that is not installed would silently do nothing. With ``redownload`` packages
    that are only pending installation (after a failed or cancelled update) are accepted too, so that
    their downloads are fetched again.
    """
    packages = await _canonical_unique(values)
    store.read_spec(profile_id)  # 409 for an uninitialized profile, 400 for an unknown one
    if not redownload:
        lock = store.read_lock(profile_id)
        installed = {entry.id for entry in (lock.installed if lock else [])}
        missing = [p for p in packages if p not in installed]
        if missing:
            raise PackageNotFound(
                f"Not installed: {listing(missing)}",
                "Only installed packages can be reinstalled. Pending packages can be downloaded again "
                "with redownload; other packages are installed by adding them and updating.",
            )
    await store.mark_for_reinstall(profile_id, packages, redownload=redownload)
    return packages


def plugins_folder(store: ProfileStore, profile_id: str, pkg: str | None = None) -> Path:
    """The profile's Plugins folder, or the folder of an installed package; 404 if it is not installed."""
    spec = store.read_spec(profile_id)
    plugins_root = store.plugins_root(profile_id, spec.config)
    if pkg is None:
        return plugins_root
    pkg_id = package_id(pkg)
    lock = store.read_lock(profile_id)
    entry = next((e for e in (lock.installed if lock else []) if e.id == pkg_id), None)
    sub = next((f for f in (entry.files if entry else []) if f.endswith(".sc4pac")), None)
    if sub is None:
        raise PackageNotFound("Package is not installed.", pkg_id)
    return plugins_root / sub
