"""Fail-closed routes: every route declares its token scope, and the app refuses to start without one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from sc4pac.api import app as app_module
from sc4pac.api import routes_server
from sc4pac.api.app import create_app
from sc4pac.api.auth import TokenStore
from sc4pac.api.connections import ConnectionRegistry
from sc4pac.api.routing import get, websocket
from sc4pac.api.scopes import PUBLIC, RouteScopeMissing, needs, scope_table
from sc4pac.api.state import ServerOptions, ServerState
from sc4pac.services import Services

# The scopes api.md names per endpoint, one row per route; a route added to the app must be added here too.
EXPECTED_SCOPES = {
    "/profile.read": "read",
    "/profile.init": "write",
    "/packages.list": "read",
    "/packages.info": "read",
    "/packages.search": "read",
    "/packages.search.id": "read",
    "/packages.open": "open",
    "/plugins.added.list": "read",
    "/plugins.installed.list": "read",
    "/plugins.search": "read",
    "/plugins.add": "write",
    "/plugins.remove": "write",
    "/plugins.reinstall": "write",
    "/plugins.repair.scan": "read",
    "/plugins.repair": "write",
    "/plugins.verify": "read",
    "/plugins.export": "read",
    "/plugins.folder.open": "write",
    "/plugins.history": "read",
    "/plugins.plan": "read",
    "/variants.list": "read",
    "/variants.reset": "write",
    "/variants.set": "write",
    "/variants.choices": "read",
    "/channels.list": "read",
    "/channels.set": "write",
    "/channels.stats": "read",
    "/update": "write",
    "/server.status": "read",
    "/server.connect": "write",
    "/profiles.list": "read",
    "/profiles.add": "write",
    "/profiles.remove": "write",
    "/profiles.switch": "write",
    "/profiles.rename": "write",
    # The settings may hold the Simtropolis token, hence "write" even for reading them.
    "/settings.all.get": "write",
    "/settings.all.set": "write",
    "/image.fetch": "write",
}
# The schema routes need no token either: their content is not secret (api.md, "The schema").
PUBLIC_PATHS = {"/auth/token", "/schema", "/schema/openapi.json", "/schema/messages.json"}


def _state(tmp_path: Path, web_app_dir: Path | None = None) -> ServerState:
    return ServerState(
        ServerOptions(web_app_dir=web_app_dir),
        TokenStore(None),
        Services.create(tmp_path / "profiles"),
        ConnectionRegistry(auto_shutdown=False),
    )


def test_every_route_has_the_documented_scope(tmp_path: Path) -> None:
    gate = create_app(_state(tmp_path))
    assert dict(gate.scopes.scopes) == EXPECTED_SCOPES
    assert gate.scopes.query_token_paths == {"/update", "/server.connect"}
    # Read from the router itself: every route it serves is in the table (or public).
    paths = {route.path for route in gate.app.routes}  # type: ignore[attr-defined]
    assert paths == set(EXPECTED_SCOPES) | PUBLIC_PATHS


def test_web_app_routes_are_public(tmp_path: Path) -> None:
    web = tmp_path / "web"
    web.mkdir()
    gate = create_app(_state(tmp_path, web))
    assert dict(gate.scopes.scopes) == EXPECTED_SCOPES
    paths = {route.path for route in gate.app.routes}  # type: ignore[attr-defined]
    assert {"/", "/webapp", "/webapp/{file_path:path}"} <= paths


def test_a_route_without_scope_refuses_to_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    @get("/forgotten", sync_to_thread=False)
    def forgotten(request: Request) -> Response:
        return Response("reachable without a token")

    monkeypatch.setattr(routes_server, "ROUTES", [*routes_server.ROUTES, forgotten])
    assert forgotten in app_module._route_modules()[0]
    with pytest.raises(RouteScopeMissing, match="/forgotten"):
        create_app(_state(tmp_path))


@pytest.mark.parametrize("bad", [{}, {"sc4pac_scope": "admin"}, {"sc4pac_scope": None}])
def test_scope_table_rejects_missing_and_unknown_scopes(bad: dict[str, object]) -> None:
    @get("/x", sync_to_thread=False, opt=bad)
    def handler(request: Request) -> Response:
        return Response("")

    with pytest.raises(RouteScopeMissing):
        scope_table([handler])


def test_public_routes_are_left_out_of_the_table() -> None:
    @get("/open-door", sync_to_thread=False, opt=needs(PUBLIC))
    def door(request: Request) -> Response:
        return Response("")

    @get("/guarded", sync_to_thread=False, opt=needs("read"))
    def guarded(request: Request) -> Response:
        return Response("")

    table = scope_table([door, guarded])
    assert dict(table.scopes) == {"/guarded": "read"}
    assert table.required("/open-door") is None
    assert table.required("/guarded") == "read"


API_MD = Path(__file__).resolve().parents[2] / "api.md"
# "### `GET /a?x`, `POST /b` (read) → …" and the websocket lines "`ws://host/update?…` (write)"
_HEADING = re.compile(r"^(?:### |`ws://)")
_PATH = re.compile(r"(?:GET |POST |ws://[^/`]+)(/[A-Za-z.]+)")
_SCOPE = re.compile(r"\((open|read|write)\)")


def _documented_scopes() -> dict[str, str]:
    documented: dict[str, str] = {}
    for line in API_MD.read_text("utf-8").splitlines():
        if not _HEADING.match(line):
            continue
        scope = _SCOPE.search(line)
        for path in _PATH.findall(line):
            assert scope is not None, f"api.md names no scope for {path}: {line}"
            documented[path] = scope.group(1)
    return documented


def test_api_md_documents_each_route_with_its_scope(tmp_path: Path) -> None:
    assert _documented_scopes() == dict(create_app(_state(tmp_path)).scopes.scopes)


def test_websockets_need_a_scope_too() -> None:
    @websocket("/socket")
    async def socket(socket: WebSocket) -> None:
        return None

    with pytest.raises(RouteScopeMissing):
        scope_table([socket])


def test_the_router_serves_exactly_the_declared_routes(tmp_path: Path) -> None:
    # The scope table is built from the route specs; the router must not serve anything else.
    gate = create_app(_state(tmp_path, tmp_path))
    served = {route.path for route in gate.app.routes}  # type: ignore[attr-defined]
    declared = {spec.path for spec in app_module._route_modules()[0]} | {
        "/",
        "/webapp",
        "/webapp/{file_path:path}",
    }
    assert served == declared
