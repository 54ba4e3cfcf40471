"""Profile routes: the profile list, one profile's config, and the GUI's settings."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ..errors import InitBadRequest
from ..locations import platform_defaults
from ..services.profile_setup import init_listed_profile, list_profiles
from ..wire import WireStruct
from .http import MalformedBody, Query, body_as, json_body, ok, respond
from .routing import get, post
from .scopes import needs
from .state import server_state


class ProfileListItem(WireStruct):
    id: str
    name: str
    pluginsRoot: str | None = None
    # With includePlugins: why this profile's files cannot be read (the others are still listed).
    error: dict[str, Any] | None = None


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


@get("/profiles.list", opt=needs("read"), sync_to_thread=False)
def profiles_list(request: Request) -> Response:
    store = server_state(request).store
    listing = list_profiles(store, with_plugins_root=Query.of(request).flag("includePlugins"))
    items = [ProfileListItem(p.id, p.name, p.plugins_root, p.error) for p in listing.profiles]
    profiles_dir = str(store.profiles_dir.absolute())
    return respond(request, ProfileList(items, listing.current_profile_id, profiles_dir))


@post("/profiles.add", opt=needs("write"))
async def profiles_add(request: Request) -> Response:
    body = await body_as(request, NameBody, "Missing profile name.", 'Pass the "name" of the new profile.')
    entry = await server_state(request).store.add_profile(body.name)
    return respond(request, entry)


@post("/profiles.remove", opt=needs("write"))
async def profiles_remove(request: Request) -> Response:
    body = await body_as(request, IdBody, "Missing profile ID.", 'Pass the "id" for the profile to remove.')
    await server_state(request).store.remove_profile(body.id)
    return ok(request)


@post("/profiles.switch", opt=needs("write"))
async def profiles_switch(request: Request) -> Response:
    body = await body_as(
        request, IdBody, "Missing profile ID.", 'Pass the "id" for the profile to switch to.'
    )
    await server_state(request).store.switch_profile(body.id)
    return ok(request)


@post("/profiles.rename", opt=needs("write"))
async def profiles_rename(request: Request) -> Response:
    body = await body_as(
        request, IdNameBody, "Missing profile ID or name.", 'Pass the "id" and "name" for the profile.'
    )
    await server_state(request).store.rename_profile(body.id, body.name)
    return ok(request)


@get("/profile.read", opt=needs("read"), sync_to_thread=False)
def profile_read(request: Request) -> Response:
    profile_id = Query.of(request).profile()
    return respond(request, server_state(request).store.read_spec(profile_id).config)


@post("/profile.init", opt=needs("write"))
async def profile_init(request: Request) -> Response:
    store = server_state(request).store
    profile_id = Query.of(request).profile()
    defaults = platform_defaults(store.profile_dir(profile_id).absolute())
    try:
        body = await json_body(request, InitBody)
    except MalformedBody:
        raise InitBadRequest(
            'Parameters "plugins", "cache" and "temp" are required.',
            "Pass the locations of the folders as JSON dictionary: {plugins: <path>, cache: <path>, temp: <path>}.",
            platformDefaults=defaults,
        ) from None
    initialized = await init_listed_profile(store, profile_id, body.plugins, body.cache, body.temp)
    if not initialized.warnings:
        return respond(request, initialized.config)
    # The config as always, plus what is worth warning about the chosen folders.
    answer = msgspec.to_builtins(initialized.config)
    answer["warnings"] = initialized.warnings
    return respond(request, answer)


@get("/settings.all.get", opt=needs("write"), sync_to_thread=False)
def settings_get(request: Request) -> Response:
    return respond(request, server_state(request).store.read_settings())


@post("/settings.all.set", opt=needs("write"))
async def settings_set(request: Request) -> Response:
    settings = await body_as(
        request, Any, "Missing settings", "Pass the settings as JSON body of the request."
    )
    await server_state(request).store.write_settings(settings)
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
