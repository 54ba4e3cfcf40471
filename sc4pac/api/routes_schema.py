"""Schema routes: the OpenAPI document, the websocket message schemas and a readable page.

They need no token: the content is not secret, and generators and validators can fetch it directly.
Each is built once per app on first request.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from .. import wire
from .scopes import PUBLIC, needs

_CACHE_KEY = "sc4pac_schema_cache"


def _cached(request: Request[Any, Any, Any], name: str) -> Any:
    # The generators load on first request too: most daemon runs never serve the schema.
    from .openapi import build_messages, build_openapi, render_page

    cache: dict[str, Any] = request.app.state.setdefault(_CACHE_KEY, {})
    if name not in cache:
        if name == "openapi":
            cache[name] = build_openapi(request.app)
        elif name == "messages":
            cache[name] = build_messages()
        else:
            cache[name] = render_page(_cached(request, "openapi"))
    return cache[name]


@get("/schema/openapi.json", sync_to_thread=False, opt=needs(PUBLIC))
def schema_openapi(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The OpenAPI 3.1 document of this server."""
    return Response(wire.encode(_cached(request, "openapi"), 2), media_type="application/json")


@get("/schema/messages.json", sync_to_thread=False, opt=needs(PUBLIC))
def schema_messages(request: Request[Any, Any, Any]) -> Response[bytes]:
    """JSON Schemas of every websocket message."""
    return Response(wire.encode(_cached(request, "messages"), 2), media_type="application/json")


@get("/schema", sync_to_thread=False, opt=needs(PUBLIC))
def schema_page(request: Request[Any, Any, Any]) -> Response[str]:
    """The endpoint list as a page that works offline."""
    return Response(_cached(request, "page"), media_type="text/html")


ROUTES = [schema_openapi, schema_messages, schema_page]
