"""Which token scope each API route needs (api.md names it per endpoint), declared where the route is defined.

Every route handler carries its scope in its Litestar ``opt`` (``@get("/x", opt=needs("read"))``).
:func:`scope_table` reads them from the built app and refuses to start when one is missing, so a new
route can never be reachable without a token by accident: leaving the token out takes ``needs(PUBLIC)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from litestar import Litestar
from litestar.handlers import BaseRouteHandler, WebsocketRouteHandler
from litestar.routes import ASGIRoute, HTTPRoute, WebSocketRoute

Scope = Literal["open", "read", "write", "public"]

PUBLIC: Scope = "public"  # no token: the token exchange itself and the web-app's static files
TOKEN_SCOPES: frozenset[str] = frozenset({"open", "read", "write"})
SCOPE_KEY = "sc4pac_scope"

__all__ = ["PUBLIC", "RouteScopeMissing", "Scope", "ScopeTable", "needs", "scope_table"]


class RouteScopeMissing(RuntimeError):
    """A route handler declares no (or an unknown) scope: the server refuses to start."""


def needs(scope: Scope) -> dict[str, Any]:
    """The ``opt`` of a route handler that needs a token with ``scope`` (``PUBLIC``: no token)."""
    return {SCOPE_KEY: scope}


@dataclass(frozen=True)
class ScopeTable:
    """The scope of every token-protected path, and the paths that also take ``?token=``."""

    scopes: Mapping[str, str]
    # Browsers cannot set headers on websockets, so only websocket routes accept a query token.
    query_token_paths: frozenset[str]

    def required(self, path: str) -> str | None:
        """The scope a request to ``path`` needs; None for public paths and unknown ones (404 later)."""
        return self.scopes.get(path)


def _handlers(app: Litestar) -> Iterator[tuple[str, BaseRouteHandler]]:
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                # Litestar adds an OPTIONS handler to every HTTP route; the Gate answers preflights.
                if handler.handler_name == "options_handler" and handler.http_methods == {"OPTIONS"}:
                    continue
                yield route.path, handler
        elif isinstance(route, (WebSocketRoute, ASGIRoute)):
            yield route.path, route.route_handler
        else:  # a kind of route this table does not know cannot be checked: refuse it
            raise RouteScopeMissing(f"Route {route.path} is of an unknown kind ({type(route).__name__}).")


def scope_table(app: Litestar) -> ScopeTable:
    """The declared scopes of all routes of ``app``; RouteScopeMissing for a route without one."""
    scopes: dict[str, str] = {}
    query_token: set[str] = set()
    for path, handler in _handlers(app):
        scope = handler.opt.get(SCOPE_KEY)
        if scope != PUBLIC and scope not in TOKEN_SCOPES:
            raise RouteScopeMissing(
                f"Route {path} ({handler.handler_name}) declares no token scope: "
                f"add opt=needs('read' | 'write' | 'open' | PUBLIC) to its decorator."
            )
        if scope == PUBLIC:
            continue
        if scopes.setdefault(path, scope) != scope:
            raise RouteScopeMissing(f"Route {path} declares two different scopes ({scopes[path]}, {scope}).")
        if isinstance(handler, WebsocketRouteHandler):
            query_token.add(path)
    return ScopeTable(scopes, frozenset(query_token))
