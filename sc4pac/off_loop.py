"""Large inputs are worked through in a worker thread, so the daemon keeps answering meanwhile.

A mod-set import or a bulk removal can name hundreds of thousands of packages. Even linear work on
that many items takes a noticeable fraction of a second in Python; on the event loop it would stall
every other request (``/server.status`` included) for that long.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# From this many items on, the work moves to a thread; below it a thread hop costs more than the work.
OFF_LOOP_ITEMS = 2000


async def off_loop_if_large(count: int, func: Callable[..., T], *args: Any) -> T:
    """``func(*args)``: in a worker thread when it works through ``count >= OFF_LOOP_ITEMS`` items."""
    if count >= OFF_LOOP_ITEMS:
        return await asyncio.to_thread(func, *args)
    return func(*args)
