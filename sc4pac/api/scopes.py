"""Which token scope each API route needs (api.md names it per endpoint), declared where the route is defined.

Every route carries its scope in its ``opt`` (``@get("/x", opt=needs("read"))``, see
:mod:`sc4pac.api.routing`). :func:`scope_table` reads them from the app's route specs and refuses to start
when one is missing, so a new route can never be reachable without a token by accident: leaving the
token out takes ``needs(PUBLIC)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .routing import RouteSpec

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


def scope_table(routes: Iterable[RouteSpec]) -> ScopeTable:
    """The declared scopes of ``routes``; RouteScopeMissing for a route without one."""
    scopes: dict[str, str] = {}
    query_token: set[str] = set()
    for route in routes:
        scope = route.opt.get(SCOPE_KEY)
        if scope != PUBLIC and scope not in TOKEN_SCOPES:
            raise RouteScopeMissing(
                f"Route {route.path} ({route.name}) declares no token scope: "
                f"add opt=needs('read' | 'write' | 'open' | PUBLIC) to its decorator."
            )
        if scope == PUBLIC:
            continue
        if scopes.setdefault(route.path, scope) != scope:
            raise RouteScopeMissing(
                f"Route {route.path} declares two different scopes ({scopes[route.path]}, {scope})."
            )
        if route.kind == "websocket":
            query_token.add(route.path)
    return ScopeTable(scopes, frozenset(query_token))
