"""Plugin routes: the explicit package list and the installed packages of a profile."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from ..models.status import InstalledItem
from ..profiles import ProfileStore
from .http import Query, ok, package_list_body, respond


def _store(request: Request[Any, Any, Any]) -> ProfileStore:
    store: ProfileStore = request.app.state.sc4pac.store
    return store


@get("/plugins.added.list", sync_to_thread=False)
def plugins_added_list(request: Request[Any, Any, Any]) -> Response[bytes]:
    profile_id = Query.of(request).profile()
    return respond(request, _store(request).read_spec(profile_id).explicit)


@get("/plugins.installed.list", sync_to_thread=False)
def plugins_installed_list(request: Request[Any, Any, Any]) -> Response[bytes]:
    store = _store(request)
    profile_id = Query.of(request).profile()
    explicit = set(store.read_spec(profile_id).explicit)
    lock = store.read_lock(profile_id)
    entries = sorted(lock.installed if lock else [], key=lambda e: (e.group, e.name))
    return respond(request, [InstalledItem(e.id, e.version, e.variant, e.id in explicit) for e in entries])


@post("/plugins.add", status_code=200)
async def plugins_add(request: Request[Any, Any, Any]) -> Response[bytes]:
    profile_id = Query.of(request).profile()
    packages = await package_list_body(request)
    # Unlike the reference, adding needs no channel data, so it also works offline.
    await _store(request).add_explicit(profile_id, packages)
    return ok(request)


@post("/plugins.remove", status_code=200)
async def plugins_remove(request: Request[Any, Any, Any]) -> Response[bytes]:
    profile_id = Query.of(request).profile()
    packages = await package_list_body(request)
    await _store(request).remove_explicit(
        profile_id, packages, hint="Get /plugins.added.list for the removable packages."
    )
    return ok(request)


@post("/plugins.reinstall", status_code=200)
async def plugins_reinstall(request: Request[Any, Any, Any]) -> Response[bytes]:
    query = Query.of(request)
    profile_id = query.profile()
    packages = await package_list_body(request)
    store = _store(request)
    store.read_spec(profile_id)  # 409 when not initialized
    await store.mark_for_reinstall(profile_id, packages, redownload=query.flag("redownload"))
    return ok(request)


ROUTES = [plugins_added_list, plugins_installed_list, plugins_add, plugins_remove, plugins_reinstall]
