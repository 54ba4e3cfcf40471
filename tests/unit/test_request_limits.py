"""Limits on what a client can make the daemon hold or parse: body cap, JSON depth, client secret."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from sc4pac import wire
from sc4pac.api.auth import CLIENT_ID, OAuthError, TokenStore
from sc4pac.api.body_limit import MAX_BODY_BYTES, CountedReceive
from sc4pac.api.gate import Gate
from sc4pac.api.head_deadline import (
    DEFAULT_HEADER_TIMEOUT_SECONDS,
    HEADER_TIMEOUT_ENV,
    header_timeout_from_env,
)
from sc4pac.api.scopes import ScopeTable
from sc4pac.errors import RequestTooLarge, listing
from sc4pac.models.messages import IncomingResponse

# --- JSON depth and malformed input ---------------------------------------------------------------


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
@pytest.mark.parametrize("type_", [Any, list[Any], dict[str, Any], IncomingResponse])
def test_deep_json_is_a_validation_error(depth: int, type_: Any) -> None:
    raw = nested(depth)
    if type_ is IncomingResponse:
        raw = b'{"$type":"/prompt/response","token":"t","body":' + raw + b"}"
    elif type_ == dict[str, Any]:
        raw = b'{"a":' + raw + b"}"
    with pytest.raises(msgspec.ValidationError, match="nested more than 64 levels"):
        wire.decode_input(raw, type_)


def test_deep_objects_are_refused_too() -> None:
    raw = b'{"a":' * 1000 + b"1" + b"}" * 1000
    with pytest.raises(msgspec.ValidationError, match="nested more than"):
        wire.decode_input(raw, Any)


def test_moderate_nesting_is_accepted() -> None:
    assert wire.decode_input(nested(64), Any) is not None
    value = {"a": [{"b": [1, 2, {"c": None}]}]}
    assert wire.decode_input(json.dumps(value).encode(), Any) == value


def test_deep_json_against_a_strict_type_fails_at_the_first_level() -> None:
    with pytest.raises(msgspec.ValidationError, match="Expected `str`"):
        wire.decode_input(nested(100_000), list[str])


@pytest.mark.parametrize("raw", [b"", b"[", b'["a",', b"{]", b"\xff\xfe", b"[1]x", b"nul"])
def test_malformed_json_is_a_decode_error(raw: bytes) -> None:
    with pytest.raises(msgspec.DecodeError):
        wire.decode_input(raw, Any)


# --- client secret ----------------------------------------------------------------------------------


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


FORM = b"grant_type=client_credentials"


@pytest.mark.parametrize("stored", ["", None])
def test_no_stored_secret_unlocks_nothing(stored: str | None) -> None:
    store = TokenStore(stored)
    for given in ("", " ", "x"):
        with pytest.raises(OAuthError) as info:
            store.exchange(basic(CLIENT_ID, given), FORM)
        assert info.value.code == "invalid_grant"


def test_an_empty_secret_never_matches() -> None:
    store = TokenStore("s3cret")
    with pytest.raises(OAuthError) as info:
        store.exchange(basic(CLIENT_ID, ""), FORM)
    assert info.value.code == "invalid_grant"
    assert store.exchange(basic(CLIENT_ID, "s3cret"), FORM).access_token


def test_credentials_are_checked_without_the_body() -> None:
    store = TokenStore("s3cret")
    with pytest.raises(OAuthError) as info:
        store.check_client(None)
    assert (info.value.code, info.value.status) == ("invalid_client", 401)
    with pytest.raises(OAuthError) as info:
        store.check_client(basic(CLIENT_ID, "wrong"))
    assert (info.value.code, info.value.status) == ("invalid_grant", 400)
    assert store.check_client(basic(CLIENT_ID, "s3cret")) == (CLIENT_ID, "s3cret")
    assert store.client_secret == "s3cret"  # checking does not use the secret up


# --- body cap ---------------------------------------------------------------------------------------


def chunks(sizes: list[int]) -> Any:
    messages = [
        {"type": "http.request", "body": b"x" * size, "more_body": i < len(sizes) - 1}
        for i, size in enumerate(sizes)
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    return receive


async def test_counted_receive_stops_at_the_cap() -> None:
    counted = CountedReceive(chunks([400, 400, 400, 400]), limit=1000)
    await counted()
    await counted()
    with pytest.raises(RequestTooLarge) as info:
        await counted()
    assert info.value.status == 413
    assert info.value.to_wire()["$type"] == "/error/bad-request"
    assert not counted.complete


async def test_counted_receive_passes_a_body_up_to_the_cap() -> None:
    counted = CountedReceive(chunks([500, 500]), limit=1000)
    await counted()
    last = await counted()
    assert not last["more_body"]
    assert counted.complete


def test_the_cap_allows_large_imports() -> None:
    assert MAX_BODY_BYTES >= 16 * 1024 * 1024


class Recorder:
    """An ASGI app reading the whole body, and the messages the gate sends."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.body = b""

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            self.body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def send(self, message: Any) -> None:
        self.sent.append(message)


