"""Request slots of one host, handed out by priority.

A resolution asks a host for hundreds of small files, more than may be in flight at once. Which one
goes next decides how long the resolution takes: the files that reveal further files (a package's
``pkg.json`` reveals its dependencies) must not wait behind files that reveal nothing (asset metadata),
and a dependency found deep in the graph is on the critical path before a sibling of the explicit
packages. Callers state that with :func:`prioritized`; waiters of equal priority are served in order
of arrival, so downloads that do not say anything keep today's first-come order.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar

# Lower goes first. Read when a request waits for a slot; set per task by :func:`prioritized`.
_priority: ContextVar[int] = ContextVar("sc4pac_request_priority", default=0)


@contextmanager
def prioritized(priority: int) -> Iterator[None]:
    """Requests made inside wait for their host's slots with ``priority`` (lower is served first)."""
    token = _priority.set(priority)
    try:
        yield
    finally:
        _priority.reset(token)


class PrioritySlots:
    """At most ``limit`` holders at a time; waiters are served by priority, then first come first."""

    def __init__(self, limit: int) -> None:
        self._free = limit
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    def widen(self, extra: int) -> None:
        """Allow ``extra`` more holders from now on."""
        self._free += extra
        self._wake()

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Wait for a slot (with the priority of the calling task) and hold it for the block."""
        await self._acquire(_priority.get())
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, priority: int) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._arrivals), granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release()  # the slot came as the waiter was cancelled: pass it on
            else:
                granted.cancel()  # skipped when its turn comes
            raise

    def _release(self) -> None:
        self._free += 1
        self._wake()

    def _wake(self) -> None:
        while self._free > 0 and self._waiting:
            _, _, granted = heapq.heappop(self._waiting)
            if granted.done():
                continue  # its waiter was cancelled
            self._free -= 1
            granted.set_result(None)
