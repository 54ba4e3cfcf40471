"""The ASGI application: the Litestar routes behind the :class:`~sc4pac.api.gate.Gate`."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.exceptions import HTTPException, NotFoundException
from litestar.plugins import PluginProtocol
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

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
from .scopes import PUBLIC, needs, scope_table
from .state import ServerState, attach_state, server_state

# A websocket route's check before the upgrade: raise an Sc4pacError to refuse with that error.
WebsocketPrecheck = Callable[[ServerState, dict[str, str]], Awaitable[None]]

log = logging.getLogger(__name__)


# Notices collected while a request ran (e.g. a damaged profile file recovered from its backup): a JSON
# array of strings, ASCII-escaped so any path fits in a header.
WARNINGS_HEADER = "X-Sc4pac-Warnings"


async def _start_notices(request: Request[Any, Any, Any]) -> None:
    notices.start()  # async, like _with_notices, so it runs in the request's own context


def _add_notices(response: Response[Any]) -> Response[Any]:
    collected = notices.collected()
    if collected:
        response.headers[WARNINGS_HEADER] = json.dumps(collected, ensure_ascii=True)
    return response


async def _with_notices(response: Response[Any]) -> Response[Any]:
    # Async on purpose: Litestar runs sync hooks in a worker thread, outside the request's context.
    return _add_notices(response)


def _error_response(request: Request[Any, Any, Any], error: Sc4pacError, status: int) -> Response[bytes]:
    indent = server_state(request).options.indent
    response = Response(
        content=wire.encode(error.to_wire(), indent), status_code=status, media_type="application/json"
    )
    return _add_notices(response)


def _on_domain_error(request: Request[Any, Any, Any], exc: Sc4pacError) -> Response[bytes]:
    error = refine(exc)  # e.g. a failed extraction whose cause is a full disk says so
    return _error_response(request, error, error.status)


def _on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    if isinstance(exc, NotFoundException):
        error = BadRequest(
            "Unknown endpoint.", f"No API endpoint at {request.url.path}; see api.md for the list."
        )
    elif exc.status_code == 405:
        error = BadRequest("Method not allowed.", f"{request.method} is not supported by {request.url.path}.")
    else:
        error = BadRequest(str(exc.detail), "")
    return _error_response(request, error, exc.status_code)


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    known = as_domain_error(exc)
    if known is not None:  # e.g. access denied or disk full: something the player can fix
        log.warning("%s %s: %s", request.method, request.url.path, known)
        return _error_response(request, known, known.status)
    log.exception("Unhandled error in %s %s", request.method, request.url.path)
    return _error_response(request, unhandled(exc), 500)


class _MsgspecOnlyLitestar(Litestar):
    """Litestar without the plugins it adds for pydantic and attrs models when those are installed.

    The daemon's models are msgspec Structs. Test tools install pydantic beside it, and Litestar would then
    import pydantic and build its plugins at every start (about 0.15 s); the bundle leaves pydantic out,
    but attrs comes with its dependencies.
    """

    @staticmethod
    def _get_default_plugins(plugins: list[PluginProtocol]) -> list[PluginProtocol]:
        from litestar.plugins.core import MsgspecDIPlugin

        if not any(isinstance(plugin, MsgspecDIPlugin) for plugin in plugins):
            plugins.append(MsgspecDIPlugin())
        return plugins


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


def _route_modules() -> tuple[list[Any], dict[str, WebsocketPrecheck]]:
    """All route handlers, and the pre-upgrade checks of websocket routes, by path."""
    handlers: list[Any] = []
    prechecks: dict[str, WebsocketPrecheck] = {}
    for module in _ROUTE_MODULES:
        handlers.extend(module.ROUTES)
        prechecks.update(getattr(module, "WEBSOCKET_PRECHECKS", {}))
    return handlers, prechecks


def _webapp_routes(web_app_dir: Path) -> list[Any]:
    @get("/", sync_to_thread=False, opt=needs(PUBLIC))
    def root() -> Redirect:
        return Redirect("webapp/", status_code=308)

    static = create_static_files_router(
        path="/webapp", directories=[web_app_dir], html_mode=True, opt=needs(PUBLIC)
    )
    return [root, static]


def create_app(state: ServerState) -> Gate:
    """Build the daemon's ASGI app around ``state``.

    Raises :class:`~sc4pac.api.scopes.RouteScopeMissing` when a route declares no token scope.
    """
    handlers, prechecks = _route_modules()
    events = state.events = LiveEvents(
        state.store, state.connections, state.running_updates, indent=state.options.indent
    )
    if state.options.web_app_dir is not None:
        handlers.extend(_webapp_routes(state.options.web_app_dir))
    app = _MsgspecOnlyLitestar(
        route_handlers=handlers,
        exception_handlers={
            Sc4pacError: _on_domain_error,
            HTTPException: _on_http_error,
            Exception: _on_unexpected,
        },
        openapi_config=None,
        logging_config=None,
        request_max_body_size=None,
        after_response=events.after_response,
        before_request=_start_notices,
        after_request=_with_notices,
    )
    attach_state(app.state, state)

    async def precheck(path: str, query: dict[str, str], scope: Any) -> None:
        check = prechecks.get(path)
        if check is not None:
            await check(state, query)

    # Litestar's __call__ names its own TypedDict scopes; the Gate passes the server's scope on unchanged.
    asgi: ASGIApp = app  # type: ignore[assignment]
    return Gate(
        asgi,
        scopes=scope_table(app),
        tokens=state.tokens,
        indent=state.options.indent,
        check_host=state.options.check_host,
        websocket_precheck=precheck,
    )
