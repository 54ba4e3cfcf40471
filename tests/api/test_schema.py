"""The self-description: /schema/openapi.json covers every route, is valid OpenAPI 3.1, needs no token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from sc4pac import wire
from sc4pac.api.app import create_app
from sc4pac.api.auth import TokenStore
from sc4pac.api.connections import ConnectionRegistry
from sc4pac.api.routing import route_specs
from sc4pac.api.scopes import scope_table
from sc4pac.api.state import ServerOptions, ServerState
from sc4pac.models.events import PluginsEvent, ProfilesEvent, UpdateEvent
from sc4pac.models.messages import OK, OpenPackage, OpenPackageItem, PromptResponse
from sc4pac.services import Services
from tests import plain_http
from tests.thread_daemon import ThreadDaemon, start_thread_daemon

API_MD = Path(__file__).resolve().parents[2] / "api.md"


@pytest.fixture(scope="module")
def webapp_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadDaemon]:
    """A daemon serving a web-app too, so the document includes the static routes."""
    root = tmp_path_factory.mktemp("schema")
    (root / "webapp").mkdir()
    (root / "webapp" / "index.html").write_text("<html></html>")
    d = start_thread_daemon(root / "profiles", web_app_dir=root / "webapp")
    try:
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
def document(webapp_daemon: ThreadDaemon) -> dict[str, Any]:
    r = plain_http.get(f"{webapp_daemon.base}/schema/openapi.json")  # no token: the schema is not secret
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


@pytest.fixture(scope="module")
def messages(webapp_daemon: ThreadDaemon) -> dict[str, Any]:
    r = plain_http.get(f"{webapp_daemon.base}/schema/messages.json")
    assert r.status_code == 200
    return r.json()


@pytest.fixture(scope="module")
def built_app(tmp_path_factory: pytest.TempPathFactory) -> Starlette:
    """The daemon's app behind the Gate, with the web-app routes, built in this process."""
    root = tmp_path_factory.mktemp("app")
    (root / "webapp").mkdir()
    state = ServerState(
        options=ServerOptions(web_app_dir=root / "webapp"),
        tokens=TokenStore(None),
        services=Services.create(root / "profiles"),
        connections=ConnectionRegistry(auto_shutdown=False),
    )
    app = create_app(state).app
    assert isinstance(app, Starlette)
    return app


@pytest.fixture(scope="module")
def app_routes(built_app: Starlette) -> tuple[set[tuple[str, str]], set[str]]:
    """(path, method) of every HTTP route the app serves (HEAD mirrors GET) and every websocket path,
    read from the router itself rather than from the specs the document is built from."""
    http: set[tuple[str, str]] = set()
    websockets: set[str] = set()
    for route in built_app.routes:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", getattr(route, "path", ""))
        if isinstance(route, Route):
            http |= {(path, method.lower()) for method in route.methods or () if method != "HEAD"}
        elif isinstance(route, WebSocketRoute):
            websockets.add(path)
        else:
            raise AssertionError(f"a route of an unexpected kind: {route!r}")
    return http, websockets


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    # The validators are imported by the tests that use them: every pytest worker imports this module
    # to collect it, and they cost ~0.4 s to load.
    from openapi_spec_validator import validate

    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any violation of the OpenAPI 3.1 specification


def test_every_route_of_the_app_is_in_the_document_and_nothing_else(
    document: dict[str, Any], app_routes: tuple[set[tuple[str, str]], set[str]]
) -> None:
    http, websockets = app_routes
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented == http
    assert set(document["x-websockets"]) == websockets == {"/update", "/server.connect"}


def test_every_route_in_api_md_exists(document: dict[str, Any]) -> None:
    text = API_MD.read_text(encoding="utf-8")
    described = set(re.findall(r"`(GET|POST) (/[A-Za-z0-9._/]*)", text))
    assert len(described) > 30
    for method, written in described:
        # "GET /webapp/<path>" is the templated route
        path = f"{written}{{file_path}}" if written.endswith("/") and written != "/" else written
        assert method.lower() in document["paths"].get(path, {}), f"{method} {path} is in api.md only"
    for path in re.findall(r"ws://localhost:51515(/[A-Za-z.]+)", text):
        assert path in document["x-websockets"]


def test_errors_tokens_and_bodies_are_described(document: dict[str, Any], built_app: Starlette) -> None:
    scopes = scope_table(route_specs(built_app.state))
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {**schemes["bearerToken"], "type": "http", "scheme": "bearer"}
    for path, item in document["paths"].items():
        for op in item.values():
            scope = scopes.required(path)
            if scope is not None:
                assert {"bearerToken": [scope]} in op["security"], path
                assert "401" in op["responses"], path
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema["$ref"].rsplit("/", 1)[-1] in ("Error", "OAuthErrorBody"), (path, status)
    read = document["paths"]["/profile.read"]["get"]
    assert [p["name"] for p in read["parameters"]] == ["profile"]
    assert read["parameters"][0]["required"] is True
    assert {"400", "401", "403", "409", "500"} <= set(read["responses"])
    add = document["paths"]["/profiles.add"]["post"]
    assert add["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NameBody"
    }
    flag = next(
        p for p in document["paths"]["/profiles.list"]["get"]["parameters"] if p["name"] == "includePlugins"
    )
    assert flag["allowEmptyValue"] is True
    assert document["paths"]["/schema/openapi.json"]["get"]["security"] == []


def test_wire_rules_show_in_the_schemas(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    # $type first and required on tagged messages
    prompt = schemas["VariantPrompt"]
    assert next(iter(prompt["properties"])) == "$type"
    assert "$type" in prompt["required"]
    # a field with a default is optional (it is omitted on the wire when default) ...
    assert "notFoundPackageCount" not in schemas["SearchResponse"]["required"]
    assert schemas["SearchResponse"]["properties"]["notFoundPackageCount"]["default"] == 0
    # ... and an Option is an array
    assert prompt["properties"]["previouslySelectedValue"]["type"] == "array"
    assert schemas["ProfileList"]["properties"]["currentProfileId"]["type"] == "array"


def test_websocket_messages_are_json_schemas_matching_real_frames(messages: dict[str, Any]) -> None:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(messages)

    def check(union: str, obj: Any) -> None:
        schema = {**messages, "$ref": f"#/$defs/{union}"}
        schema.pop("anyOf")
        # A validator of the checked schema: jsonschema.validate would check the whole schema again.
        jsonschema.Draft202012Validator(schema).validate(wire.decode(wire.encode(obj), Any))

    check("ServerConnectServerMessage", OpenPackage([OpenPackageItem("a:b", "https://x/")]))
    check("ServerConnectServerMessage", ProfilesEvent("added", "2", "New"))
    check("ServerConnectServerMessage", PluginsEvent("1", added=["a:b"]))
    check("ServerConnectServerMessage", UpdateEvent("1", "finished", "ok"))
    check("UpdateServerMessage", OK)
    check("UpdateServerMessage", {"$type": "/error/aborted", "title": "Operation aborted.", "detail": ""})
    check("UpdateClientMessage", PromptResponse("t", "Yes"))
    with pytest.raises(jsonschema.ValidationError):
        check("ServerConnectServerMessage", {"$type": "/event/unknown"})


def test_the_page_works_offline(webapp_daemon: ThreadDaemon, document: dict[str, Any]) -> None:
    r = plain_http.get(f"{webapp_daemon.base}/schema")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    for external in ("<script", "<link", "src="):
        assert external not in page
    for path in ("/profiles.list", "/server.connect", "/schema/openapi.json"):
        assert path in page
