"""Package routes: listing, info, searches, and variant choices (all need channel data)."""

from __future__ import annotations

import asyncio
import logging

from litestar import Request, Response, get, post

from ..channels.index import ChannelIndex
from ..models.channel import Package, Stats
from ..models.profile import PluginsSpec
from ..models.status import InstalledStatus, installed_version, statuses
from ..services.package_ids import package_ids
from ..services.package_info import package_details
from ..services.search_threshold import search_threshold
from ..services.variant_selection import variant_choices
from ..wire import WireStruct
from .http import Query, body_as, respond, stale_header
from .scopes import needs
from .state import server_state

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


async def _index(request: Request, profile_id: str) -> tuple[PluginsSpec, ChannelIndex]:
    state = server_state(request)
    spec = state.store.read_spec(profile_id)
    return spec, await state.services.channel_index(profile_id, spec)


def _package_param(query: Query) -> str:
    return query.require("pkg", 'Query parameter "pkg" is required.', "Pass the package identifier as query.")


@get("/packages.list", opt=needs("read"))
async def packages_list(request: Request) -> Response[bytes]:
    profile_id = Query.of(request).profile()
    _, index = await _index(request, profile_id)
    return respond(request, index.package_listing, headers=stale_header(index))


@get("/packages.search", opt=needs("read"))
async def packages_search(request: Request) -> Response[bytes]:
    from ..channels.search import search_packages  # numpy and rapidfuzz load on first search only

    state = server_state(request)
    query = Query.of(request)
    profile_id = query.profile()
    text = query.require("q", 'Query parameter "q" is required.', "Pass the search string as query.")
    threshold = search_threshold(query.get("threshold"))
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


@post("/packages.search.id", opt=needs("read"), status_code=200)
async def packages_search_id(request: Request) -> Response[bytes]:
    from ..channels.search import search_by_ids

    state = server_state(request)
    profile_id = Query.of(request).profile()
    title, detail = (
        "Malformed package names",
        "Pass a \"packages\" array of strings of the form '<group>:<name>'.",
    )
    body = await body_as(request, IdSearchBody, title, detail)
    packages = package_ids(body.packages)
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


@get("/plugins.search", opt=needs("read"), sync_to_thread=False)
def plugins_search(request: Request) -> Response[bytes]:
    from ..channels.search import search_installed

    state = server_state(request)
    query = Query.of(request)
    profile_id = query.profile()
    text = query.require("q", 'Query parameter "q" is required.', "Pass the search string as query.")
    threshold = search_threshold(query.get("threshold"))
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


@get("/packages.info", opt=needs("read"))
async def packages_info(request: Request) -> Response[bytes]:
    query = Query.of(request)
    profile_id = query.profile()
    details = await package_details(server_state(request).services, profile_id, _package_param(query))
    info = PackageInfo({"statuses": details.related_statuses}, details.package)
    return respond(request, info, headers=stale_header(details.index))


@get("/variants.choices", opt=needs("read"))
async def variants_choices(request: Request) -> Response[bytes]:
    query = Query.of(request)
    variant_id = query.require(
        "variantId", 'Query parameter "variantId" is required.', "Pass the variant identifier as query."
    )
    profile_id = query.profile()
    services = server_state(request).services
    found = await variant_choices(services, profile_id, _package_param(query), variant_id)
    return respond(request, found.prompt, headers=stale_header(found.index))


ROUTES = [packages_list, packages_search, packages_search_id, plugins_search, packages_info, variants_choices]
