"""Variant routes: the profile's configured variant selections."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post

from ..errors import BadRequest
from ..models.profile import PluginsSpec
from ..wire import WireStruct
from .http import Query, body_as, ok, respond


class VariantValue(WireStruct):
    value: str
    unused: bool


class VariantList(WireStruct):
    variants: dict[str, VariantValue]


@get("/variants.list", sync_to_thread=False)
def variants_list(request: Request[Any, Any, Any]) -> Response[bytes]:
    store = request.app.state.sc4pac.store
    profile_id = Query.of(request).profile()
    spec = store.read_spec(profile_id)
    lock = store.read_lock(profile_id)
    used = {key for entry in (lock.installed if lock else []) for key in entry.variant}
    variants = {k: VariantValue(v, k not in used) for k, v in spec.config.variant.items()}
    return respond(request, VariantList(variants))


@post("/variants.reset", status_code=200)
async def variants_reset(request: Request[Any, Any, Any]) -> Response[bytes]:
    profile_id = Query.of(request).profile()
    ids = await body_as(
        request, list[str], "Malformed variant labels.", "Pass variants as an array of strings."
    )

    def change(spec: PluginsSpec) -> PluginsSpec:
        unknown = [i for i in ids if i not in spec.config.variant]
        if unknown:
            raise BadRequest(
                f"Variant does not exist: {', '.join(unknown)}",
                "Get /variants.list for the currently configured variants.",
            )
        variant = {k: v for k, v in spec.config.variant.items() if k not in set(ids)}
        return msgspec.structs.replace(spec, config=msgspec.structs.replace(spec.config, variant=variant))

    await request.app.state.sc4pac.store.modify_spec(profile_id, change)
    return ok(request)


@post("/variants.set", status_code=200)
async def variants_set(request: Request[Any, Any, Any]) -> Response[bytes]:
    profile_id = Query.of(request).profile()
    selections = await body_as(
        request, dict[str, str], "Malformed variant selections.", "Pass variants as a mapping of strings."
    )

    def change(spec: PluginsSpec) -> PluginsSpec | None:
        variant = {**spec.config.variant, **selections}
        if variant == spec.config.variant:
            return None
        return msgspec.structs.replace(spec, config=msgspec.structs.replace(spec.config, variant=variant))

    await request.app.state.sc4pac.store.modify_spec(profile_id, change)
    return ok(request)


ROUTES = [variants_list, variants_reset, variants_set]
