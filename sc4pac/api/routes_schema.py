"""Schema routes: the OpenAPI document, the websocket message schemas and a readable page.

They need no token: the content is not secret, and generators and validators can fetch it directly.
Each is built once per app on first request.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .. import wire
from .routing import get, route_specs
from .scopes import PUBLIC, needs

_CACHE_KEY = "sc4pac_schema_cache"


def _cached(request: Request, name: str) -> Any:
    # The generators load on first request too: most daemon runs never serve the schema.
    from .openapi import build_messages, build_openapi, render_page

    state = request.app.state
    cache: dict[str, Any] | None = getattr(state, _CACHE_KEY, None)
    if cache is None:
        cache = {}
        setattr(state, _CACHE_KEY, cache)
    if name not in cache:
        if name == "openapi":
            cache[name] = build_openapi(route_specs(state))
        elif name == "messages":
            cache[name] = build_messages()
        else:
            cache[name] = render_page(_cached(request, "openapi"))
    return cache[name]


@get("/schema/openapi.json", sync_to_thread=False, opt=needs(PUBLIC))
def schema_openapi(request: Request) -> Response:
    """The OpenAPI 3.1 document of this server."""
    return Response(wire.encode(_cached(request, "openapi"), 2), media_type="application/json")


@get("/schema/messages.json", sync_to_thread=False, opt=needs(PUBLIC))
def schema_messages(request: Request) -> Response:
    """JSON Schemas of every websocket message."""
    return Response(wire.encode(_cached(request, "messages"), 2), media_type="application/json")


@get("/schema", sync_to_thread=False, opt=needs(PUBLIC))
def schema_page(request: Request) -> Response:
    """The endpoint list as a page that works offline."""
    return Response(_cached(request, "page"), media_type="text/html")


ROUTES = [schema_openapi, schema_messages, schema_page]
