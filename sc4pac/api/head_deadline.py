"""A deadline for a request's head (request line and headers), which uvicorn does not have.

uvicorn closes a keep-alive connection that stays idle after a response (``timeout_keep_alive``), but a
connection that never sends a complete request head — opened and left idle, or fed one header byte
at a time — is kept forever. A few hundred of those exhaust the process's sockets. This protocol gives
every request head a fixed time to arrive, counted from the moment the server starts waiting for it
(connection opened, or the first byte of a further request on a kept-alive connection); sending data
slowly does not extend it. Bodies are not covered: they are bounded by the body cap and read by the
handlers that want them.

It extends uvicorn's h11 protocol through its stable surface only (``conn``, ``transport``, ``loop``
and the asyncio ``Protocol`` callbacks).
"""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..env_settings import env_number

log = logging.getLogger(__name__)

HEADER_TIMEOUT_ENV = "SC4PAC_HEADER_TIMEOUT"
DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0


def header_timeout_from_env() -> float:
    """Seconds a client has to send a request head: ``SC4PAC_HEADER_TIMEOUT`` or the default."""
    return env_number(
        HEADER_TIMEOUT_ENV,
        DEFAULT_HEADER_TIMEOUT_SECONDS,
        parse=float,
        valid=lambda s: 0 < s <= 3600,
        expected="seconds between 0 and 3600",
    )


class HeadDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request head does not arrive in time."""

    header_timeout: float = DEFAULT_HEADER_TIMEOUT_SECONDS
    _head_timer: asyncio.TimerHandle | None = None

    # uvicorn's protocol narrows the parameter to asyncio.Transport (asyncio declares BaseTransport).
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._awaiting_head():
            self._arm_head_timer()  # no-op while armed: trickling bytes does not buy more time
        else:
            self._cancel_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _awaiting_head(self) -> bool:
        # IDLE: the client has not finished a request head (h11 moves on once the head is complete,
        # and a websocket upgrade hands the transport to another protocol).
        return self.conn.their_state is h11.IDLE and not self.transport.is_closing()

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._awaiting_head() and self.transport.get_protocol() is self:
            log.debug("Closing a connection whose request head did not arrive in %ss.", self.header_timeout)
            self.transport.close()


def head_deadline_protocol(timeout: float) -> type[HeadDeadlineProtocol]:
    """The protocol class to pass as uvicorn's ``http`` setting, with ``timeout`` seconds per head."""
    return type("HeadDeadlineProtocol", (HeadDeadlineProtocol,), {"header_timeout": timeout})
