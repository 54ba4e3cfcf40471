"""Request parsing and JSON responses shared by all route modules."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from .. import wire
from ..errors import BadRequest
from .body_limit import too_large
from .state import server_state

T = TypeVar("T")


@dataclass(frozen=True)
class Query:
    """Query parameters with the reference's rules: first occurrence wins, flags are true when present."""

    pairs: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, request: Request) -> Query:
        raw = request.scope.get("query_string", b"").decode("utf-8", "replace")
        return cls(tuple(parse_qsl(raw, keep_blank_values=True)))

    def get(self, key: str) -> str | None:
        for k, v in self.pairs:
            if k == key:
                return v
        return None

    def all(self, key: str) -> list[str]:
        return [v for k, v in self.pairs if k == key]

    def flag(self, key: str) -> bool:
        """True when the key is present at all, whatever its value (``?x=false`` too, as the reference)."""
        return any(k == key for k, _ in self.pairs)

    def require(self, key: str, title: str, detail: str) -> str:
        value = self.get(key)
        if value is None:
            raise BadRequest(title, detail)
        return value

    def profile(self) -> str:
        return self.require(
            "profile", 'URL query parameter "profile" is required.', "Pass the profile ID as query."
        )


def indent_of(request: Request) -> int:
    return server_state(request).options.indent


def respond(request: Request, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response encoded with the wire rules and the server's ``--indent``."""
    return Response(
        content=wire.encode(obj, indent_of(request)),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def ok(request: Request) -> Response:
    """``{"$type":"/result","ok":true}``."""
    from ..models.messages import OK

    return respond(request, OK)


# Bodies at least this large are decoded and checked in a worker thread, so a bulk request (an import
# of thousands of packages) does not stall every other request while it is parsed.
OFF_LOOP_BYTES = 256 * 1024


class MalformedBody(Exception):
    """A request body that is not the expected JSON; ``problem`` says why, for the error detail."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


async def read_body(request: Request, limit: int | None = None) -> bytes:
    """The raw request body; over ``limit`` bytes (tighter than the gate's cap) it is a 413.

    The gate already enforces the server-wide cap on every body; this is for endpoints whose bodies
    are always tiny, so they stop reading sooner.
    """
    if limit is None:
        return await request.body()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(raw: bytes, type_: type[T]) -> T:
    try:
        return wire.decode_input(raw, type_)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MalformedBody("the request body is empty" if not raw.strip() else str(exc)) from None


async def json_body(request: Request, type_: type[T]) -> T:
    """The request body (whatever its content type) decoded as JSON into ``type_``.

    Every endpoint that takes a body decodes it here: malformed, mistyped and too deeply nested JSON
    raise :class:`MalformedBody`, which the caller turns into its 400.
    """
    raw = await request.body()
    if len(raw) >= OFF_LOOP_BYTES:
        return await asyncio.to_thread(_decode, raw, type_)
    return _decode(raw, type_)


async def body_as(request: Request, type_: type[T], title: str, detail: str) -> T:
    """Decode the raw request body (whatever its content type) or fail with a 400 naming the problem."""
    try:
        return await json_body(request, type_)
    except MalformedBody as exc:
        raise BadRequest(title, f"{detail} ({exc.problem})") from None


async def package_list_body(request: Request) -> list[str]:
    """A JSON array of strings as the plugin endpoints take it (the ids are checked by the services)."""
    title, detail = "Malformed package names", "Pass an array of strings of the form '<group>:<name>'."
    return await body_as(request, list[str], title, detail)


STALE_CHANNELS_HEADER = "X-Sc4pac-Stale-Channels"


def stale_header(index: Any) -> dict[str, str] | None:
    """A header naming channels served from an outdated cached copy (they could not be refreshed)."""
    stale = [ch.url for ch in index.channels if ch.stale]
    return {STALE_CHANNELS_HEADER: " ".join(stale)} if stale else None
