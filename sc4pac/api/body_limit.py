"""The cap on request bodies, enforced while a body streams in rather than after it has arrived.

One daemon serves one player, and the largest legitimate body is a mod-set import (a list of package
ids and variant choices: a few MB at most). Anything much larger is a mistake or an attack, and must
not be held in memory: a declared ``Content-Length`` over the cap is refused before a byte of the body
is read, and a chunked body is counted as it arrives and refused the moment it passes the cap.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..errors import BadRequest, RequestTooLarge

# The one cap on any request body, in bytes (documented in api.md, "Limits").
MAX_BODY_BYTES = 16 * 1024 * 1024

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]


def too_large(limit: int) -> RequestTooLarge:
    """The 413 error for a body over ``limit`` bytes."""
    return RequestTooLarge(
        "Request body too large.",
        f"The server accepts request bodies of at most {limit} bytes ({limit // (1024 * 1024)} MiB); "
        "split the request into smaller ones.",
    )


def declared_length(headers: dict[str, str]) -> int | None:
    """The ``Content-Length`` of a request, None without one; BadRequest when it is not a number."""
    raw = headers.get("content-length")
    if raw is None:
        return None
    text = raw.strip()
    if not text.isdigit() or not text.isascii():
        raise BadRequest(
            "Malformed Content-Length header.", "Content-Length must be a decimal number of bytes."
        )
    return int(text)


def may_have_body(headers: dict[str, str]) -> bool:
    """Whether a request announces a body (a non-zero length or a transfer coding)."""
    return "transfer-encoding" in headers or headers.get("content-length", "0").strip() not in ("", "0")


class CountedReceive:
    """An ASGI ``receive`` that counts body bytes and raises the 413 error once they pass ``limit``.

    It also remembers whether the whole body was read, so the gate can close a connection whose
    body was left (partly) unread instead of letting the server drain it.
    """

    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self.limit = limit
        self.received = 0
        self.complete = False

    async def __call__(self) -> Message:
        if self.received > self.limit:
            raise too_large(self.limit)
        message = await self._receive()
        if message.get("type") == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise too_large(self.limit)
            if not message.get("more_body", False):
                self.complete = True
        elif message.get("type") == "http.disconnect":
            self.complete = True
        return message
