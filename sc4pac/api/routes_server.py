"""Server routes: token exchange, status, the GUI's ``/server.connect`` socket and ``/packages.open``."""

from __future__ import annotations

import platform
import sys

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from .. import API_VERSION, SC4PAC_VERSION, __version__, wire
from ..errors import GuiNotConnected
from ..models.messages import OpenPackage, OpenPackageItem
from ..wire import WireStruct
from .auth import EXPIRES_IN, OAUTH_ERROR_URI, OAuthError
from .http import body_as, ok, read_body, respond
from .routing import get, post, websocket
from .scopes import PUBLIC, needs
from .state import server_state

# A token request is one short form field; nothing legitimate comes near this.
TOKEN_BODY_LIMIT = 4096

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_COOKIE_MAX_AGE = 432000


class ServerStatus(WireStruct):
    sc4pacVersion: str
    osVersion: str
    javaVersion: str
    javaRuntime: str
    apiVersion: str
    implementation: str


def _status() -> ServerStatus:
    uname = platform.uname()
    return ServerStatus(
        sc4pacVersion=SC4PAC_VERSION,
        osVersion=f"{uname.system} {uname.release} {uname.machine}",
        # The GUI only displays these two strings; we report the Python interpreter in their place.
        javaVersion=f"{sys.version_info.major}.{sys.version_info.minor}",
        javaRuntime=f"{platform.python_implementation()} {platform.python_version()}, {sys.executable}",
        apiVersion=API_VERSION,
        implementation=f"sc4pac-py {__version__}",
    )


class TokenResponse(WireStruct, kw_only=True):
    """The token answer: ``access_token`` for the desktop grant, ``csrf_token`` for the web-app grant."""

    access_token: str = ""
    csrf_token: str = ""
    token_type: str
    expires_in: str
    scope: str


class OAuthErrorBody(WireStruct):
    """A token-endpoint error (RFC 6749 section 5.2), not the API's error object."""

    error: str
    error_uri: str


_STATUS: ServerStatus | None = None


@get("/server.status", opt=needs("read"), sync_to_thread=False)
def server_status(request: Request) -> Response:
    global _STATUS
    if _STATUS is None:
        _STATUS = _status()
    return respond(request, _STATUS)


@post("/auth/token", opt=needs(PUBLIC))
async def auth_token(request: Request) -> Response:
    state = server_state(request)
    authorization = request.headers.get("authorization")
    try:
        # Credentials first: without the secret the body is never read (the gate then closes the
        # connection instead of draining it).
        state.tokens.check_client(authorization)
        body = await read_body(request, TOKEN_BODY_LIMIT)
        issued = state.tokens.exchange(authorization, body)
    except OAuthError as exc:
        headers = dict(_NO_STORE)
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="User Profile"'
        return Response(
            content=wire.encode(OAuthErrorBody(exc.code, OAUTH_ERROR_URI)),
            status_code=exc.status,
            media_type="application/json",
            headers=headers,
        )
    payload = TokenResponse(
        access_token=issued.access_token if issued.csrf_token is None else "",
        csrf_token=issued.csrf_token or "",
        token_type="Bearer",
        expires_in=EXPIRES_IN,
        scope="open read write",
    )
    response = respond(request, payload, headers=_NO_STORE)
    if issued.csrf_token is not None:
        secure = state.options.cookie_secure
        name = state.tokens.cookie_name
        cookie = f"{name}={issued.access_token}; Path=/; Max-Age={_COOKIE_MAX_AGE}; "
        cookie += "Secure; HttpOnly; SameSite=Strict" if secure else "HttpOnly; SameSite=Strict"
        response.headers["Set-Cookie"] = cookie
    return response


@websocket("/server.connect", opt=needs("write"))
async def server_connect(socket: WebSocket) -> None:
    registry = server_state(socket).connections
    await socket.accept()

    async def close(code: int, reason: str) -> None:
        await socket.close(code=code, reason=reason)

    registry.opened(socket.send_text, close)
    try:
        # The GUI never sends anything; whatever arrives is discarded.
        while (await socket.receive())["type"] != "websocket.disconnect":
            pass
    finally:
        registry.closed(socket.send_text)


@post("/packages.open", opt=needs("open"))
async def packages_open(request: Request) -> Response:
    items = await body_as(
        request, list[OpenPackageItem], "Malformed package list.", "Pass an array of package items."
    )
    state = server_state(request)
    text = wire.encode(OpenPackage(packages=items), state.options.indent).decode("utf-8")
    if not await state.connections.send_to_gui(text):
        raise GuiNotConnected(
            "The sc4pac GUI is not opened. Make sure the GUI is running correctly.",
            "Connection between API server and GUI client is not available.",
        )
    return ok(request)


ROUTES = [server_status, auth_token, server_connect, packages_open]
