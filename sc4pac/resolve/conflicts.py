"""Conflicts between reached packages: the first declared conflict whose other side is also reached."""

from __future__ import annotations

from collections.abc import Sequence

from .resolution import ResolvedPackage
from .signals import PackageConflict

__all__ = ["explicit_packages_reaching", "find_conflict"]


def find_conflict(packages: Sequence[ResolvedPackage], explicit: Sequence[str]) -> PackageConflict | None:
    """The first conflict among ``packages`` (closure order), as the error to raise, or None."""
    reached = {p.id for p in packages}
    for package in packages:
        for other in package.variant_data.conflictingPackages:
            if other in reached:
                return PackageConflict(
                    package.id,
                    other,
                    explicit_packages_reaching(package.id, packages, explicit),
                    explicit_packages_reaching(other, packages, explicit),
                )
    return None


def explicit_packages_reaching(
    target: str, packages: Sequence[ResolvedPackage], explicit: Sequence[str]
) -> list[str]:
    """The explicit packages (explicit order) from which ``target`` is reachable, itself included."""
    links = {p.id: p.dependency_ids for p in packages}
    return [root for root in dict.fromkeys(explicit) if _reaches(root, target, links)]


def _reaches(root: str, target: str, links: dict[str, tuple[str, ...]]) -> bool:
    seen = {root}
    stack = [root]
    while stack:
        current = stack.pop()
        if current == target:
            return True
        for dep in links.get(current, ()):
            if dep not in seen:
                seen.add(dep)
                stack.append(dep)
    return False
