"""Variant routes: the profile's configured variant selections."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..services.variant_selection import configured_variants, reset_variants, set_variants
from ..wire import WireStruct
from .http import Query, body_as, ok, respond
from .routing import get, post
from .scopes import needs
from .state import server_state


class VariantValue(WireStruct):
    value: str
    unused: bool


class VariantList(WireStruct):
    variants: dict[str, VariantValue]


@get("/variants.list", opt=needs("read"), sync_to_thread=False)
def variants_list(request: Request) -> Response:
    profile_id = Query.of(request).profile()
    configured = configured_variants(server_state(request).store, profile_id)
    variants = {k: VariantValue(c.value, not c.used) for k, c in configured.items()}
    return respond(request, VariantList(variants))


@post("/variants.reset", opt=needs("write"))
async def variants_reset(request: Request) -> Response:
    profile_id = Query.of(request).profile()
    ids = await body_as(
        request, list[str], "Malformed variant labels.", "Pass variants as an array of strings."
    )
    await reset_variants(server_state(request).store, profile_id, ids)
    return ok(request)


@post("/variants.set", opt=needs("write"))
async def variants_set(request: Request) -> Response:
    query = Query.of(request)
    profile_id = query.profile()
    selections = await body_as(
        request, dict[str, str], "Malformed variant selections.", "Pass variants as a mapping of strings."
    )
    services = server_state(request).services
    await set_variants(services, profile_id, selections, package=query.get("pkg"))
    return ok(request)


ROUTES = [variants_list, variants_reset, variants_set]
