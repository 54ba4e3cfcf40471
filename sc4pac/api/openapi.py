"""The self-description of the API: an OpenAPI 3.1 document, websocket message schemas, a readable page.

Paths, methods and operation ids come from the app's route specs (:mod:`sc4pac.api.routing`); parameters,
bodies and answers from :mod:`sc4pac.api.route_docs`; every shape from the msgspec Structs the handlers
encode (``msgspec.json.schema_components``), so the schema follows the wire rules: ``$type`` is the first
property of tagged messages, fields with defaults are optional (they are omitted when default), and
optional values are arrays. The websockets, which OpenAPI cannot describe, are listed under
``x-websockets`` with references into ``/schema/messages.json``.

The handlers read raw bodies and return encoded bytes (the reference's parsing rules and ``--indent``),
so their signatures carry no types; msgspec's generator is the one that matches the encoder byte for
byte.
"""

from __future__ import annotations

import html
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from .. import API_VERSION, __version__
from .route_docs import (
    ERROR_TEXT,
    OAUTH_ERROR,
    PROFILE_ID_PATTERN,
    ROUTE_DOCS,
    WEBSOCKET_DOCS,
    Error,
    Param,
    RouteDoc,
)
from .routing import RouteSpec
from .scopes import ScopeTable, scope_table

OPENAPI_PATH = "/schema/openapi.json"
MESSAGES_PATH = "/schema/messages.json"
_COMPONENTS = "#/components/schemas/{name}"
_DEFS = "#/$defs/{name}"
_SKIPPED_METHODS = frozenset({"OPTIONS", "HEAD"})
STALE_HEADER_DOC = {
    "description": "Channels served from an outdated cached copy (space-separated URLs).",
    "schema": {"type": "string"},
}


@dataclass(frozen=True)
class HttpOperation:
    """One method of one HTTP route of the app."""

    path: str  # OpenAPI form: {name} without the route's :converter
    method: str
    operation_id: str
    description: str


def http_operations(routes: Sequence[RouteSpec]) -> list[HttpOperation]:
    """Every HTTP route and method (HEAD, which Starlette adds to GET, left out)."""
    found: list[HttpOperation] = []
    for route in routes:
        if route.kind != "http":
            continue
        for method in sorted(route.methods - _SKIPPED_METHODS):
            doc = (route.handler.__doc__ or "").strip()
            found.append(HttpOperation(route.path_format, method, route.name, doc))
    return found


def websocket_paths(routes: Sequence[RouteSpec]) -> list[str]:
    return [route.path_format for route in routes if route.kind == "websocket"]


