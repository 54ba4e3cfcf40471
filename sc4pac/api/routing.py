"""The route table: each handler with its path, methods and token scope, declared where it is defined.

``@get("/x", opt=needs("read"))``, ``@post(...)`` and ``@websocket(...)`` turn a handler into a
:class:`RouteSpec`; route modules list theirs in ``ROUTES``. The app (:mod:`sc4pac.api.app`) builds the
Starlette routes from the specs, the Gate's scope table (:mod:`sc4pac.api.scopes`) and the OpenAPI
document (:mod:`sc4pac.api.openapi`) read the same specs, so the three can never disagree.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

HttpHandler = Callable[[Request], Awaitable[Response] | Response]
WebsocketHandler = Callable[[WebSocket], Awaitable[None]]

__all__ = ["RouteSpec", "get", "keep_route_specs", "post", "route_specs", "websocket"]

# Where an app keeps its route specs, for what reads them per request (the OpenAPI document).
_ROUTES_KEY = "sc4pac_routes"


@dataclass(frozen=True)
class RouteSpec:
    """One route: ``kind`` "http" (with its methods) or "websocket"; ``opt`` holds its token scope."""

    path: str
    kind: Literal["http", "websocket"]
    methods: frozenset[str]
    handler: Callable[..., Any]
    opt: dict[str, Any] = field(default_factory=dict)
    # Sync handlers run on the event loop only when they say so (they must not block); else in a thread.
    sync_to_thread: bool = True

    @property
    def path_format(self) -> str:
        """The path as OpenAPI writes it: ``{name}`` without the route's ``:converter``."""
        return re.sub(r"\{(\w+):\w+\}", r"{\1}", self.path)

    @property
    def name(self) -> str:
        """The handler's function name (the OpenAPI operation id)."""
        return self.handler.__name__

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.handler)


def _http(
    method: str, path: str, opt: dict[str, Any] | None, sync_to_thread: bool
) -> Callable[..., RouteSpec]:
    def declare(handler: HttpHandler) -> RouteSpec:
        return RouteSpec(path, "http", frozenset({method}), handler, dict(opt or {}), sync_to_thread)

    return declare


def get(
    path: str, *, opt: dict[str, Any] | None = None, sync_to_thread: bool = True
) -> Callable[[HttpHandler], RouteSpec]:
    """Declare a GET route."""
    return _http("GET", path, opt, sync_to_thread)


def post(
    path: str, *, opt: dict[str, Any] | None = None, sync_to_thread: bool = True
) -> Callable[[HttpHandler], RouteSpec]:
    """Declare a POST route."""
    return _http("POST", path, opt, sync_to_thread)


def websocket(path: str, *, opt: dict[str, Any] | None = None) -> Callable[[WebsocketHandler], RouteSpec]:
    """Declare a websocket route."""

    def declare(handler: WebsocketHandler) -> RouteSpec:
        return RouteSpec(path, "websocket", frozenset(), handler, dict(opt or {}))

    return declare


def keep_route_specs(app_state: Any, specs: list[RouteSpec]) -> None:
    """Store the specs an app serves on its ``state``."""
    setattr(app_state, _ROUTES_KEY, specs)


def route_specs(app_state: Any) -> list[RouteSpec]:
    """The specs stored by :func:`keep_route_specs`."""
    specs: list[RouteSpec] = getattr(app_state, _ROUTES_KEY)
    return specs
