"""Package routes: listing, info, searches, and variant choices (all need channel data)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Response, get, post

from ..channels.index import ChannelIndex
from ..errors import BadRequest, PackageNotFound
from ..models.channel import Package, Stats
from ..models.messages import VariantPrompt
from ..models.profile import PluginsSpec
from ..models.status import InstalledStatus, installed_version, statuses
from ..resolve.variants import conditional_choices, variant_info_for
from ..wire import WireStruct, opt
from .http import Query, body_as, canonical_package_ids, respond, stale_header
from .state import ServerState

log = logging.getLogger(__name__)


class SearchItem(WireStruct):
    package: str
    relevance: int
    summary: str
    status: InstalledStatus | None = None


class SearchResponse(WireStruct):
    packages: list[SearchItem]
    stats: Stats | None = None
    notFoundPackageCount: int = 0
    notFoundExternalIdCount: int = 0


class InstalledSearchResponse(WireStruct):
    stats: Stats
    packages: list[SearchItem]


class IdSearchBody(WireStruct):
    packages: list[str]
    externalIds: list[tuple[str, str]] = []


class PackageInfo(WireStruct):
    local: dict[str, dict[str, InstalledStatus]]
    remote: Package


def _state(request: Request[Any, Any, Any]) -> ServerState:
    state: ServerState = request.app.state.sc4pac
    return state


async def _index(request: Request[Any, Any, Any], profile_id: str) -> tuple[PluginsSpec, ChannelIndex]:
    state = _state(request)
    spec = state.store.read_spec(profile_id)
    return spec, await state.services.channel_index(profile_id, spec)


def _threshold(query: Query) -> int:
    raw = query.get("threshold")
    if raw is None:
        return 80
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= 100:
        raise BadRequest("Invalid threshold", "Threshold must be a number between 0 and 100.")
    return value


@dataclass(frozen=True)
class _PackageLookup:
    profile_id: str
    pkg_id: str
    spec: PluginsSpec
    index: ChannelIndex
    cache_root: Path
    package: Package | None  # latest version's metadata; None when no channel has the package


async def _lookup_package(
    request: Request[Any, Any, Any], query: Query
) -> tuple[ServerState, _PackageLookup]:
    """The profile, the ``pkg`` query parameter and that package's latest metadata."""
    state = _state(request)
    profile_id = query.profile()
    pkg_id = _single_package(query)
    spec, index = await _index(request, profile_id)
    cache_root = state.services.cache_root(profile_id, spec)
    pkg = await state.services.repository.latest_package(index, pkg_id, cache_root=cache_root)
    return state, _PackageLookup(profile_id, pkg_id, spec, index, cache_root, pkg)


def _single_package(query: Query, key: str = "pkg") -> str:
    pkg = query.require(key, f'Query parameter "{key}" is required.', "Pass the package identifier as query.")
    [pkg_id] = canonical_package_ids(
        [pkg], f"Malformed package name: {pkg}", "Pass the package as <group>:<name>."
    )
    return pkg_id


@get("/packages.list")
async def packages_list(request: Request[Any, Any, Any]) -> Response[bytes]:
    profile_id = Query.of(request).profile()
    _, index = await _index(request, profile_id)
    return respond(request, index.package_listing, headers=stale_header(index))


@get("/packages.search")
async def packages_search(request: Request[Any, Any, Any]) -> Response[bytes]:
    from ..channels.search import search_packages  # numpy and rapidfuzz load on first search only

    state = _state(request)
    query = Query.of(request)
    profile_id = query.profile()
    text = query.require("q", 'Query parameter "q" is required.', "Pass the search string as query.")
    threshold = _threshold(query)
    spec, index = await _index(request, profile_id)
    lock = state.store.read_lock(profile_id)
    status = statuses(lock, spec.explicit)
    installed = (
        {p for p, s in status.items() if s.installed is not None} if query.flag("ignoreInstalled") else set()
    )
    result = await asyncio.to_thread(
        search_packages,
        index,
        text,
        threshold=threshold,
        categories=query.all("category"),
        not_categories=query.all("notCategory"),
        channel_url=query.get("channel"),
        drop_ids=installed,
    )
    items = [SearchItem(h.package, h.relevance, h.summary, status.get(h.package)) for h in result.hits]
    return respond(request, SearchResponse(items, result.stats), headers=stale_header(index))


@post("/packages.search.id", status_code=200)
async def packages_search_id(request: Request[Any, Any, Any]) -> Response[bytes]:
    from ..channels.search import search_by_ids

    state = _state(request)
    profile_id = Query.of(request).profile()
    title, detail = (
        "Malformed package names",
        "Pass a \"packages\" array of strings of the form '<group>:<name>'.",
    )
    body = await body_as(request, IdSearchBody, title, detail)
    packages = canonical_package_ids(body.packages, title, detail)
    spec, index = await _index(request, profile_id)
    status = statuses(state.store.read_lock(profile_id), spec.explicit)
    result = search_by_ids(index, packages, body.externalIds)
    items = [SearchItem(h.package, h.relevance, h.summary, status.get(h.package)) for h in result.hits]
    response = SearchResponse(
        items,
        notFoundPackageCount=result.not_found_package_count,
        notFoundExternalIdCount=result.not_found_external_id_count,
    )
    return respond(request, response, headers=stale_header(index))