class _Schemas:
    """Collects msgspec types and turns them into schemas sharing one component table."""

    def __init__(self) -> None:
        self.types: list[Any] = []

    def ref(self, type_: Any) -> int:
        self.types.append(type_)
        return len(self.types) - 1

    def generate(self, template: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        schemas, components = msgspec.json.schema_components(self.types, ref_template=template)
        return list(schemas), dict(components)


def _param(p: Param) -> dict[str, Any]:
    schema: dict[str, Any] = dict(p.schema)
    if p.name == "profile":
        schema["pattern"] = PROFILE_ID_PATTERN
    if p.repeated:
        schema = {"type": "array", "items": schema}
    result: dict[str, Any] = {"name": p.name, "in": "query", "required": p.required, "schema": schema}
    description = p.description
    if p.flag:
        description += " A flag: true when present at all, whatever its value."
        result["allowEmptyValue"] = True
    if p.repeated:
        result["style"], result["explode"] = "form", True
    result["description"] = description
    return result


def _security(path: str, scopes: ScopeTable) -> list[dict[str, list[str]]]:
    scope = scopes.required(path)
    if path == "/auth/token":
        return [{"clientSecret": []}]
    if scope is None:
        return []
    # Desktop: the bearer access token. Web-app: the CSRF token as bearer plus the access-token cookie.
    return [{"bearerToken": [scope]}, {"bearerToken": [scope], "accessTokenCookie": [scope]}]


def _operation(
    op: HttpOperation, doc: RouteDoc, schemas: list[dict[str, Any]], slot: dict[str, int], scopes: ScopeTable
) -> dict[str, Any]:
    scope = scopes.required(op.path)
    description = doc.description or op.description
    if scope is not None:
        description = f"Needs a token with scope `{scope}`. {description}".strip()
    else:
        description = f"Needs no token. {description}".strip()
    operation: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": doc.summary,
        "description": description,
        "tags": [doc.tag],
        "security": _security(op.path, scopes),
    }
    params = [_param(p) for p in doc.query]
    if op.path == "/webapp/{file_path}":
        params.append({"name": "file_path", "in": "path", "required": True, "schema": {"type": "string"}})
    if params:
        operation["parameters"] = params
    if op.path == "/auth/token":
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "grant_type": {
                                "type": "string",
                                "enum": ["client_credentials", "client_credentials_cookie_sc4pac"],
                            }
                        },
                        "required": ["grant_type"],
                    }
                }
            },
        }
    elif "body" in slot:
        operation["requestBody"] = {
            "required": True,
            "content": {doc.body_media: {"schema": schemas[slot["body"]]}},
        }
    success: dict[str, Any] = {"description": "Success."}
    if "response" in slot:
        success["content"] = {doc.media: {"schema": schemas[slot["response"]]}}
    elif doc.response is bytes:
        success["content"] = {
            doc.media: {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}
        }
    if doc.stale_header:
        success["headers"] = {"X-Sc4pac-Stale-Channels": STALE_HEADER_DOC}
    if doc.success == 308:
        success = {
            "description": "Redirect to /webapp/.",
            "headers": {"Location": {"schema": {"type": "string"}}},
        }
    responses: dict[str, Any] = {str(doc.success): success}
    for status in sorted(set(doc.errors)):
        # The token endpoint answers OAuth errors; the Host check in front of it uses the error object.
        oauth = op.path == "/auth/token" and status != 403
        error_ref = {"$ref": _COMPONENTS.format(name="OAuthErrorBody" if oauth else "Error")}
        entry: dict[str, Any] = {
            "description": ERROR_TEXT[status],
            "content": {"application/json": {"schema": error_ref}},
        }
        if status == 401:
            entry["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        responses[str(status)] = entry
    if op.path == "/image.fetch":
        responses["default"] = {
            "description": "The upstream server's status, passed through.",
            "content": {
                "*/*": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}
            },
        }
    operation["responses"] = responses
    return operation


