"""The ASGI application: the routes of :mod:`sc4pac.api.routing` on Starlette, behind the Gate."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask, BackgroundTasks
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from .. import notices, wire
from ..errors import BadRequest, Sc4pacError, as_domain_error, refine, unhandled
from . import (
    routes_channels,
    routes_history,
    routes_maintenance,
    routes_packages,
    routes_plugins,
    routes_profiles,
    routes_schema,
    routes_server,
    routes_variants,
    update_ws,
)
from .gate import ASGIApp, Gate
from .live_events import LiveEvents
from .routing import RouteSpec, get, keep_route_specs
from .scopes import PUBLIC, needs, scope_table
from .state import ServerState, attach_state, server_state

# A websocket route's check before the upgrade: raise an Sc4pacError to refuse with that error.
WebsocketPrecheck = Callable[[ServerState, dict[str, str]], Awaitable[None]]

log = logging.getLogger(__name__)

# Notices collected while a request ran (e.g. a damaged profile file recovered from its backup): a JSON
# array of strings, ASCII-escaped so any path fits in a header.
WARNINGS_HEADER = "X-Sc4pac-Warnings"

WEBAPP_PREFIX = "/webapp/"


def _add_notices(response: Response) -> Response:
    collected = notices.collected()
    if collected:
        response.headers[WARNINGS_HEADER] = json.dumps(collected, ensure_ascii=True)
    return response


def _error_response(request: Request, error: Sc4pacError, status: int) -> Response:
    indent = server_state(request).options.indent
    response = Response(
        content=wire.encode(error.to_wire(), indent), status_code=status, media_type="application/json"
    )
    return _add_notices(response)


def _error_of(request: Request, exc: Exception) -> Response:
    """The JSON error answer for an exception a route handler raised (the one mapping of errors)."""
    if isinstance(exc, Sc4pacError):
        error = refine(exc)  # e.g. a failed extraction whose cause is a full disk says so
        return _error_response(request, error, error.status)
    known = as_domain_error(exc)
    if known is not None:  # e.g. access denied or disk full: something the player can fix
        log.warning("%s %s: %s", request.method, request.url.path, known)
        return _error_response(request, known, known.status)
    log.exception("Unhandled error in %s %s", request.method, request.url.path)
    return _error_response(request, unhandled(exc), 500)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals: no route for the path or no such web-app file (404), or not for this
    method (405)."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404 and request.url.path.startswith(WEBAPP_PREFIX):
        error = BadRequest("File not found.", f"The web-app has no file at {request.url.path}.")
    elif status == 404:
        error = BadRequest(
            "Unknown endpoint.", f"No API endpoint at {request.url.path}; see api.md for the list."
        )
    elif status == 405:
        error = BadRequest("Method not allowed.", f"{request.method} is not supported by {request.url.path}.")
    else:
        error = BadRequest(str(getattr(exc, "detail", exc)), "")
    return _error_response(request, error, status)


def _http_endpoint(spec: RouteSpec, events: LiveEvents) -> Callable[[Request], Awaitable[Response]]:
    """Run ``spec``'s handler with the notices collected, errors mapped and live events poked."""
    handler, is_async, in_thread = spec.handler, spec.is_async, spec.sync_to_thread

    async def endpoint(request: Request) -> Response:
        notices.start()
        response: Response
        try:
            if is_async:
                response = await handler(request)
            elif in_thread:
                # asyncio.to_thread runs it in a copy of this context: its notices are collected here.
                response = await asyncio.to_thread(handler, request)
            else:
                response = handler(request)
        except HTTPException as exc:  # e.g. a web-app file that does not exist
            response = await _on_http_error(request, exc)
        except Exception as exc:
            response = _error_of(request, exc)
        else:
            _add_notices(response)
        if request.method == "POST":
            # Once the answer is sent: every POST may have changed a profile file.
            poke = BackgroundTask(events.after_response, request)
            earlier = response.background
            response.background = poke if earlier is None else BackgroundTasks([earlier, poke])
        return response

    return endpoint


_ROUTE_MODULES = (
    routes_server,
    routes_profiles,
    routes_channels,
    routes_packages,
    routes_plugins,
    routes_variants,
    routes_maintenance,
    routes_schema,
    routes_history,
    update_ws,
)


def _route_modules() -> tuple[list[RouteSpec], dict[str, WebsocketPrecheck]]:
    """All route specs, and the pre-upgrade checks of websocket routes, by path."""
    specs: list[RouteSpec] = []
    prechecks: dict[str, WebsocketPrecheck] = {}
    for module in _ROUTE_MODULES:
        specs.extend(module.ROUTES)
        prechecks.update(getattr(module, "WEBSOCKET_PRECHECKS", {}))
    return specs, prechecks


def _webapp_routes(web_app_dir: Path) -> list[RouteSpec]:
    files = StaticFiles(directory=web_app_dir, html=True)

    @get("/", sync_to_thread=False, opt=needs(PUBLIC))
    def root(request: Request) -> Response:
        """Redirect to the web-app."""
        return RedirectResponse("webapp/", status_code=308)

    @get("/webapp", sync_to_thread=False, opt=needs(PUBLIC))
    def webapp_folder(request: Request) -> Response:
        """Redirect to the web-app's folder, so that its relative links resolve inside it."""
        return RedirectResponse("webapp/", status_code=308)

    @get(WEBAPP_PREFIX + "{file_path:path}", opt=needs(PUBLIC))
    async def webapp_file(request: Request) -> Response:
        """A file of the web-app (its index.html for a folder)."""
        # As StaticFiles itself turns a URL path into a file path; it refuses one leaving the folder.
        relative = os.path.normpath(os.path.join(*str(request.path_params["file_path"]).split("/")))
        return await files.get_response(relative, request.scope)

    return [root, webapp_folder, webapp_file]


def _starlette_routes(specs: Sequence[RouteSpec], events: LiveEvents) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for spec in specs:
        if spec.kind == "websocket":
            routes.append(WebSocketRoute(spec.path, spec.handler, name=spec.name))
        else:
            routes.append(
                Route(spec.path, _http_endpoint(spec, events), methods=sorted(spec.methods), name=spec.name)
            )
    return routes


def create_app(state: ServerState) -> Gate:
    """Build the daemon's ASGI app around ``state``.

    Raises :class:`~sc4pac.api.scopes.RouteScopeMissing` when a route declares no token scope.
    """
    specs, prechecks = _route_modules()
    events = state.events = LiveEvents(
        state.store, state.connections, state.running_updates, indent=state.options.indent
    )
    if state.options.web_app_dir is not None:
        specs.extend(_webapp_routes(state.options.web_app_dir))
    scopes = scope_table(specs)  # before serving: a route without a scope stops the start
    app = Starlette(
        routes=_starlette_routes(specs, events),
        exception_handlers={HTTPException: _on_http_error},
    )
    app.router.redirect_slashes = False  # an unknown path is a 404 naming it, as in the reference
    attach_state(app.state, state)
    keep_route_specs(app.state, specs)

    async def precheck(path: str, query: dict[str, str], scope: Any) -> None:
        check = prechecks.get(path)
        if check is not None:
            await check(state, query)

    # Starlette's __call__ names its own scope types; the Gate passes the server's scope on unchanged.
    asgi: ASGIApp = app
    return Gate(
        asgi,
        scopes=scopes,
        tokens=state.tokens,
        indent=state.options.indent,
        check_host=state.options.check_host,
        websocket_precheck=precheck,
    )
