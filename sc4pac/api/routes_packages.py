"""Package routes: listing, info, searches, and variant choices (all need channel data)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from ..models.channel import Package, Stats
from ..models.status import InstalledStatus
from ..services.package_info import package_details
from ..services.package_search import (
    Found,
    SearchFilters,
    search_channels,
    search_ids,
    search_installed_packages,
)
from ..services.variant_selection import variant_choices
from ..wire import WireStruct
from .http import Query, body_as, respond, stale_header
from .routing import get, post
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


def _package_param(query: Query) -> str:
    return query.require("pkg", 'Query parameter "pkg" is required.', "Pass the package identifier as query.")


@get("/packages.list", opt=needs("read"))
async def packages_list(request: Request) -> Response:
    profile_id = Query.of(request).profile()
    services = server_state(request).services
    index = await services.channel_index(profile_id, services.store.read_spec(profile_id))
    return respond(request, index.package_listing, headers=stale_header(index))


def _items(found: list[Found]) -> list[SearchItem]:
    return [SearchItem(f.hit.package, f.hit.relevance, f.hit.summary, f.status) for f in found]


def _text_param(query: Query) -> str:
    return query.require("q", 'Query parameter "q" is required.', "Pass the search string as query.")


@get("/packages.search", opt=needs("read"))
async def packages_search(request: Request) -> Response:
    query = Query.of(request)
    profile_id = query.profile()
    text = _text_param(query)
    filters = SearchFilters(
        categories=query.all("category"),
        not_categories=query.all("notCategory"),
        channel_url=query.get("channel"),
        ignore_installed=query.flag("ignoreInstalled"),
    )
    services = server_state(request).services
    result = await search_channels(services, profile_id, text, query.get("threshold"), filters)
    response = SearchResponse(_items(result.found), result.stats)
    return respond(request, response, headers=stale_header(result.index))


@post("/packages.search.id", opt=needs("read"))
async def packages_search_id(request: Request) -> Response:
    profile_id = Query.of(request).profile()
    title, detail = (
        "Malformed package names",
        "Pass a \"packages\" array of strings of the form '<group>:<name>'.",
    )
    body = await body_as(request, IdSearchBody, title, detail)
    result = await search_ids(server_state(request).services, profile_id, body.packages, body.externalIds)
    response = SearchResponse(
        _items(result.found),
        notFoundPackageCount=result.not_found_package_count,
        notFoundExternalIdCount=result.not_found_external_id_count,
    )
    return respond(request, response, headers=stale_header(result.index))


@get("/plugins.search", opt=needs("read"), sync_to_thread=False)
def plugins_search(request: Request) -> Response:
    query = Query.of(request)
    profile_id = query.profile()
    text = _text_param(query)
    store = server_state(request).store
    result = search_installed_packages(store, profile_id, text, query.get("threshold"), query.get("category"))
    return respond(request, InstalledSearchResponse(result.stats, _items(result.found)))


@get("/packages.info", opt=needs("read"))
async def packages_info(request: Request) -> Response:
    query = Query.of(request)
    profile_id = query.profile()
    details = await package_details(server_state(request).services, profile_id, _package_param(query))
    info = PackageInfo({"statuses": details.related_statuses}, details.package)
    return respond(request, info, headers=stale_header(details.index))


@get("/variants.choices", opt=needs("read"))
async def variants_choices(request: Request) -> Response:
    query = Query.of(request)
    variant_id = query.require(
        "variantId", 'Query parameter "variantId" is required.', "Pass the variant identifier as query."
    )
    profile_id = query.profile()
    services = server_state(request).services
    found = await variant_choices(services, profile_id, _package_param(query), variant_id)
    return respond(request, found.prompt, headers=stale_header(found.index))


ROUTES = [packages_list, packages_search, packages_search_id, plugins_search, packages_info, variants_choices]