def build_openapi(routes: Sequence[RouteSpec]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes`` (every HTTP route; websockets under ``x-websockets``)."""
    scopes = scope_table(routes)  # the scope each route declares where it is defined
    collector = _Schemas()
    error_slot = collector.ref(Error)
    oauth_slot = collector.ref(OAUTH_ERROR)
    operations = http_operations(routes)
    slots: list[dict[str, int]] = []
    for op in operations:
        doc = ROUTE_DOCS.get(op.path)
        slot: dict[str, int] = {}
        if doc is not None:
            if doc.body is not None:
                slot["body"] = collector.ref(doc.body)
            if doc.response is not None and doc.response is not bytes and doc.media != "text/html":
                slot["response"] = collector.ref(doc.response)
            elif doc.media == "text/html":
                slot["response"] = collector.ref(str)
        slots.append(slot)
    schemas, components = collector.generate(_COMPONENTS)
    # Both error objects are referenced by name from every operation's error responses.
    assert schemas[error_slot] == {"$ref": _COMPONENTS.format(name="Error")}
    assert schemas[oauth_slot] == {"$ref": _COMPONENTS.format(name="OAuthErrorBody")}
    paths: dict[str, dict[str, Any]] = {}
    for op, slot in zip(operations, slots, strict=True):
        doc = ROUTE_DOCS.get(op.path)
        if doc is None:
            continue  # the completeness test names such routes
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, doc, schemas, slot, scopes)
    websockets: dict[str, Any] = {}
    for path in websocket_paths(routes):
        wdoc = WEBSOCKET_DOCS.get(path)
        if wdoc is None:
            continue
        name = _ws_name(path)
        websockets[path] = {
            "summary": wdoc.summary,
            "description": wdoc.description,
            "scope": scopes.required(path),
            "parameters": [_param(p) for p in wdoc.query],
            "upgradeErrors": {str(s): ERROR_TEXT[s] for s in wdoc.upgrade_errors},
            "serverMessages": {"$ref": f"{MESSAGES_PATH}#/$defs/{name}ServerMessage"},
            **(
                {"clientMessages": {"$ref": f"{MESSAGES_PATH}#/$defs/{name}ClientMessage"}}
                if wdoc.client_messages is not None
                else {}
            ),
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sc4pac daemon API",
            "version": API_VERSION,
            "summary": f"The local sc4pac server (sc4pac-py {__version__}).",
            "description": (
                "JSON over HTTP on localhost. Wire rules: a message's `$type` is its first key; fields equal "
                "to their default are left out; optional values are arrays ([] or [value]). Flags are true "
                "when present at all. The websockets are described under `x-websockets`, their messages in "
                f"{MESSAGES_PATH}. This document needs no token."
            ),
            "license": {"name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"},
        },
        "servers": [{"url": "http://localhost:51515"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The access token from /auth/token (desktop), or the CSRF token (web-app).",
                },
                "accessTokenCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "__Host-access_token",
                    "description": "The web-app's access token (named access-token with --cookie-secure=false).",
                },
                "clientSecret": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "Client id sc4pacGUIxDI5NjY4MzE2MDQ5OTQ0 and the one-time client secret.",
                },
            },
        },
        "x-websockets": websockets,
    }


def _ws_name(path: str) -> str:
    """``/server.connect`` -> ``ServerConnect``."""
    words = path.strip("/").replace(".", " ").replace("/", " ").split()
    return "".join(w[:1].upper() + w[1:] for w in words)


def _members(type_: Any) -> tuple[Any, ...]:
    """The members of a union type (flattened), or the type alone."""
    if isinstance(type_, types.UnionType):
        return tuple(typing.get_args(type_))
    return (type_,)


def build_messages() -> dict[str, Any]:
    """JSON Schemas (draft 2020-12) of every websocket message, one union per socket and direction."""
    unions: dict[str, tuple[Any, ...]] = {}
    for path, wdoc in WEBSOCKET_DOCS.items():
        name = _ws_name(path)
        unions[f"{name}ServerMessage"] = _members(wdoc.server_messages)
        if wdoc.client_messages is not None:
            unions[f"{name}ClientMessage"] = _members(wdoc.client_messages)
    # Each member separately: msgspec cannot put untagged structs (Error) in one union with tagged ones.
    flat = [t for members in unions.values() for t in members]
    schemas, components = msgspec.json.schema_components(flat, ref_template=_DEFS)
    defs: dict[str, Any] = {}
    position = 0
    for name, members in unions.items():
        defs[name] = {"anyOf": list(schemas[position : position + len(members)])}
        position += len(members)
    defs.update(components)
    names = list(unions)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": MESSAGES_PATH,
        "title": "sc4pac websocket messages",
        "description": (
            "Every frame is one JSON object with its `$type` first. "
            + " ".join(
                f"{path}: server messages `{_ws_name(path)}ServerMessage`"
                + (
                    f", client messages `{_ws_name(path)}ClientMessage`."
                    if w.client_messages is not None
                    else "."
                )
                for path, w in WEBSOCKET_DOCS.items()
            )
        ),
        "anyOf": [{"$ref": f"#/$defs/{n}"} for n in names],
        "$defs": defs,
    }


def render_page(document: dict[str, Any]) -> str:
    """A self-contained HTML page listing the endpoints (no scripts, no external assets)."""
    esc = html.escape
    rows: list[str] = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            params = ", ".join(
                f"{esc(p['name'])}{'' if p.get('required') else '?'}" for p in op.get("parameters", [])
            )
            scopes = sorted({s for req in op.get("security", []) for v in req.values() for s in v})
            statuses = ", ".join(op["responses"])
            rows.append(
                f"<tr><td>{esc(method.upper())}</td><td><code>{esc(path)}</code></td><td>{esc(op['summary'])}</td>"
                f"<td>{params}</td><td>{esc(', '.join(scopes) or 'none')}</td><td>{esc(statuses)}</td></tr>"
            )
    for path, ws in document.get("x-websockets", {}).items():
        params = ", ".join(esc(p["name"]) for p in ws["parameters"])
        rows.append(
            f"<tr><td>WS</td><td><code>{esc(path)}</code></td><td>{esc(ws['summary'])}</td>"
            f"<td>{params}</td><td>{esc(ws['scope'] or 'none')}</td><td>101</td></tr>"
        )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>sc4pac daemon API</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top}</style></head><body>"
        f"<h1>sc4pac daemon API {esc(document['info']['version'])}</h1>"
        f"<p>{esc(document['info']['description'])}</p>"
        f'<p>Machine-readable: <a href="{OPENAPI_PATH}">{OPENAPI_PATH}</a> (OpenAPI 3.1) and '
        f'<a href="{MESSAGES_PATH}">{MESSAGES_PATH}</a> (websocket messages).</p>'
        "<table><tr><th>method</th><th>path</th><th>what</th><th>query</th><th>token scope</th>"
        f"<th>statuses</th></tr>{''.join(rows)}</table></body></html>"
    )
