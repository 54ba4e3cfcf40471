"""Open ``/server.connect`` sockets: liveness of the GUI, auto-shutdown, and ``/packages.open`` delivery."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

SendText = Callable[[str], Awaitable[None]]

SHUTDOWN_GRACE_SECONDS = 2.0


class ConnectionRegistry:
    """Counts GUI connections; with auto-shutdown, stops the server once none is left."""

    def __init__(self, *, auto_shutdown: bool, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        self.auto_shutdown = auto_shutdown
        self.grace = grace
        self.request_shutdown: Callable[[], None] = lambda: None
        self._connections: list[SendText] = []  # oldest first

    @property
    def count(self) -> int:
        return len(self._connections)

    def opened(self, send: SendText) -> None:
        self._connections.append(send)

    def closed(self, send: SendText) -> None:
        if send in self._connections:
            self._connections.remove(send)
        if self.auto_shutdown and not self._connections:
            self._schedule_check(self.grace)

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
        """Send a message to the newest live connection, falling back to older ones; False if none."""
        for send in reversed(list(self._connections)):
            try:
                await send(text)
                return True
            except Exception as exc:  # a socket that died without a close event yet
                log.info("GUI connection failed while sending: %s", exc)
        return False