def http_scope(headers: list[tuple[bytes, bytes]], path: str = "/auth/token") -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": path, "headers": [(b"host", b"localhost"), *headers]}


async def no_precheck(path: str, query: dict[str, str], scope: Any) -> None:
    return None


def gate(recorder: Recorder, limit: int) -> Gate:
    return Gate(
        recorder.app,
        scopes=ScopeTable({}, frozenset()),
        tokens=TokenStore("s"),
        indent=-1,
        check_host=True,
        websocket_precheck=no_precheck,
        max_body=limit,
    )


async def test_gate_refuses_a_declared_length_over_the_cap_without_reading() -> None:
    recorder = Recorder()

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body must not be read")

    await gate(recorder, 1000)(http_scope([(b"content-length", b"1001")]), receive, recorder.send)
    start = recorder.sent[0]
    assert start["status"] == 413
    assert (b"connection", b"close") in start["headers"]
    assert json.loads(recorder.sent[1]["body"])["title"] == "Request body too large."


async def test_gate_counts_chunked_bodies() -> None:
    recorder = Recorder()
    scope = http_scope([(b"transfer-encoding", b"chunked")])
    with pytest.raises(RequestTooLarge):
        await gate(recorder, 1000)(scope, chunks([600, 600, 600]), recorder.send)
    assert len(recorder.body) <= 1000


async def test_gate_passes_bodies_within_the_cap() -> None:
    recorder = Recorder()
    scope = http_scope([(b"content-length", b"1000")])
    await gate(recorder, 1000)(scope, chunks([1000]), recorder.send)
    assert recorder.sent[0]["status"] == 200
    assert (b"connection", b"close") not in recorder.sent[0]["headers"]


# --- small helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("", DEFAULT_HEADER_TIMEOUT_SECONDS),
        ("1", 1.0),
        ("0.5", 0.5),
        ("0", DEFAULT_HEADER_TIMEOUT_SECONDS),
        ("-3", DEFAULT_HEADER_TIMEOUT_SECONDS),
        ("abc", DEFAULT_HEADER_TIMEOUT_SECONDS),
        ("nan", DEFAULT_HEADER_TIMEOUT_SECONDS),
        ("1e9", DEFAULT_HEADER_TIMEOUT_SECONDS),
    ],
)
def test_header_timeout_setting(monkeypatch: pytest.MonkeyPatch, raw: str, seconds: float) -> None:
    monkeypatch.setenv(HEADER_TIMEOUT_ENV, raw)
    assert header_timeout_from_env() == seconds


def test_listing_keeps_messages_short() -> None:
    assert listing(["a", "b"]) == "a, b"
    names = [f"p{i}" for i in range(200_000)]
    text = listing(names)
    assert text.startswith("p0, p1,")
    assert text.endswith("and 199990 more")


# --- one decoding place -------------------------------------------------------------------------

API_DIR = Path(__file__).resolve().parents[2] / "sc4pac" / "api"
RAW_READS = ("request.body(", "request.stream(", ".receive_bytes(", "msgspec.json.decode", "json.loads")


@pytest.mark.parametrize("module", sorted(p.name for p in API_DIR.glob("*.py") if p.name != "http.py"))
def test_request_bodies_are_decoded_only_in_http_module(module: str) -> None:
    # Bodies and websocket messages go through api/http.py (size, depth and error rules) or
    # wire.decode_input; a route reading or parsing raw input itself would bypass them.
    source = (API_DIR / module).read_text(encoding="utf-8")
    assert [token for token in RAW_READS if token in source] == []