@get("/plugins.search", sync_to_thread=False)
def plugins_search(request: Request[Any, Any, Any]) -> Response[bytes]:
    from ..channels.search import search_installed

    state = _state(request)
    query = Query.of(request)
    profile_id = query.profile()
    text = query.require("q", 'Query parameter "q" is required.', "Pass the search string as query.")
    threshold = _threshold(query)
    spec = state.store.read_spec(profile_id)
    lock = state.store.read_lock(profile_id)
    explicit = set(spec.explicit)
    result = search_installed(
        lock.installed if lock else [], text, threshold=threshold, category=query.get("category")
    )
    items = [
        SearchItem(
            h.package,
            h.relevance,
            h.summary,
            InstalledStatus(h.package in explicit, installed_version(h.installed)),
        )
        for h in result.hits
    ]
    return respond(request, InstalledSearchResponse(result.stats, items))


async def _reverse_links(state: ServerState, index: ChannelIndex, pkg: Package, cache_root: Path) -> Package:
    """The package with ``requiredBy``/``reverseConflictingPackages`` extended by every channel's links."""
    loader = state.services.repository.loader(cache_root)
    channels = [ch for ch, _ in index.external_sources(pkg.id)]
    if not channels:
        return pkg
    results = await asyncio.gather(
        *(loader.fetch_external_package(ch, pkg.id) for ch in channels), return_exceptions=True
    )
    required = set(pkg.info.requiredBy)
    conflicting = set(pkg.info.reverseConflictingPackages)
    for result in results:
        if isinstance(result, BaseException):
            log.info("Reverse links of %s unavailable from a channel: %s", pkg.id, result)
            continue
        if result is not None:
            required.update(result.requiredBy)
            conflicting.update(result.reverseConflictingPackages)

    def by_id(ids: set[str]) -> list[str]:
        return sorted(ids, key=lambda s: tuple(s.split(":", 1)))

    info = msgspec.structs.replace(
        pkg.info, requiredBy=by_id(required), reverseConflictingPackages=by_id(conflicting)
    )
    return msgspec.structs.replace(pkg, info=info)


@get("/packages.info")
async def packages_info(request: Request[Any, Any, Any]) -> Response[bytes]:
    state, found = await _lookup_package(request, Query.of(request))
    pkg, index, spec = found.package, found.index, found.spec
    if pkg is None:
        raise PackageNotFound("Package not found in any of your channels.", found.pkg_id)
    remote = await _reverse_links(state, index, pkg, found.cache_root)
    related = {remote.id, *remote.info.requiredBy, *remote.info.reverseConflictingPackages}
    for data in remote.variants:
        related.update(f"{d.group}:{d.name}" for d in data.dependencies)
        related.update(data.conflictingPackages)
    everything = statuses(state.store.read_lock(found.profile_id), spec.explicit)
    local = {p: s for p, s in everything.items() if p in related}
    return respond(request, PackageInfo({"statuses": local}, remote), headers=stale_header(index))


@get("/variants.choices")
async def variants_choices(request: Request[Any, Any, Any]) -> Response[bytes]:
    query = Query.of(request)
    variant_id = query.require(
        "variantId", 'Query parameter "variantId" is required.', "Pass the variant identifier as query."
    )
    state, found = await _lookup_package(request, query)
    pkg, pkg_id, index, spec, cache_root = (
        found.package,
        found.pkg_id,
        found.index,
        found.spec,
        found.cache_root,
    )
    repository = state.services.repository
    choices: list[str] = []
    for data in pkg.variants if pkg else []:
        for value in [data.variant.get(variant_id), *conditional_choices(data).get(variant_id, [])]:
            if value is not None and value not in choices:
                choices.append(value)
    if pkg is None or not choices:
        raise PackageNotFound(f"Variant ID {variant_id} not found for package.", pkg_id)

    async def lookup(owner: str, vid: str) -> Any:
        owner_pkg = await repository.latest_package(index, owner, cache_root=cache_root)
        return None if owner_pkg is None else owner_pkg.variantInfo.get(vid)

    info = await variant_info_for(pkg, variant_id, lookup)
    prompt = VariantPrompt(
        package=pkg_id,
        variantId=variant_id,
        choices=choices,
        info=info,
        previouslySelectedValue=opt(spec.config.variant.get(variant_id)),
        importedValues=[],
        token=f"{secrets.randbits(32):x}",
        responses={},
    )
    return respond(request, prompt, headers=stale_header(index))


ROUTES = [packages_list, packages_search, packages_search_id, plugins_search, packages_info, variants_choices]
