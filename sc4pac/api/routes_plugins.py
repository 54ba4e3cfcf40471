"""Plugin routes: the explicit package list and the installed packages of a profile."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..models.status import InstalledItem
from ..services.plugin_selection import add_packages, mark_for_reinstall, remove_packages
from .http import Query, ok, package_list_body, respond
from .routing import get, post
from .scopes import needs
from .state import server_state


@get("/plugins.added.list", opt=needs("read"), sync_to_thread=False)
def plugins_added_list(request: Request) -> Response:
    profile_id = Query.of(request).profile()
    return respond(request, server_state(request).store.read_spec(profile_id).explicit)


@get("/plugins.installed.list", opt=needs("read"), sync_to_thread=False)
def plugins_installed_list(request: Request) -> Response:
    store = server_state(request).store
    profile_id = Query.of(request).profile()
    explicit = set(store.read_spec(profile_id).explicit)
    lock = store.read_lock(profile_id)
    entries = sorted(lock.installed if lock else [], key=lambda e: (e.group, e.name))
    return respond(request, [InstalledItem(e.id, e.version, e.variant, e.id in explicit) for e in entries])


@post("/plugins.add", opt=needs("write"))
async def plugins_add(request: Request) -> Response:
    profile_id = Query.of(request).profile()
    await add_packages(server_state(request).store, profile_id, await package_list_body(request))
    return ok(request)


@post("/plugins.remove", opt=needs("write"))
async def plugins_remove(request: Request) -> Response:
    profile_id = Query.of(request).profile()
    await remove_packages(server_state(request).store, profile_id, await package_list_body(request))
    return ok(request)


@post("/plugins.reinstall", opt=needs("write"))
async def plugins_reinstall(request: Request) -> Response:
    query = Query.of(request)
    profile_id = query.profile()
    packages = await package_list_body(request)
    store = server_state(request).store
    await mark_for_reinstall(store, profile_id, packages, redownload=query.flag("redownload"))
    return ok(request)


ROUTES = [plugins_added_list, plugins_installed_list, plugins_add, plugins_remove, plugins_reinstall]
