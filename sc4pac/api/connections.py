"""Open ``/server.connect`` sockets: liveness of the GUI, auto-shutdown, events and ``/packages.open``.

A connection is identified by its send callable. Dead peers are found by the websocket keepalive pings
(see :mod:`sc4pac.api.liveness`): the server closes a socket whose peer stops answering, its handler
then calls :meth:`ConnectionRegistry.closed`, so a GUI that died no longer keeps the daemon alive.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

SendText = Callable[[str], Awaitable[None]]
# Closes one socket with a websocket close code and a short reason.
CloseSocket = Callable[[int, str], Awaitable[None]]

SHUTDOWN_GRACE_SECONDS = 2.0
# A client whose socket does not take a message within this time is skipped for that message.
SEND_TIMEOUT_SECONDS = 5.0


class ConnectionRegistry:
    """Counts GUI connections; with auto-shutdown, stops the server once none is left."""

    def __init__(self, *, auto_shutdown: bool, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        self.auto_shutdown = auto_shutdown
        self.grace = grace
        self.request_shutdown: Callable[[], None] = lambda: None
        self._connections: list[SendText] = []  # oldest first
        self._closers: dict[SendText, CloseSocket] = {}
        self._others: list[CloseSocket] = []  # sockets closed on shutdown but not counted
        # Called with the new count whenever a connection opens or closes (the event watcher).
        self.count_listeners: list[Callable[[int], None]] = []

    @property
    def count(self) -> int:
        return len(self._connections)

    def opened(self, send: SendText, close: CloseSocket | None = None) -> None:
        self._connections.append(send)
        if close is not None:
            self._closers[send] = close
        self._notify()

    def closed(self, send: SendText) -> None:
        if send in self._connections:
            self._connections.remove(send)
            self._closers.pop(send, None)
            self._notify()
        if self.auto_shutdown and not self._connections:
            self._schedule_check(self.grace)

    def _notify(self) -> None:
        for listener in list(self.count_listeners):
            listener(len(self._connections))

    def start_startup_timer(self, timeout: float) -> None:
        """Shut down if no GUI has connected ``timeout`` seconds after start (frees a stale port)."""
        if self.auto_shutdown:
            self._schedule_check(timeout + self.grace)

    def _schedule_check(self, delay: float) -> None:
        async def check() -> None:
            await asyncio.sleep(delay)
            if not self._connections:
                log.warning("No GUI connected any more: shutting down (auto-shutdown).")
                self.request_shutdown()

        # Each check looks at the count when it fires, so overlapping checks need no cancelling.
        asyncio.get_running_loop().create_task(check())

    async def send_to_gui(self, text: str) -> bool:
        """Send a message to the newest live connection, falling back to older ones; False if none.

        ``/packages.open`` uses this: the window the user opened last shows the package, and the call
        only fails when no connection at all takes the message.
        """
        for send in reversed(list(self._connections)):
            try:
                await asyncio.wait_for(send(text), SEND_TIMEOUT_SECONDS)
                return True
            except Exception as exc:  # a socket that died without a close event yet
                log.info("GUI connection failed while sending: %s", exc)
        return False

    async def broadcast(self, text: str) -> int:
        """Send a message to every connection at once; returns how many took it."""
        targets = list(self._connections)

        async def one(send: SendText) -> bool:
            try:
                await asyncio.wait_for(send(text), SEND_TIMEOUT_SECONDS)
                return True
            except Exception as exc:  # a dead or stalled peer must not hold up the others
                log.info("GUI connection failed while sending an event: %s", exc)
                return False

        results = await asyncio.gather(*(one(send) for send in targets))
        return sum(results)

    def track(self, close: CloseSocket) -> Callable[[], None]:
        """Remember another socket (an ``/update``) for :meth:`close_all`; returns the function to forget it.

        Such sockets are not GUI connections: they neither count for auto-shutdown nor get messages.
        """
        self._others.append(close)
        return lambda: self._others.remove(close) if close in self._others else None

    async def close_all(self, code: int, reason: str) -> None:
        """Close every GUI connection and tracked socket (server shutdown), with code and reason."""
        closers = [*self._closers.values(), *self._others]

        async def one(close: CloseSocket) -> None:
            try:
                await asyncio.wait_for(close(code, reason), SEND_TIMEOUT_SECONDS)
            except Exception as exc:
                log.info("Closing a GUI connection failed: %s", exc)

        await asyncio.gather(*(one(c) for c in closers))
