"""Profile routes: the profile list, one profile's config, and the GUI's settings."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post

from ..errors import BadRequest, InitBadRequest
from ..locations import platform_defaults
from ..models.profile import ProfileConfig
from ..profiles import ProfileStore
from ..wire import WireStruct
from .http import Query, body_as, ok, respond


class ProfileListItem(WireStruct):
    id: str
    name: str
    pluginsRoot: str | None = None


class ProfileList(WireStruct):
    profiles: list[ProfileListItem]
    currentProfileId: list[str]
    profilesDir: str


class NameBody(WireStruct):
    name: str


class IdBody(WireStruct):
    id: str


class IdNameBody(WireStruct):
    id: str
    name: str


class InitBody(WireStruct):
    plugins: str
    cache: str
    temp: str


def _store(request: Request[Any, Any, Any]) -> ProfileStore:
    store: ProfileStore = request.app.state.sc4pac.store
    return store


@get("/profiles.list", sync_to_thread=False)
def profiles_list(request: Request[Any, Any, Any]) -> Response[bytes]:
    store = _store(request)
    pf = store.read_profiles()
    include_plugins = Query.of(request).flag("includePlugins")
    items = []
    for p in pf.profiles:
        plugins_root = None
        if include_plugins:
            try:
                if store.spec_exists(p.id):
                    plugins_root = store.read_spec(p.id).config.pluginsRoot
            except BadRequest:
                pass  # an id written by another tool that is not a plain token has no readable folder
        items.append(ProfileListItem(p.id, p.name, plugins_root))
    return respond(request, ProfileList(items, pf.currentProfileId, str(store.profiles_dir.absolute())))


@post("/profiles.add", status_code=200)
async def profiles_add(request: Request[Any, Any, Any]) -> Response[bytes]:
    body = await body_as(request, NameBody, "Missing profile name.", 'Pass the "name" of the new profile.')
    entry = await _store(request).add_profile(body.name)
    return respond(request, entry)


@post("/profiles.remove", status_code=200)
async def profiles_remove(request: Request[Any, Any, Any]) -> Response[bytes]:
    body = await body_as(request, IdBody, "Missing profile ID.", 'Pass the "id" for the profile to remove.')
    await _store(request).remove_profile(body.id)
    return ok(request)


@post("/profiles.switch", status_code=200)
async def profiles_switch(request: Request[Any, Any, Any]) -> Response[bytes]:
    body = await body_as(
        request, IdBody, "Missing profile ID.", 'Pass the "id" for the profile to switch to.'
    )
    await _store(request).switch_profile(body.id)
    return ok(request)


@post("/profiles.rename", status_code=200)
async def profiles_rename(request: Request[Any, Any, Any]) -> Response[bytes]:
    body = await body_as(
        request, IdNameBody, "Missing profile ID or name.", 'Pass the "id" and "name" for the profile.'
    )
    await _store(request).rename_profile(body.id, body.name)
    return ok(request)


@get("/profile.read", sync_to_thread=False)
def profile_read(request: Request[Any, Any, Any]) -> Response[bytes]:
    profile_id = Query.of(request).profile()
    return respond(request, _store(request).read_spec(profile_id).config)


@post("/profile.init", status_code=200)
async def profile_init(request: Request[Any, Any, Any]) -> Response[bytes]:
    store = _store(request)
    profile_id = Query.of(request).profile()
    defaults = platform_defaults(store.profile_dir(profile_id).absolute())
    raw = await request.body()
    try:
        body = msgspec.json.decode(raw, type=InitBody)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise InitBadRequest(
            'Parameters "plugins", "cache" and "temp" are required.',
            "Pass the locations of the folders as JSON dictionary: {plugins: <path>, cache: <path>, temp: <path>}.",
            platformDefaults=defaults,
        ) from None
    if not any(p.id == profile_id for p in store.read_profiles().profiles):
        raise BadRequest(
            f'Profile ID "{profile_id}" does not exist.', "Create the profile with /profiles.add first."
        )
    config: ProfileConfig = await store.init_profile(profile_id, body.plugins, body.cache, body.temp)
    return respond(request, config)


@get("/settings.all.get", sync_to_thread=False)
def settings_get(request: Request[Any, Any, Any]) -> Response[bytes]:
    return respond(request, _store(request).read_settings())


@post("/settings.all.set", status_code=200)
async def settings_set(request: Request[Any, Any, Any]) -> Response[bytes]:
    settings = await body_as(
        request, Any, "Missing settings", "Pass the settings as JSON body of the request."
    )
    await _store(request).write_settings(settings)
    return ok(request)


ROUTES = [
    profiles_list,
    profiles_add,
    profiles_remove,
    profiles_switch,
    profiles_rename,
    profile_read,
    profile_init,
    settings_get,
    settings_set,
]
