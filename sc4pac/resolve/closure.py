"""Resolution of the explicit packages, breadth-first: a sans-I/O core and its async driver.

:func:`resolution_steps` is a generator that yields :class:`Lookup` requests and is sent the
:class:`LookupResults`; it raises the typed signals of :mod:`sc4pac.resolve.signals`. :func:`resolve`
drives it against a :class:`MetadataProvider`, fetching each round's items concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from ..errors import VersionNotFound
from ..models.channel import Asset, Package
from .conflicts import find_conflict
from .provider import MetadataProvider
from .resolution import Resolution, ResolvedPackage
from .selection import VariantSelection
from .signals import MissingVariant, UnresolvablePackages, asset_not_found
from .variants import pick_variant

__all__ = ["Lookup", "LookupResults", "drive", "resolution_steps", "resolve"]

T = TypeVar("T")

# A lookup either returns the record, None ("no channel has it") or the failure it raised.
PackageResult = Package | None | Exception
AssetResult = Asset | None | Exception


@dataclass(frozen=True)
class Lookup:
    """Metadata the core needs next (one breadth-first round, or the final asset round)."""

    package_ids: tuple[str, ...] = ()
    asset_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class LookupResults:
    """The answers to a :class:`Lookup`, keyed by the requested ids."""

    packages: Mapping[str, PackageResult] = field(default_factory=dict)
    assets: Mapping[str, AssetResult] = field(default_factory=dict)


ResolutionSteps = Generator[Lookup, LookupResults, Resolution]


def resolution_steps(explicit: Sequence[str], selection: VariantSelection) -> ResolutionSteps:
    """Resolve ``explicit`` breadth-first under ``selection``, yielding the lookups it needs."""
    reached: dict[str, ResolvedPackage] = {}
    round_ids = list(dict.fromkeys(explicit))
    while round_ids:
        results = yield Lookup(package_ids=tuple(round_ids))
        resolved = _settle_packages(round_ids, results.packages, selection)
        for package in resolved:
            reached[package.id] = package
        # The seen-set (``reached``) is what makes dependency cycles harmless.
        next_ids: dict[str, None] = {}
        for package in resolved:
            for dep in package.dependency_ids:
                if dep not in reached:
                    next_ids[dep] = None
        round_ids = list(next_ids)

    packages = tuple(reached.values())
    conflict = find_conflict(packages, explicit)
    if conflict is not None:
        raise conflict

    wanted_assets = tuple(dict.fromkeys(a for p in packages for a in p.asset_ids))
    assets: tuple[Asset, ...] = ()
    if wanted_assets:
        results = yield Lookup(asset_ids=wanted_assets)
        assets = _settle_assets(wanted_assets, results.assets)
    return Resolution(packages, assets)


def _settle_packages(
    ids: Sequence[str], results: Mapping[str, PackageResult], selection: VariantSelection
) -> list[ResolvedPackage]:
    """Pick variants for one round; the first real failure wins over not-found ones."""
    resolved: list[ResolvedPackage] = []
    not_found: list[str] = []
    failure: Exception | None = None
    for pkg_id in ids:
        result = results[pkg_id]
        if result is None or isinstance(result, VersionNotFound):
            not_found.append(pkg_id)
        elif isinstance(result, Exception):
            failure = failure or result
        else:
            try:
                chosen = pick_variant(result, selection)
            except MissingVariant as e:  # collected like any other failure of the round
                failure = failure or e
            else:
                resolved.append(ResolvedPackage(result, chosen.variant, chosen.data))
    if failure is not None:
        raise failure
    if not_found:
        raise UnresolvablePackages(not_found)
    return resolved


def _settle_assets(ids: Sequence[str], results: Mapping[str, AssetResult]) -> tuple[Asset, ...]:
    assets: list[Asset] = []
    for asset_id in ids:
        result = results[asset_id]
        if result is None or isinstance(result, VersionNotFound):
            raise asset_not_found(asset_id)
        if isinstance(result, Exception):
            raise result
        assets.append(result)
    return tuple(assets)


async def resolve(
    explicit: Sequence[str], selection: VariantSelection, provider: MetadataProvider
) -> Resolution:
    """Resolve ``explicit`` with the metadata of ``provider`` (no prompting)."""
    return await drive(resolution_steps(explicit, selection), provider)


async def drive(steps: ResolutionSteps, provider: MetadataProvider) -> Resolution:
    """Run a resolution core to completion, answering each lookup concurrently."""
    try:
        request = next(steps)
        while True:
            request = steps.send(await _fetch(request, provider))
    except StopIteration as stop:
        resolution: Resolution = stop.value
        return resolution


async def _fetch(request: Lookup, provider: MetadataProvider) -> LookupResults:
    packages, assets = await asyncio.gather(
        _gather_settled([provider.package(i) for i in request.package_ids]),
        _gather_settled([provider.asset(i) for i in request.asset_ids]),
    )
    return LookupResults(
        packages=dict(zip(request.package_ids, packages, strict=True)),
        assets=dict(zip(request.asset_ids, assets, strict=True)),
    )


async def _gather_settled(calls: list[Awaitable[T]]) -> list[T | Exception]:
    """Await all calls; failures become values so the core can aggregate them in order."""
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    settled: list[T | Exception] = []
    for outcome in outcomes:
        if isinstance(outcome, Exception) or not isinstance(outcome, BaseException):
            settled.append(outcome)
        else:  # cancellation and interpreter exits are not lookup failures: let them through
            raise outcome
    return settled
