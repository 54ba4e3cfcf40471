"""What resolution raises: the internal missing-variant signal and the domain errors it builds.

The domain errors subclass those of :mod:`sc4pac.errors`, so the API maps them as usual, and add
the typed attributes the recovery loop of :mod:`sc4pac.resolve.session` needs.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import (
    AssetNotFound,
    ConflictingPackages,
    UnresolvableDependencies,
    UnsatisfiableVariantConstraints,
    VersionNotFound,
)
from ..models.channel import Package

__all__ = [
    "MissingVariant",
    "PackageConflict",
    "UnresolvablePackages",
    "asset_not_found",
    "configured_value_not_a_choice",
    "incomplete_variant_metadata",
    "package_not_found",
]


class MissingVariant(Exception):
    """Internal: ``package`` needs variant values the selection does not have yet."""

    def __init__(self, package: Package) -> None:
        super().__init__(f"Missing variant for {package.id}")
        self.package = package


class UnresolvablePackages(UnresolvableDependencies):
    """Packages that no channel knows; ``package_ids`` in closure order."""

    TITLE = (
        "Some packages could not be resolved. Maybe they have been renamed or deleted from the "
        "corresponding channel."
    )

    def __init__(self, package_ids: Sequence[str], title: str = TITLE) -> None:
        super().__init__(title, "\n".join(package_ids))
        self.package_ids: tuple[str, ...] = tuple(package_ids)


class PackageConflict(ConflictingPackages):
    """Two reached packages conflict; ``explicit1``/``explicit2`` are the explicit packages behind each."""

    def __init__(self, first: str, second: str, explicit1: Sequence[str], explicit2: Sequence[str]) -> None:
        hint = "\n".join(
            ["Either uninstall:", "", *(f"    {p}" for p in explicit1), "", "Or uninstall:", "",
             *(f"    {p}" for p in explicit2)]
        )  # fmt: skip
        super().__init__(
            f"The packages {first} and {second} are in conflict with each other and cannot be "
            "installed at the same time.",
            "Decide which of the two packages you want to keep; uninstall the other and all packages "
            "that depend on it. Sometimes, choosing different package variants can resolve the "
            f"conflict, as well.\n{hint}",
            conflict=[first, second],
        )
        self.conflict: tuple[str, str] = (first, second)
        self.explicit1: list[str] = list(explicit1)
        self.explicit2: list[str] = list(explicit2)


def package_not_found(package_id: str) -> VersionNotFound:
    """The error for a package that no channel has."""
    return VersionNotFound(
        f"Could not find metadata of {package_id} or suitable variant.",
        "Either the package name is spelled incorrectly or the metadata stored in the corresponding "
        "channel is incorrect or incomplete.",
    )


def asset_not_found(asset_id: str) -> AssetNotFound:
    """The error for an asset that no channel has."""
    return AssetNotFound(
        f"Could not find metadata of asset {asset_id}.",
        "Most likely this is due to incorrect or incomplete metadata in the corresponding channel.",
    )


def incomplete_variant_metadata(package_id: str, reason: str) -> UnsatisfiableVariantConstraints:
    """The error for variants that do not form a valid decision tree (see :mod:`sc4pac.variant_tree`)."""
    return UnsatisfiableVariantConstraints(
        f"Unable to choose variants as the metadata of {package_id} seems incomplete", reason
    )


def configured_value_not_a_choice(
    package_id: str, variant_id: str, value: str, choices: Sequence[str]
) -> UnsatisfiableVariantConstraints:
    """The error for a configured variant value that the package does not offer."""
    return UnsatisfiableVariantConstraints(
        f"None of the variants {', '.join(choices)} of {package_id} match the configured variant "
        f"{variant_id}={value}.",
        "The package metadata seems incorrect, but resetting the configured variant in the GUI "
        f'Dashboard may resolve the problem (CLI command: `sc4pac variant reset "{variant_id}"`).',
    )
