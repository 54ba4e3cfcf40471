"""Variant routes: the profile's configured variant selections."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, get, post

from ..errors import BadRequest, listing
from ..models.profile import PluginsSpec
from ..wire import WireStruct
from .http import Query, body_as, off_loop_if_large, ok, respond


class VariantValue(WireStruct):
    value: str
    unused: bool


class VariantList(WireStruct):
    variants: dict[str, VariantValue]


@get("/variants.list", sync_to_thread=False)
def variants_list(request: Request) -> Response[bytes]:
    store = request.app.state.sc4pac.store
    profile_id = Query.of(request).profile()
    spec = store.read_spec(profile_id)
    lock = store.read_lock(profile_id)
    used = {key for entry in (lock.installed if lock else []) for key in entry.variant}
    variants = {k: VariantValue(v, k not in used) for k, v in spec.config.variant.items()}
    return respond(request, VariantList(variants))


@post("/variants.reset", status_code=200)
async def variants_reset(request: Request) -> Response[bytes]:
    profile_id = Query.of(request).profile()
    ids = await body_as(
        request, list[str], "Malformed variant labels.", "Pass variants as an array of strings."
    )

    reset = set(ids)  # a set, not the list: resetting thousands of variants must stay linear

    def reset_variants(spec: PluginsSpec) -> PluginsSpec:
        unknown = [i for i in dict.fromkeys(ids) if i not in spec.config.variant]
        if unknown:
            raise BadRequest(
                f"Variant does not exist: {listing(unknown)}",
                "Get /variants.list for the currently configured variants.",
            )
        variant = {k: v for k, v in spec.config.variant.items() if k not in reset}
        return msgspec.structs.replace(spec, config=msgspec.structs.replace(spec.config, variant=variant))

    async def change(spec: PluginsSpec) -> PluginsSpec:
        count = len(ids) + len(spec.config.variant)
        return await off_loop_if_large(count, reset_variants, spec)

    await request.app.state.sc4pac.store.modify_spec(profile_id, change)
    return ok(request)


@post("/variants.set", status_code=200)
async def variants_set(request: Request) -> Response[bytes]:
    profile_id = Query.of(request).profile()
    selections = await body_as(
        request, dict[str, str], "Malformed variant selections.", "Pass variants as a mapping of strings."
    )

    def set_variants(spec: PluginsSpec) -> PluginsSpec | None:
        variant = {**spec.config.variant, **selections}
        if variant == spec.config.variant:
            return None
        return msgspec.structs.replace(spec, config=msgspec.structs.replace(spec.config, variant=variant))

    async def change(spec: PluginsSpec) -> PluginsSpec | None:
        return await off_loop_if_large(len(selections) + len(spec.config.variant), set_variants, spec)

    await request.app.state.sc4pac.store.modify_spec(profile_id, change)
    return ok(request)


ROUTES = [variants_list, variants_reset, variants_set]
