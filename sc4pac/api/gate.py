"""The outer ASGI layer: Host check, CORS, token checks, and refusals before a websocket upgrade.

It sits in front of the Starlette app because a refusal of a websocket must be an HTTP response sent
*instead of* the upgrade (ASGI ``websocket.http.response``), which route handlers cannot do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from .. import wire
from ..errors import BadRequest, Sc4pacError, Unauthorized
from .auth import TokenStore, bearer_token
from .body_limit import MAX_BODY_BYTES, CountedReceive, declared_length, may_have_body, too_large
from .host_header import is_loopback_host
from .scopes import ScopeTable

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Called for a websocket route after authentication and before the upgrade; raising an Sc4pacError
# refuses the upgrade with that error as an HTTP response (e.g. 409 for an uninitialized profile).
WebsocketPrecheck = Callable[[str, dict[str, str], Scope], Awaitable[None]]

_CLOSE = (b"connection", b"close")


def _headers(scope: Scope) -> dict[str, str]:
    # Header names are lower-case bytes in ASGI; the first occurrence wins.
    result: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        key = name.decode("latin-1").lower()
        if key not in result:
            result[key] = value.decode("latin-1")
    return result


def _addressed_here(scope: Scope) -> bool:
    """Whether the request's one ``Host`` header names this computer (HTTP/1.0 may omit it)."""
    hosts = [value for name, value in scope.get("headers", []) if name.lower() == b"host"]
    if not hosts:
        return True
    return len(hosts) == 1 and is_loopback_host(hosts[0].decode("latin-1"))


def _cookie(headers: dict[str, str], name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value
    return None


VARY_ORIGIN = (b"vary", b"Origin")


def cors_headers(origin: str) -> list[tuple[bytes, bytes]]:
    """The headers the reference adds to every response of a request carrying an ``Origin``."""
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-methods", b"*"),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-expose-headers", b"*"),
    ]


class Gate:
    """Wraps the API app with the checks every request goes through."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        scopes: ScopeTable,
        tokens: TokenStore,
        indent: int,
        check_host: bool,
        websocket_precheck: WebsocketPrecheck,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.scopes = scopes
        self.tokens = tokens
        self.indent = indent
        self.check_host = check_host
        self.websocket_precheck = websocket_precheck
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        origin = headers.get("origin") if kind == "http" else None
        # Every HTTP answer varies with Origin (CORS headers come and go with it): without saying so, a
        # browser reuses a cached answer to a same-origin request for a cross-origin one, which then fails.
        extra = [*cors_headers(origin), VARY_ORIGIN] if origin else [VARY_ORIGIN] if kind == "http" else []
        path: str = scope.get("path", "")

        # Refusals below answer without reading the body; "Connection: close" then stops the server
        # from draining a body nobody wants (uvicorn would otherwise read and discard all of it).
        close = [_CLOSE] if kind == "http" and may_have_body(headers) else []

        if self.check_host and not _addressed_here(scope):
            # A page on a foreign domain that resolves to 127.0.0.1 (DNS rebinding) lands here.
            error: Sc4pacError = BadRequest(
                "Request refused: the Host header does not name this computer.",
                "The sc4pac server only answers requests addressed to localhost, 127.0.0.1 or [::1].",
            )
            await self._refuse(scope, send, error, 403, [*extra, *close])
            return

        if kind == "http":
            try:
                length = declared_length(headers)
                if length is not None and length > self.max_body:
                    raise too_large(self.max_body)
            except BadRequest as refusal:
                await self._refuse(scope, send, refusal, refusal.status, [*extra, *close])
                return

        preflight = kind == "http" and scope.get("method") == "OPTIONS"
        if preflight and origin and "access-control-request-method" in headers:
            allow = headers.get("access-control-request-headers", "*") or "*"
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [
                        (b"access-control-allow-origin", origin.encode("latin-1")),
                        (b"access-control-allow-methods", b"*"),
                        (b"access-control-allow-credentials", b"true"),
                        (b"access-control-allow-headers", allow.encode("latin-1")),
                        VARY_ORIGIN,
                        *close,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        required = self.scopes.required(path)
        query: dict[str, str] | None = None
        if required is not None:
            bearer = bearer_token(headers.get("authorization"))
            is_ws_route = path in self.scopes.query_token_paths
            if bearer is None and is_ws_route:
                query = first_wins_query(scope)
                bearer = query.get("token") or None
            problem = self.tokens.verify(bearer, _cookie(headers, self.tokens.cookie_name), required)
            if problem is not None:
                if problem == "missing":
                    detail = "Add Authorization header with Bearer access token"
                    if is_ws_route:
                        detail += " or add 'token' query parameter"
                    error = Unauthorized("missing Authorization header", detail, scope=required)
                else:
                    error = Unauthorized("Authentication failed", problem, scope=required)
                www = f'Bearer realm="User Profile", scope="{required}"'.encode("latin-1")
                await self._refuse(scope, send, error, 401, [*extra, *close, (b"www-authenticate", www)])
                return

        if kind == "websocket":
            try:
                await self.websocket_precheck(
                    path, query if query is not None else first_wins_query(scope), scope
                )
            except Sc4pacError as error:
                await self._refuse(scope, send, error, error.status, [])
                return
            await self.app(scope, receive, send)
            return

        counted = CountedReceive(receive, self.max_body)

        async def send_checked(message: Message) -> None:
            if message["type"] == "http.response.start":
                added = list(extra)
                if close and not counted.complete:
                    added.append(_CLOSE)  # answered before the body was read (e.g. 413, 401)
                if added:
                    message = dict(message)
                    message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        await self.app(scope, counted, send_checked)

    async def _refuse(
        self, scope: Scope, send: Send, error: Sc4pacError, status: int, headers: list[tuple[bytes, bytes]]
    ) -> None:
        body = wire.encode(error.to_wire(), self.indent)
        all_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ]
        if scope["type"] == "websocket":
            if "websocket.http.response" not in scope.get("extensions", {}):
                # Without the extension the best an ASGI app can do is to refuse the handshake.
                await send({"type": "websocket.close", "code": 1008, "reason": "request refused"})
                return
            await send({"type": "websocket.http.response.start", "status": status, "headers": all_headers})
            await send({"type": "websocket.http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": status, "headers": all_headers})
        await send({"type": "http.response.body", "body": body})


def first_wins_query(scope: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters, first occurrence of each key winning, keys without ``=`` mapped to ``""``."""
    raw = scope.get("query_string", b"").decode("utf-8", "replace")
    result: dict[str, str] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        result.setdefault(key, value)
    return result
