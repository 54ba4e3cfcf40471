"""A profile's variant selections: the values a package offers, setting and resetting them.

Both transports call these functions, so a selection the API accepts is exactly one the CLI accepts.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from ..channels.index import ChannelIndex
from ..errors import BadRequest, ChannelsNotAvailable, PackageNotFound, listing
from ..models.channel import Package, VariantInfo
from ..models.messages import VariantPrompt
from ..models.profile import PluginsSpec
from ..off_loop import off_loop_if_large
from ..profiles import ProfileStore
from ..wire import opt
from .package_ids import package_id

if TYPE_CHECKING:
    from . import Services

log = logging.getLogger(__name__)

__all__ = [
    "ConfiguredVariant",
    "VariantChoices",
    "configured_variants",
    "offered_values",
    "reset_variants",
    "set_variants",
    "variant_choices",
]


def _with_variant(spec: PluginsSpec, variant: dict[str, str]) -> PluginsSpec:
    return msgspec.structs.replace(spec, config=msgspec.structs.replace(spec.config, variant=variant))


def offered_values(package: Package, variant_id: str) -> list[str]:
    """The values ``package`` offers for ``variant_id`` (plain and conditional variants, first seen first)."""
    # The resolver loads on first use (the daemon's start does not need it).
    from ..resolve.variants import conditional_choices

    values: list[str] = []
    for data in package.variants:
        for value in [data.variant.get(variant_id), *conditional_choices(data).get(variant_id, [])]:
            if value is not None and value not in values:
                values.append(value)
    return values


def _owner_of(variant_id: str) -> str | None:
    """The package a local variant id ``<group>:<name>:<x>`` belongs to (None for global ids)."""
    parts = variant_id.split(":")
    if len(parts) < 3 or not parts[0] or not parts[1]:
        return None
    return f"{parts[0]}:{parts[1]}"


@dataclass(frozen=True)
class VariantChoices:
    """A variant prompt for a package page, and the index it was built from (stale channels)."""

    prompt: VariantPrompt
    index: ChannelIndex


async def _latest(services: Services, profile_id: str, spec: PluginsSpec, pkg_id: str) -> Package | None:
    index = await services.channel_index(profile_id, spec)
    cache_root = services.cache_root(profile_id, spec)
    return await services.repository.latest_package(index, pkg_id, cache_root=cache_root)


async def variant_choices(services: Services, profile_id: str, pkg: str, variant_id: str) -> VariantChoices:
    """The values a package offers for a variant id, with its description and the configured value.

    404 when no channel has the package or the package has no such variant id.
    """
    from ..resolve.variants import variant_info_for

    pkg_id = package_id(pkg)
    spec = services.store.read_spec(profile_id)
    index = await services.channel_index(profile_id, spec)
    cache_root = services.cache_root(profile_id, spec)
    repository = services.repository
    package = await repository.latest_package(index, pkg_id, cache_root=cache_root)
    choices = offered_values(package, variant_id) if package is not None else []
    if package is None or not choices:
        raise PackageNotFound(f"Variant ID {variant_id} not found for package.", pkg_id)

    async def lookup(owner: str, vid: str) -> VariantInfo | None:
        owner_pkg = await repository.latest_package(index, owner, cache_root=cache_root)
        return None if owner_pkg is None else owner_pkg.variantInfo.get(vid)

    prompt = VariantPrompt(
        package=pkg_id,
        variantId=variant_id,
        choices=choices,
        info=await variant_info_for(package, variant_id, lookup),
        previouslySelectedValue=opt(spec.config.variant.get(variant_id)),
        importedValues=[],  # nothing is imported outside an update
        token=f"{secrets.randbits(32):x}",
        responses={},
    )
    return VariantChoices(prompt, index)


async def _check_offered(
    services: Services, profile_id: str, spec: PluginsSpec, selections: dict[str, str], pkg: str | None
) -> None:
    """Refuse values the owning package does not offer.

    The owner is ``pkg`` when given (then it must have every id), else the package a local id
    ``<group>:<name>:<x>`` names, when a channel has it. Global ids (``driveside``) are shared by many
    packages and are checked when an update resolves them.
    """
    explicit = package_id(pkg) if pkg is not None else None
    # An import sets many ids of the same packages: look each package up once.
    packages: dict[str, Package | None] = {}
    offline = False
    for variant_id, value in selections.items():
        owner = explicit or _owner_of(variant_id)
        if owner is None or offline:
            continue
        try:
            if owner not in packages:
                packages[owner] = await _latest(services, profile_id, spec, owner)
            package = packages[owner]
        except ChannelsNotAvailable:
            if explicit is not None:
                raise
            # Offline without cached channel data: setting a variant still works, as adding a package
            # does; the update checks the value when it resolves the package. (No retry per id.)
            log.info("Variants from %s on not checked: channel data unavailable", variant_id)
            offline = True
            continue
        offered = offered_values(package, variant_id) if package is not None else []
        if not offered:
            if explicit is None:
                continue  # a local id of a package no channel has (any longer): nothing to check against
            raise PackageNotFound(f"Variant ID {variant_id} not found for package.", owner)
        if value not in offered:
            raise BadRequest(
                f"Variant value not offered: {variant_id}={value}",
                f"{owner} offers {variant_id} = {' | '.join(offered)}.",
            )


async def set_variants(
    services: Services, profile_id: str, selections: dict[str, str], *, package: str | None = None
) -> dict[str, str]:
    """Merge selections into the configured ones; the selections now stored.

    Ids and values must be non-empty; values are checked against the owning package (see
    :func:`_check_offered`). Nothing is written when a check fails.
    """
    empty = [k for k, v in selections.items() if not k or not v]
    if empty:
        raise BadRequest("Malformed variant selections.", "Variant ids and values must not be empty.")
    store = services.store
    spec = store.read_spec(profile_id)
    await _check_offered(services, profile_id, spec, selections, package)

    def merge(current: PluginsSpec) -> PluginsSpec | None:
        variant = {**current.config.variant, **selections}
        return None if variant == current.config.variant else _with_variant(current, variant)

    def change(current: PluginsSpec) -> Awaitable[PluginsSpec | None]:
        return off_loop_if_large(len(selections) + len(current.config.variant), merge, current)

    return (await store.modify_spec(profile_id, change)).config.variant


async def reset_variants(store: ProfileStore, profile_id: str, ids: list[str]) -> list[str]:
    """Forget configured selections (the next update asks again); 400 if one of them is not configured."""

    drop = set(ids)  # a set, not the list: resetting thousands of variants must stay linear

    def reset(spec: PluginsSpec) -> PluginsSpec:
        unknown = [i for i in dict.fromkeys(ids) if i not in spec.config.variant]
        if unknown:
            raise BadRequest(
                f"Variant does not exist: {listing(unknown)}",
                "Only configured variants can be reset; list the variants to see them.",
            )
        return _with_variant(spec, {k: v for k, v in spec.config.variant.items() if k not in drop})

    await store.modify_spec(
        profile_id, lambda spec: off_loop_if_large(len(ids) + len(spec.config.variant), reset, spec)
    )
    return list(dict.fromkeys(ids))


@dataclass(frozen=True)
class ConfiguredVariant:
    """A configured selection and whether an installed package uses its variant id."""

    value: str
    used: bool


def configured_variants(store: ProfileStore, profile_id: str) -> dict[str, ConfiguredVariant]:
    """The profile's selections in stored order; ``used`` is false when no installed package uses the id."""
    spec = store.read_spec(profile_id)
    lock = store.read_lock(profile_id)
    used = {key for entry in (lock.installed if lock else []) for key in entry.variant}
    return {k: ConfiguredVariant(v, k in used) for k, v in spec.config.variant.items()}
